//! The `agentphone --headless` binary: scripts, exit codes, and a direct call between two
//! headless phones carrying a tone each way, checked on both recordings.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use agentphone_testkit::phone::Client;
use agentphone_testkit::tone::read_wav;

const BIN: &str = env!("CARGO_BIN_EXE_agentphone");

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn samples(path: &Path) -> Vec<i16> {
    let (spec, samples) = read_wav(path);
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (1, 48_000, 16)
    );
    samples
}

#[test]
fn two_headless_phones_hear_each_others_tone() {
    let dir = tempfile::tempdir().unwrap();
    let bob_wav = dir.path().join("bob.wav");
    let alice_wav = dir.path().join("alice.wav");

    let mut bob = Client::spawn_args(
        dir.path(),
        "bob",
        &[
            "--user",
            "bob",
            "--tone",
            "1200",
            "--record",
            bob_wav.to_str().unwrap(),
            "--auto-answer",
        ],
    );
    let ready = bob.wait("ready", &[], Duration::from_secs(10));
    let bob_sip = ready["sip"]
        .as_str()
        .expect("ready carries sip")
        .to_string();

    // `sleep 3` is the talk time of the scenario, not a settle.
    let script = write(
        dir.path(),
        "alice.txt",
        &format!(
            "# call bob directly, talk for 3 s, hang up\n\
             dial sip:bob@{bob_sip}\n\
             wait call_state state=connected timeout=10\n\
             expect connected\n\
             dtmf 5#\n\
             sleep 3\n\
             hangup\n\
             wait call_state state=ended\n\
             expect idle\n"
        ),
    );
    let mut alice = Client::spawn_args(
        dir.path(),
        "alice",
        &[
            "--server",
            &bob_sip,
            "--user",
            "alice",
            "--tone",
            "700",
            "--record",
            alice_wav.to_str().unwrap(),
            "--script",
            &script,
        ],
    );
    bob.wait("incoming_call", &[], Duration::from_secs(10));
    bob.wait(
        "call_state",
        &[("state", "connected")],
        Duration::from_secs(10),
    );
    // DTMF (RFC 4733) from alice arrives at bob as events, in order.
    bob.wait("dtmf", &[("digit", "5")], Duration::from_secs(5));
    bob.wait("dtmf", &[("digit", "#")], Duration::from_secs(5));
    let ended = bob.wait("call_state", &[("state", "ended")], Duration::from_secs(15));
    assert_eq!(ended["reason"], "remote hangup");
    assert_eq!(
        alice.exit_code(Duration::from_secs(15)),
        0,
        "{:#?}",
        alice.rest()
    );
    bob.cmd("quit");
    assert_eq!(bob.exit_code(Duration::from_secs(10)), 0);

    // Each recording covers the call (~3 s) and holds the other side's tone, not its own.
    for (path, heard, own) in [(&alice_wav, 1200.0, 700.0), (&bob_wav, 700.0, 1200.0)] {
        let s = samples(path);
        let secs = s.len() as f32 / 48_000.0;
        assert!(
            (2.5..6.0).contains(&secs),
            "{}: {secs} s recorded",
            path.display()
        );
        // Skip the first half second (jitter buffer filling) and the last (hang-up).
        let middle = &s[24_000..s.len() - 24_000];
        let found = agentphone_media::tone::detect_tones(middle, 48_000, &[heard, own]);
        assert_eq!(
            found,
            vec![true, false],
            "{}: tones {heard}/{own}",
            path.display()
        );
    }
}

#[test]
fn bad_script_line_exits_2_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    // `sleep 0`: a valid line before the bad one (parsed, never waited on).
    let script = write(dir.path(), "bad.txt", "# ok\nsleep 0\nfrobnicate\n");
    let mut p = Client::spawn_args(dir.path(), "p", &["--script", &script]);
    assert_eq!(p.exit_code(Duration::from_secs(10)), 2);
    let out = p.rest();
    let err = out
        .iter()
        .find(|v| v["event"] == "error")
        .expect("an error event");
    let msg = err["message"].as_str().unwrap();
    assert!(
        msg.contains("line 3") && msg.contains("frobnicate"),
        "{msg}"
    );
}

#[test]
fn transfer_without_a_call_fails_the_script_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "transfer.txt",
        "expect idle\ntransfer agent bob --listen a trainee\n",
    );
    let mut p = Client::spawn_args(dir.path(), "p", &["--script", &script]);
    assert_eq!(p.exit_code(Duration::from_secs(10)), 1);
    let out = p.rest();
    let failed = out
        .iter()
        .find(|v| v["event"] == "script_failed")
        .expect("script_failed event");
    assert_eq!(failed["line"], 2);
    assert_eq!(failed["reason"], "no call", "{failed}");
}

#[test]
fn a_bad_transfer_line_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "bad.txt",
        "register\ntransfer team sales --listen\n",
    );
    let mut p = Client::spawn_args(dir.path(), "p", &["--script", &script]);
    assert_eq!(p.exit_code(Duration::from_secs(10)), 2);
    let out = p.rest();
    let err = out
        .iter()
        .find(|v| v["event"] == "error")
        .expect("an error event");
    let msg = err["message"].as_str().unwrap();
    assert!(msg.contains("line 2") && msg.contains("--listen"), "{msg}");
    assert!(
        !out.iter().any(|v| v["event"] == "registered"),
        "nothing ran: {out:#?}"
    );
}

#[test]
fn wait_timeout_fails_the_script_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    // The `sleep 5` after the failing wait must never run (the script stops at line 3).
    let script = write(
        dir.path(),
        "wait.txt",
        "expect idle\nexpect unmuted\nwait registered timeout=0.3\nsleep 5\n",
    );
    let mut p = Client::spawn_args(dir.path(), "p", &["--script", &script]);
    assert_eq!(p.exit_code(Duration::from_secs(10)), 1);
    let out = p.rest();
    let failed = out
        .iter()
        .find(|v| v["event"] == "script_failed")
        .expect("script_failed event");
    assert_eq!(failed["line"], 3);
    assert_eq!(failed["command"], "wait registered timeout=0.3");
    assert!(failed["reason"].as_str().unwrap().contains("timed out"));
    assert_eq!(out[0]["event"], "ready", "ready comes first: {out:#?}");
}

#[test]
fn failed_expectation_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "expect.txt",
        "mute on\nexpect muted\nexpect connected\n",
    );
    let mut p = Client::spawn_args(dir.path(), "p", &["--script", &script]);
    assert_eq!(p.exit_code(Duration::from_secs(10)), 1);
    let out = p.rest();
    let failed = out.iter().find(|v| v["event"] == "script_failed").unwrap();
    assert_eq!(failed["line"], 3);
    assert!(out
        .iter()
        .any(|v| v["event"] == "mute" && v["muted"] == true));
}

#[test]
fn stdin_commands_run_until_eof() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = Client::spawn_args(dir.path(), "p", &[]);
    p.wait("ready", &[], Duration::from_secs(10));
    p.cmd("mute on");
    p.wait("mute", &[("muted", "true")], Duration::from_secs(5));
    p.close_stdin();
    assert_eq!(p.exit_code(Duration::from_secs(10)), 0);
}

#[test]
fn config_errors_exit_2_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "phone.toml",
        "[server]\nlisten = \"127.0.0.1:5060\"\n\n[phone]\nuser = \"alice\"\ncolour = \"blue\"\n",
    );
    let out = Command::new(BIN)
        .args(["--headless", "--config", &cfg])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{cfg}:6")) && stderr.contains("colour"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout but JSON events");
}

#[test]
fn without_a_server_the_tui_says_what_is_missing() {
    let out = Command::new(BIN).stdin(Stdio::null()).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server"));
    assert!(out.stdout.is_empty());
}

#[test]
fn sigterm_quits_cleanly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    // A script that would run for a minute: SIGTERM must end it at once.
    let script = write(dir.path(), "long.txt", "sleep 60\n");
    let mut p = Client::spawn_args(dir.path(), "p", &["--script", &script]);
    p.wait("ready", &[], Duration::from_secs(10));
    let status = Command::new("kill")
        .args(["-TERM", &p.pid().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    assert_eq!(p.exit_code(Duration::from_secs(10)), 0);
}

#[test]
fn hold_between_two_phones_silences_the_holder_and_resume_restores() {
    let dir = tempfile::tempdir().unwrap();
    let talk = dir.path().join("bob-talk.wav");
    let hold = dir.path().join("bob-hold.wav");
    let after = dir.path().join("bob-after.wav");
    let mut bob = Client::spawn_args(
        dir.path(),
        "bob",
        &["--user", "bob", "--tone", "1200", "--auto-answer"],
    );
    let ready = bob.wait("ready", &[], Duration::from_secs(10));
    let bob_sip = ready["sip"].as_str().unwrap().to_string();
    // Each `sleep 2` is the length of one phase (talk, hold, after) that bob records: the
    // scenario, not a settle; bob switches recordings on the call-state events.
    let script = write(
        dir.path(),
        "alice.txt",
        &format!(
            "dial sip:bob@{bob_sip}\n\
             wait call_state state=connected\n\
             sleep 2\n\
             hold\n\
             wait call_state state=held\n\
             expect held\n\
             sleep 2\n\
             resume\n\
             wait call_state state=connected\n\
             sleep 2\n\
             hangup\n"
        ),
    );
    let mut alice = Client::spawn_args(
        dir.path(),
        "alice",
        &[
            "--server", &bob_sip, "--user", "alice", "--tone", "700", "--script", &script,
        ],
    );
    bob.wait(
        "call_state",
        &[("state", "connected")],
        Duration::from_secs(10),
    );
    bob.cmd(&format!("record {}", talk.display()));
    bob.wait(
        "call_state",
        &[("state", "remote_held")],
        Duration::from_secs(10),
    );
    bob.cmd(&format!("record {}", hold.display()));
    bob.wait(
        "call_state",
        &[("state", "connected")],
        Duration::from_secs(10),
    );
    bob.cmd(&format!("record {}", after.display()));
    bob.wait("call_state", &[("state", "ended")], Duration::from_secs(10));
    assert_eq!(
        alice.exit_code(Duration::from_secs(10)),
        0,
        "{:#?}",
        alice.rest()
    );
    bob.cmd("quit");
    assert_eq!(bob.exit_code(Duration::from_secs(10)), 0);

    let heard = |path: &Path| {
        let s = samples(path);
        assert!(s.len() > 48_000, "{}: {} samples", path.display(), s.len());
        agentphone_media::tone::detect_tones(&s[24_000..], 48_000, &[700.0])[0]
    };
    assert!(heard(&talk), "bob hears alice before the hold");
    assert!(!heard(&hold), "bob does not hear alice while she holds");
    assert!(heard(&after), "bob hears alice again after she resumes");
}
