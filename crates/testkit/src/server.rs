//! The server under test, started in-process through its public API on an ephemeral port of
//! 127.0.0.1: from async tests (`start`, `start_with`) or from plain blocking tests with its own
//! runtime (`standard`, `blocking`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use agentphone_server::{Config, ServerHandle};
use tempfile::TempDir;

use crate::tone::write_tone_wav;

/// The directory of the server's own tests: agents alice and bob, team `support` = both
/// (sip:support@…).
pub const BASE_DIRECTORY: &str = r#"
[[agents]]
username = "alice"
display_name = "Alice Martin"
password = "alice-secret"
[[agents]]
username = "bob"
display_name = "Bob Dupont"
password = "bob-secret"
[[teams]]
name = "support"
members = ["alice", "bob"]
inbound = "support"
"#;

/// A supervisor account (SPEC V3) to append to a config: sue, `sue-secret`.
pub const SUPERVISOR_SUE: &str = r#"
[[agents]]
username = "sue"
display_name = "Sue Park"
password = "sue-secret"
role = "supervisor"
"#;

/// The tone in the generated music-on-hold file of `TestServer::start`.
pub const MOH_HZ: f32 = 700.0;
/// The tone in the generated ringback file of `TestServer::start`.
pub const RINGBACK_HZ: f32 = 425.0;

/// The end-to-end directory: agents alice, bob, carol, dave; team `support` = alice, bob
/// (sip:support@…), team `sales` = carol, dave (sip:sales@…); the product's real music on hold
/// and ringback (assets/); ring and RTP timeouts of 4 s. `extra_server_keys` go into `[server]`.
pub fn standard_config(dir: &Path, extra_server_keys: &str) -> String {
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets");
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

/// A running server. Dropping it shuts it down.
pub struct TestServer {
    pub handle: ServerHandle,
    /// The call-record database.
    pub db: PathBuf,
    /// Only for servers started from blocking tests.
    runtime: Option<tokio::runtime::Runtime>,
    /// Only for servers that made their own directory.
    _temp: Option<TempDir>,
}

impl TestServer {
    /// Start a server in a fresh temp directory with generated tone assets (`MOH_HZ`,
    /// `RINGBACK_HZ`) and `BASE_DIRECTORY`; `server_keys` are extra lines for `[server]`.
    pub async fn start(server_keys: &str) -> TestServer {
        TestServer::start_with(server_keys, "").await
    }

    /// As `start`, with more agents/teams (`extra` TOML appended to the base directory).
    pub async fn start_with(server_keys: &str, extra: &str) -> TestServer {
        let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        write_tone_wav(&temp.path().join("moh.wav"), MOH_HZ, 8000, 2);
        write_tone_wav(&temp.path().join("ringback.wav"), RINGBACK_HZ, 48000, 2);
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndatabase = \"calls.db\"\nmusic_on_hold = \"moh.wav\"\nringback = \"ringback.wav\"\n{server_keys}\n{BASE_DIRECTORY}\n{extra}"
        );
        let file = temp.path().join("server.toml");
        let config = parse(&text, &file.display().to_string());
        let db = config.database.clone();
        let handle = agentphone_server::start(config)
            .await
            .unwrap_or_else(|e| panic!("server did not start: {e:#}"));
        TestServer {
            handle,
            db,
            runtime: None,
            _temp: Some(temp),
        }
    }

    /// From a blocking test: the standard end-to-end server (`standard_config`), database in
    /// `dir`.
    pub fn standard(dir: &Path) -> TestServer {
        TestServer::blocking(&standard_config(dir, ""))
    }

    /// From a blocking test: a server for `toml_text`, on its own two-thread runtime.
    pub fn blocking(toml_text: &str) -> TestServer {
        let config = parse(toml_text, "test-config.toml");
        let db = config.database.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
        let handle = runtime
            .block_on(agentphone_server::start(config))
            .unwrap_or_else(|e| panic!("server did not start: {e:#}"));
        TestServer {
            handle,
            db,
            runtime: Some(runtime),
            _temp: None,
        }
    }

    /// `IP:PORT` of the server's SIP transport.
    pub fn addr(&self) -> SocketAddr {
        self.handle.sip_addr()
    }

    /// `IP:PORT` of the server's SIP over TLS (a `[tls]` section is needed).
    pub fn tls_addr(&self) -> SocketAddr {
        self.handle
            .tls_addr()
            .unwrap_or_else(|| panic!("this test server has no [tls] section"))
    }

    /// `sip:USER@IP:PORT` of this server.
    pub fn uri(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.addr())
    }
}

fn parse(toml_text: &str, name: &str) -> Config {
    Config::from_toml_str(toml_text, name).unwrap_or_else(|e| panic!("test config rejected: {e}"))
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(2));
        }
    }
}
