//! B4 in the real terminal UI: the server goes away → the header says "Offline, reconnecting in
//! N s" and counts down; the server comes back on the same address → the phone re-registers by
//! itself and shows Online. Alice is in a detached tmux session (100×30), over TCP.
//!
//! The phone notices a silent server at its next registration refresh (at most 30 s), so this
//! test takes up to a minute. Needs tmux (installed by .ci/setup).

#[allow(unused_imports)] // the shared harness exports more than this test uses
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::server::standard_config;
use common::TestServer;

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("run tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn header_shows(socket: &str, step: &str, text: &str, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let screen = tmux(socket, &["capture-pane", "-p", "-t", "tui"]);
        let header = screen.lines().next().unwrap_or_default().to_string();
        if header.contains(text) {
            return header;
        }
        assert!(
            Instant::now() < deadline,
            "{step}: the header never showed {text:?}; the screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn server_gone_shows_offline_countdown_then_reregisters() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("SKIPPED: tmux is not installed (bash .ci/setup installs it)");
        return;
    }
    let dir = common::scratch_dir("tui_offline");
    let server = TestServer::start(&dir);
    let addr = server.addr;
    let socket = format!("agentphone-offline-{}", std::process::id());
    let command = format!(
        "{bin} --server {addr} --transport tcp --user alice --password alice-secret --silence \
         --log {log}",
        bin = env!("CARGO_BIN_EXE_agentphone"),
        log = dir.join("alice-tui.log").display(),
    );
    tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "tui",
            "-x",
            "100",
            "-y",
            "30",
            &command,
        ],
    );
    header_shows(&socket, "start", "Online", Duration::from_secs(20));

    drop(server);
    let offline = header_shows(
        &socket,
        "server gone",
        "Offline, reconnecting",
        Duration::from_secs(60),
    );
    assert!(offline.contains('✖'), "{offline}");

    // Back on the same address (the phone keeps trying it).
    let config = standard_config(&dir, "")
        .replace("listen = \"127.0.0.1:0\"", &format!("listen = \"{addr}\""));
    let _server = TestServer::start_with(&dir, &config);
    header_shows(&socket, "server back", "Online", Duration::from_secs(45));
    tmux(&socket, &["kill-server"]);
}
