//! Shared test helpers: a server on an ephemeral port with a temp database, a SIP user agent
//! built on agentphone-sip's Endpoint, and an RTP peer that sends a tone and records what it hears.
#![allow(dead_code)]

pub mod call;
pub mod media_peer;
pub mod room;
pub mod ua;

use std::path::PathBuf;

use agentphone_server::{Config, ServerHandle};
use tempfile::TempDir;

/// Agents and a team every test server has.
pub const BASE_CONFIG: &str = r#"
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

/// The tone in the test music-on-hold file.
pub const MOH_HZ: f32 = 700.0;
/// The tone in the test ringback file.
pub const RINGBACK_HZ: f32 = 425.0;

/// Two seconds of a tone as a mono 16-bit WAV at `rate`.
pub fn write_tone_wav(path: &std::path::Path, hz: f32, rate: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap_or_else(|e| panic!("wav: {e}"));
    for n in 0..rate * 2 {
        let v = 0.25 * (std::f32::consts::TAU * hz * n as f32 / rate as f32).sin();
        w.write_sample((v * i16::MAX as f32) as i16)
            .unwrap_or_else(|e| panic!("wav: {e}"));
    }
    w.finalize().unwrap_or_else(|e| panic!("wav: {e}"));
}

/// A running server with its temp directory (database, assets).
pub struct TestServer {
    pub handle: ServerHandle,
    pub dir: TempDir,
    pub db: PathBuf,
}

impl TestServer {
    /// Start a server; `server_keys` are extra lines for the `[server]` table.
    pub async fn start(server_keys: &str) -> TestServer {
        TestServer::start_with(server_keys, "").await
    }

    /// Start a server with more agents/teams (`extra` TOML appended to the base config).
    pub async fn start_with(server_keys: &str, extra: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        write_tone_wav(&dir.path().join("moh.wav"), MOH_HZ, 8000);
        write_tone_wav(&dir.path().join("ringback.wav"), RINGBACK_HZ, 48000);
        let text = format!(
            "[server]\nlisten = \"127.0.0.1:0\"\ndatabase = \"calls.db\"\nmusic_on_hold = \"moh.wav\"\nringback = \"ringback.wav\"\n{server_keys}\n{BASE_CONFIG}\n{extra}"
        );
        let file = dir.path().join("server.toml");
        let config = Config::from_toml_str(&text, &file.display().to_string())
            .unwrap_or_else(|e| panic!("test config: {e}"));
        let db = config.database.clone();
        let handle = agentphone_server::start(config)
            .await
            .unwrap_or_else(|e| panic!("server start: {e:#}"));
        TestServer { handle, dir, db }
    }

    /// `IP:PORT` of the server.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.handle.sip_addr()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.handle.shutdown();
    }
}
