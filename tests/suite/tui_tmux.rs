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
    // The popup closes and the call view shows its buttons. Waited for as one condition: a
    // capture can catch a frame half written to the terminal (the call view drawn, the popup's
    // cells not yet cleared), so a single capture cannot prove the popup stays open.
    let in_call = [
        "Customer: Sam Carter",
        "Mute",
        "Hold",
        "Transfer",
        "Hang up",
    ];
    let screen = tui.wait_until(
        "in call",
        SCREEN_WAIT,
        &format!("{in_call:?} without the incoming popup"),
        |s| in_call.iter().all(|t| s.contains(t)) && !s.contains("Incoming call"),
    );
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
/// is offered no call; back to Available she takes one, its popup saying how long the customer
/// has waited; when it ends she is in after-call work (her team wraps up 30 s) with a countdown,
/// sets the call's disposition and note in the history panel (`y`), and `r` makes her ready.
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
        &["Incoming call", "Sam Carter", "Customer waiting 0:"],
    );
    tui.keys(&["a"]);
    customer.wait_state("connected");
    tui.wait_for("in call", &["Customer: Sam Carter", "Hang up"]);

    // The customer hangs up: after-call work, counting down, with Ready beside it.
    customer.cmd("hangup");
    let header = tui.header_shows("wrap-up", "Wrap-up 00:", Duration::from_secs(10));
    assert!(header.contains("r Ready"), "{header}");
    tui.wait_for("wrap-up hint", &["Wrapping up the last call"]);

    // The history lists the call; the disposition: second code, a note, Enter.
    tui.keys(&["y"]);
    tui.wait_for(
        "history",
        &[
            "Call history",
            "Sam Carter",
            "completed",
            "Disposition of your last call",
        ],
    );
    tui.keys(&["Down"]);
    for word in ["refund", "Space", "sent"] {
        tui.keys(&[word]);
    }
    tui.keys(&["Enter"]);
    tui.wait_for("disposition stored", &["[callback] refund sent"]);
    // Esc closes the panel. Wait for it to close before the next key: an ESC byte and an `r`
    // read together are Alt+r to a terminal program (how terminals encode Meta), not two keys.
    tui.keys(&["Escape"]);
    tui.wait_until("history closed", SCREEN_WAIT, "no history panel", |s| {
        !s.contains("Call history")
    });
    let db = rusqlite::Connection::open(&server.db).expect("open call records");
    let stored: (String, String) = db
        .query_row(
            "SELECT disposition, note FROM call_agents WHERE agent = 'alice'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("alice's part of the call");
    assert_eq!(stored, ("callback".into(), "refund sent".into()));
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

/// The supervisor view in the real TUI (V1, V2): sue (`--supervisor`) sees alice's call on the
/// floor, whispers to it with `w` (alice hears her, the customer does not — tone detection),
/// barges with `b`, listens with `l`, and leaves with `x`; each step read off her screen.
#[test]
fn a_supervisor_sees_the_call_and_listens_whispers_and_barges_in_the_real_tui() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed (bash .ci/setup installs it)");
        return;
    }
    const SUE_HZ: f32 = 3350.0;
    let dir = scratch_dir("tui_tmux_supervisor");
    let server = TestServer::blocking(&format!(
        "{}{}",
        standard_config(&dir, ""),
        agentphone_testkit::server::SUPERVISOR_SUE
    ));
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let command = format!(
        "{bin} --server {addr} --user sue --password sue-secret --supervisor --tone {SUE_HZ} \
         --log {log}",
        bin = env!("CARGO_BIN_EXE_agentphone"),
        addr = server.addr(),
        log = dir.join("sue-tui.log").display(),
    );
    let tui = Tmux::start("tui-tmux-supervisor", &command, 100, 30);
    tui.wait_for(
        "the floor",
        &[
            "Floor",
            "support",
            "Alice Martin",
            "on a call",
            "talking",
            "Sam Carter",
        ],
    );

    tui.keys(&["w"]);
    tui.wait_for("whispering", &["Hang up", "Sue Park whispering"]);
    let [c, a] = paths(record_phase(
        &mut [&mut customer, &mut alice],
        "whisper",
        Duration::from_millis(2500),
    ));
    Heard::analyse(&a, &[SUE_HZ]).assert_hears(SUE_HZ, "sue's whisper, by alice");
    Heard::analyse(&c, &[SUE_HZ]).assert_not_hears(SUE_HZ, "sue's whisper, by the customer");

    tui.keys(&["b"]);
    tui.wait_until(
        "barging",
        Duration::from_secs(10),
        "sue as a plain party",
        |s| s.contains("Sue Park") && !s.contains("Sue Park whispering"),
    );
    tui.keys(&["l"]);
    tui.wait_for("listening", &["Sue Park listening"]);

    tui.keys(&["x"]);
    tui.wait_until(
        "left",
        Duration::from_secs(10),
        "the call without sue",
        |s| s.contains("talking") && !s.contains("Sue Park listening") && !s.contains("Hang up"),
    );
}
