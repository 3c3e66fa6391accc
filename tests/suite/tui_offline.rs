//! B4 in the real terminal UI: the server goes away → the header says "Offline, reconnecting in
//! N s" and counts down; the server comes back on the same address → the phone re-registers by
//! itself and shows Online. Alice is in a detached tmux session (100×30), over TCP.
//!
//! The phone notices a silent server at its next registration refresh (three quarters of the
//! granted lifetime, at most 30 s): the test phone asks for 4 s (`register_expires`), so it
//! notices within 3 s instead of 30. Needs tmux (installed by .ci/setup).

use std::time::Duration;

use agentphone_testkit::prelude::*;

#[test]
fn server_gone_shows_offline_countdown_then_reregisters() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed (bash .ci/setup installs it)");
        return;
    }
    let dir = scratch_dir("tui_offline");
    let server = TestServer::standard(&dir);
    let addr = server.addr();
    let config = dir.join("alice.toml");
    std::fs::write(&config, "[phone]\nregister_expires = 4\n").expect("write phone config");
    let command = format!(
        "{bin} --config {config} --server {addr} --transport tcp --user alice \
         --password alice-secret --silence --log {log}",
        bin = env!("CARGO_BIN_EXE_agentphone"),
        config = config.display(),
        log = dir.join("alice-tui.log").display(),
    );
    let tui = Tmux::start("offline", &command, 100, 30);
    tui.header_shows("start", "Online", Duration::from_secs(20));

    drop(server);
    let offline = tui.header_shows(
        "server gone",
        "Offline, reconnecting",
        Duration::from_secs(60),
    );
    assert!(offline.contains('✖'), "{offline}");

    // Back on the same address (the phone keeps trying it).
    let config = standard_config(&dir, "")
        .replace("listen = \"127.0.0.1:0\"", &format!("listen = \"{addr}\""));
    let _server = TestServer::blocking(&config);
    tui.header_shows("server back", "Online", Duration::from_secs(45));
}
