//! The real `agentphone` binary's terminal UI, driven through tmux: the server in-process, a
//! headless customer calling support, alice in the TUI (a detached 100×30 tmux session), bob a
//! headless agent. Alice answers with a key, opens the transfer modal, picks bob, confirms; bob
//! answers; alice presses Transfer again to complete. Each step is asserted on `capture-pane`
//! text; at the end bob hears the customer (tone detection on his recording).
//!
//! Needs tmux (installed by .ci/setup); without it the test says so and passes vacuously.

use std::path::Path;
use std::time::Duration;

use agentphone_testkit::prelude::*;

fn alice_command(server: &TestServer, dir: &Path) -> String {
    format!(
        "{bin} --server {addr} --user alice --password alice-secret --display 'Alice Martin' \
         --tone {ALICE_HZ} --log {log}",
        bin = env!("CARGO_BIN_EXE_agentphone"),
        addr = server.addr(),
        log = dir.join("alice-tui.log").display(),
    )
}

#[test]
fn alice_answers_transfers_to_bob_and_completes_in_the_real_tui() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed (bash .ci/setup installs it)");
        return;
    }
    let dir = scratch_dir("tui_tmux");
    let server = TestServer::standard(&dir);
    let tui = Tmux::start("tui-tmux", &alice_command(&server, &dir), 100, 30);

    // Registered, voice channel switched on by the TUI, nothing ringing.
    tui.wait_for(
        "start",
        &["Alice Martin (alice)", "Online", "Voice: ON", "No call."],
    );

    // The customer calls support: alice (the only support agent logged in) sees the popup.
    let mut customer = scenario::customer_calls(&server, &dir, "support");
    tui.wait_for(
        "incoming",
        &["Incoming call", "Sam Carter", "Answer", "Decline"],
    );

    // Answer with a key.
    tui.keys(&["a"]);
    customer.wait_state("connected");
    let screen = tui.wait_for(
        "in call",
        &[
            "Customer: Sam Carter",
            "Mute",
            "Hold",
            "Transfer",
            "Hang up",
        ],
    );
    assert!(!screen.contains("Incoming call"), "popup closed:\n{screen}");
    let transfer_at = screen.find("Transfer").unwrap_or(0);
    let hangup_at = screen.find("Hang up").unwrap_or(0);
    assert!(
        transfer_at < hangup_at,
        "Transfer next to Hang up:\n{screen}"
    );

    // Bob logs in (headless); the open modal lists him live.
    let mut bob = scenario::agent(&server, &dir, "bob");
    tui.keys(&["t"]);
    tui.wait_for(
        "modal",
        &["Transfer call", "Agent", "Team", "Bob Stone", "available"],
    );

    // Pick bob (the only available agent, so the first row) and confirm.
    tui.keys(&["Enter"]);
    let incoming = bob.wait("incoming_call", &[], Duration::from_secs(15));
    assert_eq!(incoming["transferred_by"], "alice", "{incoming}");
    tui.wait_for("transfer ringing", &["Cancel transfer"]);

    // Bob answers: consultation, the customer on hold.
    bob.cmd("answer");
    bob.wait_state("connected");
    tui.wait_for("consulting", &["Complete transfer", "Bob Stone", "on hold"]);

    // Transfer again = complete: alice leaves, the call ends on her screen.
    tui.keys(&["t"]);
    tui.wait_for("completed", &["Call ended", "No call."]);

    // Bob hears the customer (taken off hold), and no longer alice.
    let path = bob.record("after-transfer");
    std::thread::sleep(Duration::from_secs(3));
    bob.cmd("record off");
    std::thread::sleep(Duration::from_millis(300));
    let heard = Heard::analyse(&path, &[CUSTOMER_HZ, ALICE_HZ]);
    heard.assert_hears(CUSTOMER_HZ, "bob after the transfer");
    heard.assert_not_hears(ALICE_HZ, "bob after alice left");

    // q quits when there is no call; the terminal session ends with the program.
    tui.keys(&["q"]);
    tui.wait_exit("q without a call", Duration::from_secs(10));
    drop(customer);
}
