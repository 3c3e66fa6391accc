//! Runs script commands against a Phone engine: phone commands, `wait` on events with timeouts,
//! `expect` on the state folded from events, `sleep`, and `quit`. Every event is printed as it
//! arrives, whatever the runner is doing.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use super::output::EventPrinter;
use super::script::{parse_line, AudioChoice, Command, ExpectedState, ScriptLine};
use crate::audio::{SinkSpec, SourceSpec};
use tokio::sync::watch;

use crate::phone::{AgentStatus, PhoneCommand, PhoneEvent, PhoneHandle, PhoneView};

/// How long `quit` waits for the hang-up and unregistration to be answered.
const QUIT_GRACE: Duration = Duration::from_secs(3);
/// Events kept for a later `wait` (older ones are dropped).
const BACKLOG_MAX: usize = 10_000;

/// Where commands come from.
pub enum Input {
    /// A parsed script.
    Script(Vec<ScriptLine>),
    /// Lines read from stdin as they come.
    Stdin,
}

/// How a run ended; maps to the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// Everything ran (or `quit`, SIGTERM, SIGINT): exit 0.
    Completed,
    /// A wait timed out, an expectation or a command failed: exit 1.
    Failed,
    /// A line on stdin was not a command: exit 2.
    BadInput,
}

impl RunOutcome {
    /// The process exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            RunOutcome::Completed => 0,
            RunOutcome::Failed => 1,
            RunOutcome::BadInput => 2,
        }
    }
}

/// Run `input` against the phone, printing events with `printer`; then quit (hang up,
/// unregister, stop the engine).
pub async fn run(
    handle: PhoneHandle,
    events: UnboundedReceiver<PhoneEvent>,
    input: Input,
    printer: EventPrinter,
) -> RunOutcome {
    let view = handle.view();
    let mut runner = Runner {
        handle,
        events,
        printer,
        view,
        backlog: VecDeque::new(),
        signals: Signals::new(),
        engine_gone: false,
    };
    // `ready` (and anything else already there) goes out before the first command.
    runner.drain_ready();
    // A script reads the directory (`expect`, `directory` events) unless it says
    // `directory off`: watched from the first registration on.
    if let Err(e) = runner
        .handle
        .command(PhoneCommand::WatchDirectory(true))
        .await
    {
        tracing::warn!("directory: {e}");
    }
    let outcome = match input {
        Input::Script(lines) => runner.run_script(lines).await,
        Input::Stdin => runner.run_stdin().await,
    };
    runner.quit().await;
    outcome
}

/// What woke the runner up.
enum Wake {
    Event(PhoneEvent),
    Deadline,
    Signal,
    EngineGone,
}

/// Why a command failed.
enum Failure {
    /// Print script_failed with this reason.
    Reason(String),
    /// SIGTERM/SIGINT: stop quietly (quit).
    Signal,
}

struct Runner {
    handle: PhoneHandle,
    events: UnboundedReceiver<PhoneEvent>,
    printer: EventPrinter,
    /// The engine's view: what `expect` checks (published before the events it follows from).
    view: watch::Receiver<PhoneView>,
    /// Events not yet consumed by a `wait`.
    backlog: VecDeque<PhoneEvent>,
    signals: Signals,
    engine_gone: bool,
}

impl Runner {
    async fn run_script(&mut self, lines: Vec<ScriptLine>) -> RunOutcome {
        for line in lines {
            if line.command == Command::Quit {
                return RunOutcome::Completed;
            }
            match self.execute(&line.command).await {
                Ok(()) => {}
                Err(Failure::Signal) => return RunOutcome::Completed,
                Err(Failure::Reason(reason)) => {
                    self.printer.script_failed(line.line, &line.text, &reason);
                    return RunOutcome::Failed;
                }
            }
        }
        RunOutcome::Completed
    }

    async fn run_stdin(&mut self) -> RunOutcome {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        let mut number = 0usize;
        loop {
            // Keep printing events while waiting for the next line.
            let next = loop {
                tokio::select! {
                    line = lines.next_line() => break line,
                    wake = self.wake(None) => match wake {
                        Wake::Signal => return RunOutcome::Completed,
                        Wake::EngineGone => return RunOutcome::Failed,
                        Wake::Event(_) | Wake::Deadline => {}
                    },
                }
            };
            let text = match next {
                Ok(Some(text)) => text,
                Ok(None) => return RunOutcome::Completed,
                Err(e) => {
                    self.printer.error(&format!("reading stdin: {e}"));
                    return RunOutcome::Failed;
                }
            };
            number += 1;
            let line = match parse_line(&text, number) {
                Ok(Some(line)) => line,
                Ok(None) => continue,
                Err(e) => {
                    let message = format!("stdin {e}");
                    tracing::error!("{message}");
                    self.printer.error(&message);
                    return RunOutcome::BadInput;
                }
            };
            if line.command == Command::Quit {
                return RunOutcome::Completed;
            }
            match self.execute(&line.command).await {
                Ok(()) => {}
                Err(Failure::Signal) => return RunOutcome::Completed,
                Err(Failure::Reason(reason)) => {
                    self.printer.script_failed(line.line, &line.text, &reason);
                    return RunOutcome::Failed;
                }
            }
        }
    }

    async fn execute(&mut self, cmd: &Command) -> Result<(), Failure> {
        let phone_cmd = match cmd {
            Command::Register => PhoneCommand::Register,
            Command::Unregister => PhoneCommand::Unregister,
            Command::Voice(on) => PhoneCommand::SetVoice(*on),
            Command::Status(state) => PhoneCommand::SetState(state.clone()),
            Command::Disposition { code, note } => PhoneCommand::SetDisposition {
                code: code.clone(),
                note: note.clone(),
            },
            Command::History => PhoneCommand::FetchHistory,
            Command::Dial(uri) => PhoneCommand::Dial(uri.clone()),
            Command::Answer => PhoneCommand::Answer,
            Command::Decline => PhoneCommand::Decline,
            Command::Hangup => PhoneCommand::Hangup,
            Command::Mute(on) => PhoneCommand::Mute(*on),
            Command::Hold => PhoneCommand::Hold,
            Command::Resume => PhoneCommand::Resume,
            Command::Dtmf(d) => PhoneCommand::Dtmf(d.clone()),
            Command::Transfer {
                target,
                reason,
                listen_only,
            } => PhoneCommand::Transfer {
                target: target.clone(),
                reason: reason.clone(),
                listen_only: *listen_only,
            },
            Command::Floor(on) => PhoneCommand::WatchFloor(*on),
            Command::Directory(on) => PhoneCommand::WatchDirectory(*on),
            Command::Supervise { mode, room } => PhoneCommand::Supervise {
                room: room.clone(),
                mode: *mode,
            },
            Command::CancelTransfer => PhoneCommand::CancelTransfer,
            Command::CompleteTransfer => PhoneCommand::CompleteTransfer,
            Command::Audio(choice) => PhoneCommand::SetAudioSource(match choice {
                AudioChoice::Tone(hz) => SourceSpec::Tone(*hz),
                AudioChoice::Wav(path) => SourceSpec::Wav(path.clone()),
                AudioChoice::Silence => SourceSpec::Silence,
            }),
            Command::Record(file) => PhoneCommand::SetAudioSink(match file {
                Some(path) => SinkSpec::Wav(path.clone()),
                None => SinkSpec::Null,
            }),
            Command::Wait {
                event,
                fields,
                timeout,
            } => return self.wait(event, fields, *timeout).await,
            Command::Expect(state) => return self.expect(*state),
            Command::Sleep(d) => return self.sleep(*d).await,
            Command::Quit => return Ok(()),
        };
        let result = self.handle.command(phone_cmd).await;
        self.drain_ready();
        result.map_err(|e| Failure::Reason(e.to_string()))
    }

    /// Wait for an event named `event` whose fields match. Events that arrived since the last
    /// successful wait count too (a script may `sleep` before it waits).
    async fn wait(
        &mut self,
        event: &str,
        fields: &[(String, String)],
        timeout: Duration,
    ) -> Result<(), Failure> {
        self.drain_ready();
        if let Some(pos) = self.backlog.iter().position(|e| matches(e, event, fields)) {
            self.backlog.drain(..=pos);
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.wake(Some(deadline)).await {
                Wake::Event(ev) => {
                    if matches(&ev, event, fields) {
                        self.backlog.clear();
                        return Ok(());
                    }
                }
                Wake::Deadline => {
                    return Err(Failure::Reason(format!(
                        "timed out after {} s waiting for {}",
                        timeout.as_secs_f64(),
                        describe(event, fields)
                    )))
                }
                Wake::Signal => return Err(Failure::Signal),
                Wake::EngineGone => return Err(Failure::Reason("the phone engine stopped".into())),
            }
        }
    }

    fn expect(&mut self, state: ExpectedState) -> Result<(), Failure> {
        self.drain_ready();
        let s = self.view.borrow().clone();
        let ok = match state {
            ExpectedState::Idle => s.is_idle(),
            ExpectedState::Registered => s.is_registered(),
            ExpectedState::Ringing => s.is_ringing(),
            ExpectedState::Calling => s.is_calling(),
            ExpectedState::Connected => s.is_connected(),
            ExpectedState::Held => s.is_held(),
            ExpectedState::Muted => s.muted,
            ExpectedState::Unmuted => !s.muted,
            ExpectedState::Available => s.me().is_some_and(|m| m.status == AgentStatus::Available),
            ExpectedState::Away => s.me().is_some_and(|m| m.status == AgentStatus::Away),
            ExpectedState::AfterCallWork => s
                .me()
                .is_some_and(|m| m.status == AgentStatus::AfterCallWork),
        };
        if ok {
            Ok(())
        } else {
            Err(Failure::Reason(
                format!(
                    "expected {state:?} but the phone is {}",
                    describe_status(&s)
                )
                .to_lowercase(),
            ))
        }
    }

    async fn sleep(&mut self, d: Duration) -> Result<(), Failure> {
        let deadline = Instant::now() + d;
        loop {
            match self.wake(Some(deadline)).await {
                Wake::Event(_) => {}
                Wake::Deadline => return Ok(()),
                Wake::Signal => return Err(Failure::Signal),
                Wake::EngineGone => return Err(Failure::Reason("the phone engine stopped".into())),
            }
        }
    }

    /// Hang up if in a call, unregister if registered, stop the engine; print what comes back.
    async fn quit(&mut self) {
        self.drain_ready();
        if !self.view.borrow().is_idle() && !self.engine_gone {
            if let Err(e) = self.handle.command(PhoneCommand::Hangup).await {
                tracing::debug!("quit: hangup: {e}");
            }
        }
        if self.view.borrow().is_registered() && !self.engine_gone {
            match self.handle.command(PhoneCommand::Unregister).await {
                Ok(()) => {
                    let grace = Instant::now() + QUIT_GRACE;
                    while self.view.borrow().is_registered() {
                        match self.wake(Some(grace)).await {
                            Wake::Event(PhoneEvent::Unregistered { .. }) => break,
                            Wake::Event(_) => {}
                            _ => break,
                        }
                    }
                }
                Err(e) => tracing::debug!("quit: unregister: {e}"),
            }
        }
        // Let a BYE leave before the endpoint closes (it is already sent; this is only for the
        // response to be absorbed when it comes at once).
        self.handle.shutdown().await;
        self.drain_ready();
    }

    /// The next event, the deadline, or a signal — printing and recording the event.
    async fn wake(&mut self, deadline: Option<Instant>) -> Wake {
        if self.engine_gone {
            return Wake::EngineGone;
        }
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = self.events.recv() => match ev {
                Some(ev) => {
                    self.absorb(&ev);
                    Wake::Event(ev)
                }
                None => {
                    self.engine_gone = true;
                    Wake::EngineGone
                }
            },
            _ = sleep => Wake::Deadline,
            _ = self.signals.recv() => Wake::Signal,
        }
    }

    /// Take every event already queued.
    fn drain_ready(&mut self) {
        while let Ok(ev) = self.events.try_recv() {
            self.absorb(&ev);
        }
    }

    fn absorb(&mut self, ev: &PhoneEvent) {
        self.printer.event(ev);
        if self.backlog.len() >= BACKLOG_MAX {
            self.backlog.pop_front();
        }
        self.backlog.push_back(ev.clone());
    }
}

/// Whether `ev` is named `name` and has every field (compared as text; null as "null").
fn matches(ev: &PhoneEvent, name: &str, fields: &[(String, String)]) -> bool {
    if ev.name() != name {
        return false;
    }
    let Ok(value) = serde_json::to_value(ev) else {
        return false;
    };
    fields.iter().all(|(k, want)| match value.get(k) {
        Some(Value::String(s)) => s == want,
        Some(Value::Null) | None => want == "null",
        Some(other) => {
            let text = other.to_string();
            text == *want
        }
    })
}

fn describe(event: &str, fields: &[(String, String)]) -> String {
    let mut s = event.to_string();
    for (k, v) in fields {
        s.push_str(&format!(" {k}={v}"));
    }
    s
}

fn describe_status(s: &PhoneView) -> String {
    let call = match (&s.call, &s.incoming) {
        (Some(c), _) => format!("in a call ({:?})", c.state),
        (None, Some(_)) => "in a call (Ringing)".to_string(),
        (None, None) => "idle".to_string(),
    };
    format!(
        "{call}, {}, {}",
        if s.is_registered() {
            "registered"
        } else {
            "not registered"
        },
        if s.muted { "muted" } else { "unmuted" }
    )
}

/// SIGTERM and SIGINT as one stream.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            let term = async {
                match self.term.as_mut() {
                    Some(t) => {
                        t.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = term => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::CallState;

    #[test]
    fn wait_matches_fields_as_text() {
        let ev = PhoneEvent::CallState {
            call: "c".into(),
            state: CallState::Ended,
            reason: Some("remote hangup".into()),
        };
        let f = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert!(matches(&ev, "call_state", &[]));
        assert!(matches(&ev, "call_state", &[f("state", "ended")]));
        assert!(matches(
            &ev,
            "call_state",
            &[f("state", "ended"), f("reason", "remote hangup")]
        ));
        assert!(!matches(&ev, "call_state", &[f("state", "connected")]));
        assert!(!matches(&ev, "registered", &[]));
        let voice = PhoneEvent::Voice { active: true };
        assert!(matches(&voice, "voice", &[f("active", "true")]));
        assert!(!matches(&voice, "voice", &[f("active", "false")]));
        let inc = PhoneEvent::IncomingCall {
            call: "c".into(),
            from: "sip:a@b".into(),
            display: None,
            team: Some("support".into()),
            reason: None,
            transferred_by: None,
            listen_only: false,
            waited_ms: None,
        };
        assert!(matches(
            &inc,
            "incoming_call",
            &[f("team", "support"), f("reason", "null")]
        ));
    }
}
