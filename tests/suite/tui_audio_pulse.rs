//! The cpal path without hardware (ARCHITECTURE.md "How we test" 6): a private PulseAudio daemon
//! with a pipe source (a virtual microphone fed a tone from a FIFO) and a null sink (a virtual
//! speaker whose monitor we record). ALSA's `default` goes to that daemon, so the real TUI binary
//! opens it through cpal like a sound card.
//!
//! A headless customer (its own tone) calls support; alice answers in the TUI (tmux). Asserted:
//! the ring tone plays on the speaker while the call rings; then the customer hears alice's microphone tone (capture → resample → processing → Opus → server →
//! customer) and the sink monitor carries the customer's tone (customer → server → jitter
//! buffer → resample → cpal playback).
//!
//! Needs pulseaudio, parec (pulseaudio-utils), the ALSA pulse plugin and tmux, all installed by
//! .ci/setup; without them the test says so and passes vacuously.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agentphone_testkit::prelude::*;
use agentphone_testkit::tone::{describe_windows, last_windows};

const PULSE_PLUGIN: &str = "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so";

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A PulseAudio daemon of this test only (its own runtime dir and socket); killed on drop.
struct Pulse {
    child: Child,
    server: String,
    fifo: PathBuf,
}

impl Pulse {
    fn start(dir: &Path) -> Pulse {
        let runtime = dir.join("pulse");
        std::fs::create_dir_all(&runtime).expect("pulse dir");
        let socket = runtime.join("native.sock");
        let fifo = runtime.join("mic.fifo");
        let child = Command::new("pulseaudio")
            .args([
                "--daemonize=no",
                "--system=false",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "-n",
                "-L",
                &format!(
                    "module-native-protocol-unix socket={} auth-anonymous=1",
                    socket.display()
                ),
                // The pipe source first: it becomes the default source.
                "-L",
                &format!(
                    "module-pipe-source source_name=mic file={} format=s16le rate=48000 channels=1",
                    fifo.display()
                ),
                // `norewinds=1`: a null sink otherwise renders up to 2 s ahead while no stream
                // asks for a lower latency, and cannot rewind that far, so a stream connected
                // then (the TUI's at start, and again whenever the ALSA pulse plugin reconnects
                // after an underrun) is not drained for ≈ 2 s — the speaker went silent for 2 s
                // (issue 9). Without rewinds it renders 50 ms ahead, like a sound card.
                "-L",
                "module-null-sink sink_name=speaker norewinds=1",
            ])
            .env("PULSE_RUNTIME_PATH", &runtime)
            .env("HOME", &runtime)
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(dir.join("pulseaudio.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .expect("start pulseaudio");
        let pulse = Pulse {
            child,
            server: format!("unix:{}", socket.display()),
            fifo,
        };
        wait_until(
            "pulseaudio's socket and microphone pipe",
            Duration::from_secs(10),
            || match (socket.exists(), pulse.fifo.exists()) {
                (true, true) => Ok(()),
                seen => Err(format!("(socket, pipe) exist: {seen:?}")),
            },
        );
        for (what, name) in [
            ("set-default-source", "mic"),
            ("set-default-sink", "speaker"),
        ] {
            let ok = Command::new("pactl")
                .args(["--server", &pulse.server, what, name])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "pactl {what} {name}");
        }
        pulse
    }
}

impl Drop for Pulse {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Feed the virtual microphone a tone in real time (20 ms at a time) until stopped.
fn feed_tone(fifo: PathBuf, hz: f32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Ok(mut pipe) = std::fs::OpenOptions::new().write(true).open(&fifo) else {
            return;
        };
        let start = Instant::now();
        let mut n: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            let mut buf = Vec::with_capacity(960 * 2);
            for i in 0..960u64 {
                let t = (n + i) as f32 / 48_000.0;
                let v = (8000.0 * (2.0 * std::f32::consts::PI * hz * t).sin()) as i16;
                buf.extend_from_slice(&v.to_le_bytes());
            }
            n += 960;
            if pipe.write_all(&buf).is_err() {
                return;
            }
            let due = start + Duration::from_secs_f64(n as f64 / 48_000.0);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                // Real-time pacing of the microphone feed, not a settle.
                std::thread::sleep(wait);
            }
        }
    })
}

/// Record the null sink's monitor for `length` into a 48 kHz mono WAV file.
fn record_monitor(pulse: &Pulse, length: Duration, path: &Path) {
    let mut parec = Command::new("parec")
        .args(["--server", &pulse.server, "--device", "speaker.monitor"])
        .args(["--format=s16le", "--rate=48000", "--channels=1", "--raw"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start parec");
    let mut stdout = parec.stdout.take().expect("parec stdout");
    let reader = std::thread::spawn(move || {
        let mut raw = Vec::new();
        let _ = stdout.read_to_end(&mut raw);
        raw
    });
    // The recording's length: the scenario, not a settle.
    std::thread::sleep(length);
    let _ = parec.kill();
    let _ = parec.wait();
    let raw = reader.join().unwrap_or_default();
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut wav = hound::WavWriter::create(path, spec).expect("create monitor wav");
    for pair in raw.chunks_exact(2) {
        wav.write_sample(i16::from_le_bytes([pair[0], pair[1]]))
            .expect("write monitor wav");
    }
    wav.finalize().expect("finish monitor wav");
}

/// Record the monitor for `length` into `STEM-N.wav`, N = 1, 2, … until `check` of a recording
/// is Ok (for 20 s at most); its value.
fn record_monitor_until<T>(
    pulse: &Pulse,
    stem: &Path,
    length: Duration,
    what: &str,
    check: impl Fn(&Path) -> Result<T, String>,
) -> T {
    let mut tries = 0;
    wait_until(what, Duration::from_secs(20), || {
        tries += 1;
        let path = stem.with_file_name(format!(
            "{}-{tries}.wav",
            stem.file_name().unwrap_or_default().to_string_lossy()
        ));
        record_monitor(pulse, length, &path);
        check(&path)
    })
}

#[test]
fn tui_capture_reaches_the_far_end_and_playback_reaches_the_speaker() {
    let missing: Vec<&str> = ["pulseaudio", "pactl", "parec", "tmux"]
        .into_iter()
        .filter(|p| !have(p))
        .collect();
    if !missing.is_empty() || !Path::new(PULSE_PLUGIN).exists() {
        eprintln!(
            "SKIPPED: needs {missing:?} and the ALSA pulse plugin (bash .ci/setup installs them)"
        );
        return;
    }
    let dir = scratch_dir("tui_audio_pulse");
    let pulse = Pulse::start(&dir);
    let stop = Arc::new(AtomicBool::new(false));
    let feeder = feed_tone(pulse.fifo.clone(), ALICE_HZ, Arc::clone(&stop));

    // A long ring timeout: the ring tone is recorded before alice answers, and parec may start
    // slowly on a loaded machine.
    let config = standard_config(&dir, "").replace("ring_timeout_s = 4", "ring_timeout_s = 30");
    let server = TestServer::blocking(&config);
    // ALSA's default device is PulseAudio (the pulse plugin's hook, or this .asoundrc).
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home dir");
    std::fs::write(
        home.join(".asoundrc"),
        "pcm.!default { type pulse }\nctl.!default { type pulse }\n",
    )
    .expect("write .asoundrc");
    // Noise suppression treats a steady test tone as noise: off here; echo cancellation and
    // gain control stay on.
    let config = dir.join("alice.toml");
    std::fs::write(&config, "[phone]\nnoise_suppression = false\n").expect("write config");
    let command = format!(
        "exec {bin} --config {config} --server {addr} --user alice --password alice-secret \
         --display 'Alice Martin' --log {log}",
        bin = env!("CARGO_BIN_EXE_agentphone"),
        config = config.display(),
        addr = server.addr(),
        log = dir.join("alice-tui.log").display(),
    );
    let tmux = Tmux::start_with_env(
        "pulse",
        &command,
        100,
        30,
        &[
            ("PULSE_SERVER", pulse.server.as_ref()),
            ("HOME", home.as_ref()),
        ],
    );
    let screen = tmux.wait_for("start", &["Online", "Voice: ON"]);
    assert!(
        !screen.contains("No audio device"),
        "the TUI did not open the PulseAudio devices:\n{screen}"
    );

    let mut customer = scenario::customer_calls(&server, &dir, "support");
    tmux.wait_for("incoming", &["Incoming call", "Sam Carter"]);
    // The ring tone plays while the popup shows: two 0.4 s bursts every 3.2 s, so any 2.5 s
    // (the first 0.5 s of a recording skipped) holds at least 0.3 s of it. Nothing else plays
    // before the answer. parec may deliver less than asked on a loaded machine: record again
    // until a recording is long enough to tell.
    let rung = record_monitor_until(
        &pulse,
        &dir.join("speaker-ringing"),
        Duration::from_secs(5),
        "a monitor recording of 2.5 s while the call rings",
        |ringing| {
            let heard = Heard::analyse(ringing, &[CUSTOMER_HZ]);
            if heard.seconds() >= 2.5 {
                Ok(heard.share_louder_than(-45.0))
            } else {
                Err(format!("{:.1} s analysed", heard.seconds()))
            }
        },
    );
    assert!(
        rung >= 0.08,
        "the ring tone should play while the call rings: sound in {rung} of the windows"
    );
    tmux.keys(&["a"]);
    customer.wait_state("connected");
    tmux.wait_for("in call", &["Customer: Sam Carter"]);
    // Audio flows both ways: the customer hears alice's microphone, alice's meters move.
    customer.wait_hearing(&[ALICE_HZ], &[]);
    tmux.wait_for("sound both ways", &["Mic █", "Spk █"]);
    // And the speaker plays the customer: the last windows of a short monitor recording hold the
    // tone (under load, playback may drop out for a while at the start of a call).
    record_monitor_until(
        &pulse,
        &dir.join("speaker-settle"),
        Duration::from_secs(2),
        "the speaker monitor to play the customer",
        |path| {
            let windows = last_windows(path, &[CUSTOMER_HZ], 4)?;
            if windows.iter().all(|w| w.tones[0]) {
                Ok(())
            } else {
                Err(describe_windows(&windows, &[CUSTOMER_HZ]))
            }
        },
    );

    let customer_heard = customer.record("from-alice-mic");
    let monitor = dir.join("speaker-monitor.wav");
    record_monitor(&pulse, Duration::from_secs(4), &monitor);
    customer.cmd("record off");

    let screen = tmux.screen();
    let heard = Heard::analyse(&customer_heard, &[ALICE_HZ, CUSTOMER_HZ]);
    heard.assert_hears(ALICE_HZ, "the customer (alice's microphone through cpal)");
    let played = Heard::analyse(&monitor, &[ALICE_HZ, CUSTOMER_HZ]);
    played.assert_hears(CUSTOMER_HZ, "the speaker monitor (playback through cpal)");
    assert!(
        screen.contains("Mic █") && screen.contains("Spk █"),
        "level meters move with sound:\n{screen}"
    );

    stop.store(true, Ordering::Relaxed);
    customer.cmd("hangup");
    let _ = feeder.join();
    drop(tmux);
    drop(pulse);
}
