//! A headless softphone (`agentphone --headless`) as a child process: commands on its stdin, JSON
//! events from its stdout.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

pub struct Client {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<Value>,
    /// Every event seen so far, for failure messages.
    pub log: Vec<Value>,
    dir: PathBuf,
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
    pub fn spawn(server: SocketAddr, dir: &Path, opts: ClientOptions<'_>) -> Client {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_agentphone"));
        cmd.arg("--headless")
            .args(["--server", &server.to_string()])
            .args(["--user", opts.user])
            .args(["--transport", opts.transport]);
        if let Some(pw) = opts.password {
            cmd.args(["--password", pw]);
        }
        if let Some(d) = opts.display {
            cmd.args(["--display", d]);
        }
        match opts.tone_hz {
            Some(hz) => cmd.args(["--tone", &hz.to_string()]),
            None => cmd.arg("--silence"),
        };
        cmd.args(opts.extra)
            .env("RUST_LOG", "info")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(
                std::fs::File::create(dir.join(format!("{}.log", opts.user)))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            );
        let mut child = cmd.spawn().expect("spawn agentphone --headless");
        let stdout = child.stdout.take().expect("child stdout");
        let (tx, events) = mpsc::channel();
        let name = opts.user.to_string();
        let thread_name = name.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("[{thread_name}] non-JSON stdout line: {line}"),
                }
            }
        });
        Client {
            name,
            stdin: child.stdin.take(),
            child,
            events,
            log: Vec::new(),
            dir: dir.to_path_buf(),
        }
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
                    if v["event"] == "script_failed" {
                        panic!("[{}] script failed: {v}\nlog: {:#?}", self.name, self.log);
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
                    if v["event"] == "script_failed" {
                        panic!("[{}] script failed: {v}\nlog: {:#?}", self.name, self.log);
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
        self.cmd("voice on");
        self.wait("voice", &[("active", "true")], Duration::from_secs(10));
    }

    /// Start recording what this client hears into `NAME-PHASE.wav`; returns the path.
    pub fn record(&mut self, phase: &str) -> PathBuf {
        let path = self.dir.join(format!("{}-{phase}.wav", self.name));
        self.cmd(&format!("record {}", path.display()));
        path
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
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

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
