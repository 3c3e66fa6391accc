//! The headless-phone driver: `agentphone --headless` as a child process, commands on its stdin,
//! JSON events from its stdout, waits with the event log in every failure message.

use crate::tone::{describe_windows, last_windows, Window};
use crate::wait::wait_until;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The `agentphone` binary cargo built next to the running test binary
/// (`target/<profile>/deps/<test>` → `target/<profile>/agentphone`). Only the root package's
/// tests have it, as cargo builds a package's binaries for its integration tests.
pub fn agentphone_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| panic!("test binary {} is not in target/*/deps", exe.display()));
    let bin = profile_dir.join(format!("agentphone{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

/// A fresh scratch directory `target/tmp/TEST-PID` for one test's recordings and database, kept
/// on failure for a look.
pub fn scratch_dir(test: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    let target = exe
        .ancestors()
        .nth(3)
        .unwrap_or_else(|| panic!("test binary {} is not in target/*/deps", exe.display()));
    let dir = target
        .join("tmp")
        .join(format!("{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// How many 100 ms windows in a row `Client::wait_hearing` wants to see.
const SETTLED_WINDOWS: usize = 4;
/// How long `Client::wait_hearing` waits for them.
const HEARING_WAIT: Duration = Duration::from_secs(10);

pub struct Client {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<Value>,
    /// Every event seen so far, for failure messages.
    pub log: Vec<Value>,
    dir: PathBuf,
    /// Scratch recordings made by `wait_hearing`, numbered so a new wait never reads an old file.
    settles: usize,
}

/// How a client is started.
pub struct ClientOptions<'a> {
    pub user: &'a str,
    pub password: Option<&'a str>,
    pub display: Option<&'a str>,
    pub tone_hz: Option<f32>,
    pub transport: &'a str,
    pub extra: &'a [&'a str],
}

impl<'a> ClientOptions<'a> {
    pub fn agent(user: &'a str, password: &'a str, tone_hz: f32) -> Self {
        ClientOptions {
            user,
            password: Some(password),
            display: None,
            tone_hz: Some(tone_hz),
            transport: "udp",
            extra: &[],
        }
    }

    pub fn customer(user: &'a str, tone_hz: f32) -> Self {
        ClientOptions {
            user,
            password: None,
            display: Some("Sam Carter"),
            tone_hz: Some(tone_hz),
            transport: "udp",
            extra: &[],
        }
    }
}

impl Client {
    /// A phone registered with `server` as described by `opts`; its stderr goes to
    /// `dir/USER.log`, its recordings to `dir`.
    pub fn spawn(server: SocketAddr, dir: &Path, opts: ClientOptions<'_>) -> Client {
        let server = server.to_string();
        let tone = opts.tone_hz.map(|hz| hz.to_string());
        let mut args = vec![
            "--server",
            &server,
            "--user",
            opts.user,
            "--transport",
            opts.transport,
        ];
        if let Some(pw) = opts.password {
            args.extend(["--password", pw]);
        }
        if let Some(d) = opts.display {
            args.extend(["--display", d]);
        }
        match &tone {
            Some(hz) => args.extend(["--tone", hz]),
            None => args.push("--silence"),
        }
        args.extend(opts.extra);
        Client::spawn_args(dir, opts.user, &args)
    }

    /// `agentphone --headless ARGS`, named `name` in failure messages; stderr goes to
    /// `dir/NAME.log`.
    pub fn spawn_args(dir: &Path, name: &str, args: &[&str]) -> Client {
        let mut child = Command::new(agentphone_bin())
            .arg("--headless")
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(dir.join(format!("{name}.log")))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .unwrap_or_else(|e| panic!("spawn agentphone --headless: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || read_events(stdout, tx));
        Client {
            name: name.to_string(),
            stdin: child.stdin.take(),
            child,
            events,
            log: Vec::new(),
            dir: dir.to_path_buf(),
            settles: 0,
        }
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Close stdin (end of commands).
    pub fn close_stdin(&mut self) {
        self.stdin.take();
    }

    /// Wait for the process to exit on its own; its exit code (-1 when killed by a signal).
    pub fn exit_code(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return status.code().unwrap_or(-1),
                Ok(None) if Instant::now() <= deadline => {
                    // The poll interval of this wait for the exit, not a settle.
                    std::thread::sleep(Duration::from_millis(20))
                }
                other => {
                    self.kill();
                    panic!(
                        "[{}] did not exit within {timeout:?} ({other:?}); events: {:#?}",
                        self.name, self.log
                    );
                }
            }
        }
    }

    /// Every event so far and every remaining one (after the process exited).
    pub fn rest(&mut self) -> Vec<Value> {
        let mut out = std::mem::take(&mut self.log);
        while let Ok(v) = self.events.recv_timeout(Duration::from_millis(500)) {
            out.push(v);
        }
        out
    }

    /// Send one headless command line.
    pub fn cmd(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("client stdin open");
        writeln!(stdin, "{line}").unwrap_or_else(|e| panic!("[{}] write {line:?}: {e}", self.name));
        stdin.flush().ok();
    }

    /// Wait for an event named `event` whose fields equal `fields` (string comparison of the
    /// JSON value, so `("active","true")` matches a boolean). Panics with the event log on timeout.
    pub fn wait(&mut self, event: &str, fields: &[(&str, &str)], timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    self.log.push(v.clone());
                    if v["event"] == "script_failed" || v["event"] == INVALID_LINE {
                        panic!("[{}] failed: {v}\nlog: {:#?}", self.name, self.log);
                    }
                    if v["event"] == event && fields.iter().all(|(k, want)| field_is(&v, k, want)) {
                        return v;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "[{}] no {event} {fields:?} within {timeout:?}; events: {:#?}",
                    self.name, self.log
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "[{}] exited while waiting for {event} {fields:?}; events: {:#?}; stderr in {}",
                    self.name,
                    self.log,
                    self.dir.join(format!("{}.log", self.name)).display()
                ),
            }
        }
    }

    /// Wait for any event satisfying `pred`; `what` names it in the failure message.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    self.log.push(v.clone());
                    if v["event"] == "script_failed" || v["event"] == INVALID_LINE {
                        panic!("[{}] failed: {v}\nlog: {:#?}", self.name, self.log);
                    }
                    if pred(&v) {
                        return v;
                    }
                }
                Err(e) => panic!(
                    "[{}] no {what} within {timeout:?} ({e:?}); events: {:#?}",
                    self.name, self.log
                ),
            }
        }
    }

    /// Watch events for `during`; panics if one named `event` arrives.
    pub fn assert_no_event(&mut self, event: &str, during: Duration) {
        let deadline = Instant::now() + during;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(v) => {
                    self.log.push(v.clone());
                    assert!(
                        v["event"] != event,
                        "[{}] unexpected {event}: {v}",
                        self.name
                    );
                }
                Err(_) => break,
            }
        }
    }

    /// Wait for a timeline entry of `kind`.
    /// A mark in this phone's event log, for [`Client::wait_timeline_since`].
    pub fn mark(&self) -> usize {
        self.log.len()
    }

    /// Waits for timeline entry `kind`, counting entries that already arrived after `mark` while
    /// the test waited for something else: the room's state NOTIFY and the REFER's progress NOTIFY
    /// travel on two subscriptions, so their order on the wire is not defined.
    pub fn wait_timeline_since(&mut self, mark: usize, kind: &str) -> Value {
        let seen = self
            .log
            .get(mark..)
            .unwrap_or_default()
            .iter()
            .find(|v| v["event"] == "timeline" && field_is(v, "kind", kind));
        match seen {
            Some(v) => v.clone(),
            None => self.wait_timeline(kind),
        }
    }

    pub fn wait_timeline(&mut self, kind: &str) -> Value {
        self.wait("timeline", &[("kind", kind)], Duration::from_secs(15))
    }

    /// Wait for transfer progress `state`.
    pub fn wait_transfer(&mut self, state: &str) -> Value {
        self.wait("transfer", &[("state", state)], Duration::from_secs(20))
    }

    /// Waits for the call to reach `state`.
    pub fn wait_state(&mut self, state: &str) -> Value {
        self.wait("call_state", &[("state", state)], Duration::from_secs(15))
    }

    pub fn register(&mut self) {
        self.cmd("register");
        self.wait("registered", &[], Duration::from_secs(10));
    }

    pub fn voice_on(&mut self) {
        self.set_voice(true);
    }

    /// Switch the voice channel on or off and wait until the server answered (the phone reports
    /// a change only: to the other state, or the first one). The phone runs commands in order, so
    /// afterwards every event it printed before is in `log`: also a fence after a command that
    /// prints nothing when it succeeds (`expect`).
    pub fn set_voice(&mut self, on: bool) {
        self.cmd(if on { "voice on" } else { "voice off" });
        let active = if on { "true" } else { "false" };
        self.wait("voice", &[("active", active)], Duration::from_secs(10));
    }

    /// Start recording what this client hears into `NAME-PHASE.wav`; returns the path.
    pub fn record(&mut self, phase: &str) -> PathBuf {
        let path = self.dir.join(format!("{}-{phase}.wav", self.name));
        self.cmd(&format!("record {}", path.display()));
        path
    }

    /// Wait until this phone hears each of `hears` and none of `not`, in `SETTLED_WINDOWS`
    /// windows in a row of a scratch recording: the audio of a new phase has arrived. A phase
    /// recording (`scenario::record_phase`) starts after it.
    pub fn wait_hearing(&mut self, hears: &[f32], not: &[f32]) {
        let freqs: Vec<f32> = hears.iter().chain(not).copied().collect();
        let what = format!("{} to hear {hears:?} Hz and not {not:?} Hz", self.name);
        self.wait_recording(&what, &freqs, |w| {
            let (yes, no) = w.tones.split_at(hears.len());
            yes.iter().all(|t| *t) && !no.iter().any(|t| *t)
        });
    }

    /// Wait until this phone hears sound (louder than -45 dBFS, as `Heard::assert_sound`) in
    /// `SETTLED_WINDOWS` windows in a row: music on hold, say, has started.
    pub fn wait_sound(&mut self) {
        let what = format!("{} to hear sound", self.name);
        self.wait_recording(&what, &[], |w| w.dbfs > -45.0);
    }

    /// Record into a fresh scratch file until its last windows all satisfy `ok`.
    fn wait_recording(&mut self, what: &str, freqs: &[f32], ok: impl Fn(&Window) -> bool) {
        self.settles += 1;
        let path = self
            .dir
            .join(format!("{}-settle-{}.wav", self.name, self.settles));
        self.cmd(&format!("record {}", path.display()));
        wait_until(what, HEARING_WAIT, || {
            let windows = last_windows(&path, freqs, SETTLED_WINDOWS)?;
            if windows.iter().all(&ok) {
                Ok(())
            } else {
                Err(describe_windows(&windows, freqs))
            }
        });
        self.cmd("record off");
    }

    /// Kill the process abruptly (SIGKILL): no BYE, no unregister.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `quit`, then wait for the process to exit.
    pub fn quit(mut self) -> std::process::ExitStatus {
        self.cmd("quit");
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("[{}] did not exit after quit", self.name);
            }
            // The poll interval of this wait for the exit, not a settle.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Forward each stdout line as an event. The headless protocol is one JSON object per line with
/// `event` and `t`: anything else is passed on as an `invalid_stdout_line` event, on which every
/// wait fails.
fn read_events(stdout: ChildStdout, tx: mpsc::Sender<Value>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let v = match serde_json::from_str::<Value>(&line) {
            Ok(v) if v["event"].is_string() && v["t"].is_number() => v,
            _ => serde_json::json!({ "event": INVALID_LINE, "line": line }),
        };
        if tx.send(v).is_err() {
            break;
        }
    }
}

const INVALID_LINE: &str = "invalid_stdout_line";

fn field_is(v: &Value, key: &str, want: &str) -> bool {
    match &v[key] {
        Value::String(s) => s == want,
        Value::Null => want == "null",
        other => serde_json::to_string(other).is_ok_and(|s| s == want),
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
