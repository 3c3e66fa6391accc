//! The server under test, started in-process through its public API on an ephemeral port.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The standard test directory: agents alice, bob, carol, dave; team `support` = alice, bob
/// (sip:support@…), team `sales` = carol, dave (sip:sales@…).
pub fn standard_config(dir: &Path, extra_server_keys: &str) -> String {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
realm = "agentphone"
ring_timeout_s = 4
rtp_timeout_s = 4
music_on_hold = "{moh}"
ringback = "{ringback}"
database = "{db}"
{extra_server_keys}

[[agents]]
username = "alice"
display_name = "Alice Martin"
password = "alice-secret"

[[agents]]
username = "bob"
display_name = "Bob Stone"
password = "bob-secret"

[[agents]]
username = "carol"
display_name = "Carol Diaz"
password = "carol-secret"

[[teams]]
name = "support"
members = ["alice", "bob"]
inbound = "support"

[[agents]]
username = "dave"
display_name = "Dave Okafor"
password = "dave-secret"

[[teams]]
name = "sales"
members = ["carol", "dave"]
inbound = "sales"
"#,
        moh = assets.join("music-on-hold.wav").display(),
        ringback = assets.join("ringback.wav").display(),
        db = dir.join("calls.db").display(),
    )
}

/// A running server with its own tokio runtime, so tests themselves stay plain and blocking.
pub struct TestServer {
    runtime: Option<tokio::runtime::Runtime>,
    handle: Option<agentphone_server::ServerHandle>,
    pub addr: SocketAddr,
    pub database: PathBuf,
}

impl TestServer {
    pub fn start(dir: &Path) -> TestServer {
        Self::start_with(dir, &standard_config(dir, ""))
    }

    pub fn start_with(dir: &Path, toml_text: &str) -> TestServer {
        let config = agentphone_server::Config::from_toml_str(toml_text, "test-config.toml")
            .unwrap_or_else(|e| panic!("test config rejected: {e}"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let handle = runtime
            .block_on(agentphone_server::start(config))
            .unwrap_or_else(|e| panic!("server did not start: {e:#}"));
        let addr = handle.sip_addr();
        TestServer {
            runtime: Some(runtime),
            handle: Some(handle),
            addr,
            database: dir.join("calls.db"),
        }
    }

    /// `sip:USER@IP:PORT` of this server.
    pub fn uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.addr)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let (Some(rt), Some(handle)) = (self.runtime.take(), self.handle.take()) {
            handle.shutdown();
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
        }
    }
}
