//! Idle CPU of the terminal UI: the real binary in a detached tmux session, registered, voice on,
//! no call, measured over 10 s from /proc/PID/stat (user + system time). Prints the figure; it
//! is a measurement, not a timed assertion, so it is ignored by default:
//!
//! `cargo test --release --test suite tui_idle_cpu -- --ignored --nocapture`

#[allow(unused_imports)] // the shared harness exports more than this measurement uses
use std::process::Command;
use std::time::{Duration, Instant};

use agentphone_testkit::prelude::*;

/// How long the idle TUI is watched.
const WINDOW: Duration = Duration::from_secs(10);

/// utime + stime of `pid`, in clock ticks (fields 14 and 15 of /proc/PID/stat).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; the fields after it start past ") ".
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

#[test]
#[ignore = "a 10 s measurement; run with --ignored --nocapture"]
fn idle_tui_cpu_over_ten_seconds() {
    if !Tmux::available() {
        eprintln!("SKIPPED: tmux is not installed (bash .ci/setup installs it)");
        return;
    }
    let dir = scratch_dir("tui_idle_cpu");
    let server = TestServer::standard(&dir);
    // `exec` so the pane's process is the softphone itself. Default audio devices: on a machine
    // without any the UI says so; with PulseAudio/ALSA the device streams run too.
    let command = format!(
        "exec {bin} --server {addr} --user alice --password alice-secret --log {log}",
        bin = env!("CARGO_BIN_EXE_agentphone"),
        addr = server.addr(),
        log = dir.join("alice-tui.log").display(),
    );
    let tui = Tmux::start("idle", &command, 100, 30);
    tui.wait_for("start", &["Online", "Voice: ON"]);
    let pid = tui.pane_pid();
    // Not a settle for correctness: the figure is of the steady idle state, so the first second
    // (directory NOTIFY, first draws) is left out of the measurement.
    std::thread::sleep(Duration::from_secs(1));
    let before = cpu_ticks(pid).expect("read /proc stat");
    let started = Instant::now();
    // The measurement window itself.
    std::thread::sleep(WINDOW);
    let after = cpu_ticks(pid).expect("the TUI is still running");
    let elapsed = started.elapsed().as_secs_f64();
    let hz = clock_ticks_per_second() as f64;
    let cpu_s = (after - before) as f64 / hz;
    let screen = tui.screen();
    let audio = if screen.contains("No audio device") {
        "no audio device"
    } else {
        "audio devices open"
    };
    println!(
        "idle TUI CPU: {cpu_s:.2} s in {elapsed:.1} s = {:.2} % of one core ({audio})",
        100.0 * cpu_s / elapsed
    );
}
