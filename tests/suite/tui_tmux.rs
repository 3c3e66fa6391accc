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
    bob.wait_hearing(&[CUSTOMER_HZ], &[ALICE_HZ]);
    let [path] = paths(record_phase(
        &mut [&mut bob],
        "after-transfer",
        Duration::from_secs(3),
    ));
    let heard = Heard::analyse(&path, &[CUSTOMER_HZ, ALICE_HZ]);
    heard.assert_hears(CUSTOMER_HZ, "bob after the transfer");
    heard.assert_not_hears(ALICE_HZ, "bob after alice left");

    // q quits when there is no call; the terminal session ends with the program.
    tui.keys(&["q"]);
    tui.wait_exit("q without a call", Duration::from_secs(10));
    drop(customer);
}

/// Agent states in the real TUI (S1): alice picks Away — lunch from the header's state menu and
/// is offered no call; back to Available she takes one; when it ends she is in after-call work
/// (her team wraps up 30 s) with a countdown, and `r` makes her ready at once.
#[test]
fn alice_sets_her_state_and_ends_wrap_up_in_the_real_tui() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed (bash .ci/setup installs it)");
        return;
    }
    let dir = scratch_dir("tui_tmux_states");
    // alice is also in `desk`, which wraps up 30 s after each call.
    let config = format!(
        "{}\n[[teams]]\nname = \"desk\"\nmembers = [\"alice\"]\nwrap_up_s = 30\n",
        standard_config(&dir, "")
    );
    let server = TestServer::blocking(&config);
    let tui = Tmux::start("tui-tmux-states", &alice_command(&server, &dir), 100, 30);
    tui.header_shows("start", "s Available", Duration::from_secs(10));

    // The state menu: Available, then the server's reasons; Down Down Enter = Away — lunch.
    tui.keys(&["s"]);
    tui.wait_for("menu", &["My state", "Away — break", "Away — lunch"]);
    tui.keys(&["Down", "Down", "Enter"]);
    tui.header_shows("away", "Away: lunch", Duration::from_secs(5));
    tui.wait_for("away hint", &["Away: no calls are offered to you."]);

    // A customer calls support: alice is away, so nobody is offered it (it waits in the queue).
    let mut customer = scenario::customer_calls(&server, &dir, "support");
    // Queued (music on hold plays), so routing has passed alice by.
    customer.wait_sound();
    assert!(
        !tui.screen().contains("Incoming call"),
        "away: no call offered:\n{}",
        tui.screen()
    );

    // Back to Available (Up Up from lunch): the queued customer is offered to her at once.
    tui.keys(&["s"]);
    tui.wait_for("menu again", &["My state"]);
    tui.keys(&["Up", "Up", "Enter"]);
    tui.wait_for(
        "incoming after coming back",
        &["Incoming call", "Sam Carter"],
    );
    tui.keys(&["a"]);
    customer.wait_state("connected");
    tui.wait_for("in call", &["Customer: Sam Carter", "Hang up"]);

    // The customer hangs up: after-call work, counting down, with Ready beside it.
    customer.cmd("hangup");
    let header = tui.header_shows("wrap-up", "Wrap-up 00:", Duration::from_secs(10));
    assert!(header.contains("r Ready"), "{header}");
    tui.wait_for("wrap-up hint", &["Wrapping up the last call"]);
    tui.keys(&["r"]);
    tui.header_shows("ready", "s Available", Duration::from_secs(5));

    tui.keys(&["q"]);
    tui.wait_exit("q without a call", Duration::from_secs(10));
}

/// Issue 10 #9: with the audio devices opened (no sound file given), nothing the audio library
/// prints reaches the terminal — neither before the UI nor after it (on a machine without a
/// sound card ALSA complains "Unknown PCM default", "cannot find card '0'").
#[test]
fn the_audio_library_prints_nothing_on_the_terminal() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed (bash .ci/setup installs it)");
        return;
    }
    let dir = scratch_dir("tui_tmux_alsa");
    let server = TestServer::standard(&dir);
    // `sleep 30` keeps the pane (and what was printed) on screen after the program exits.
    let command = format!(
        "sh -c '{bin} --server {addr} --user alice --password alice-secret --log {log}; \
         echo exited $?; sleep 30'",
        bin = env!("CARGO_BIN_EXE_agentphone"),
        addr = server.addr(),
        log = dir.join("alice-tui.log").display(),
    );
    let tui = Tmux::start("tui-tmux-alsa", &command, 100, 30);
    tui.wait_for("start", &["Alice", "Online"]);
    tui.keys(&["q"]);
    // Back on the normal screen: what was printed before the UI is there, then our echo.
    let screen = tui.wait_for("after quitting", &["exited 0"]);
    assert!(!screen.contains("ALSA"), "the terminal shows:\n{screen}");
}
