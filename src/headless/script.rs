//! The headless script language: one command per line, `#` comments, blank lines ignored.
//! Parsing is separate from running so a bad script fails before anything is sent.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::phone::protocol::{AgentStateRequest, SuperviseMode};
use crate::phone::TransferTarget;

/// Default `wait` timeout.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(10);
/// Longest accepted timeout or sleep (a day): keeps `Duration` arithmetic far from overflow.
const MAX_SECONDS: f64 = 86_400.0;

/// A state `expect` can check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpectedState {
    /// No call.
    Idle,
    /// Registered.
    Registered,
    /// An incoming call rings.
    Ringing,
    /// Dialled, not answered yet.
    Calling,
    /// In a call.
    Connected,
    /// I hold the call.
    Held,
    /// Microphone muted.
    Muted,
    /// Microphone not muted.
    Unmuted,
    /// My agent state (the directory's) is available.
    Available,
    /// My agent state is away.
    Away,
    /// My agent state is after-call work.
    AfterCallWork,
}

impl ExpectedState {
    fn parse(word: &str) -> Option<Self> {
        Some(match word {
            "idle" => ExpectedState::Idle,
            "registered" => ExpectedState::Registered,
            "ringing" => ExpectedState::Ringing,
            "calling" => ExpectedState::Calling,
            "connected" => ExpectedState::Connected,
            "held" => ExpectedState::Held,
            "muted" => ExpectedState::Muted,
            "unmuted" => ExpectedState::Unmuted,
            "available" => ExpectedState::Available,
            "away" => ExpectedState::Away,
            "after_call_work" => ExpectedState::AfterCallWork,
            _ => return None,
        })
    }
}

/// Audio source chosen by `audio …`.
#[derive(Clone, Debug, PartialEq)]
pub enum AudioChoice {
    /// `audio tone HZ`
    Tone(f32),
    /// `audio wav FILE`
    Wav(PathBuf),
    /// `audio silence`
    Silence,
}

/// One script command.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// `register`
    Register,
    /// `unregister`
    Unregister,
    /// `voice on|off`
    Voice(bool),
    /// `status available` · `status away REASON` (S1)
    Status(AgentStateRequest),
    /// `disposition CODE [NOTE …]`: on my most recent call (quote a code with spaces)
    Disposition {
        /// One of the server's codes.
        code: String,
        /// The words after the code, joined by single spaces.
        note: Option<String>,
    },
    /// `history`: fetch my call history (a `history` event follows)
    History,
    /// `dial URI`
    Dial(String),
    /// `answer`
    Answer,
    /// `decline`
    Decline,
    /// `hangup`
    Hangup,
    /// `mute on|off`
    Mute(bool),
    /// `hold`
    Hold,
    /// `resume`
    Resume,
    /// `dtmf DIGITS`
    Dtmf(String),
    /// `transfer agent NAME [--listen] [REASON …]` / `transfer team NAME [REASON …]`
    Transfer {
        /// Agent or team.
        target: TransferTarget,
        /// The words after the name, joined by single spaces.
        reason: Option<String>,
        /// `--listen` (agents only).
        listen_only: bool,
    },
    /// `floor on|off`: watch the floor (supervisors): `floor` events.
    Floor(bool),
    /// `directory on|off`: watch the whole directory (`directory` events; on from the start).
    Directory(bool),
    /// `supervise listen|whisper|barge [ROOM]`: join call ROOM as a supervisor, or switch how I
    /// am in my call.
    Supervise {
        /// How.
        mode: SuperviseMode,
        /// The call's room id (empty: my call).
        room: String,
    },
    /// `transfer cancel`
    CancelTransfer,
    /// `transfer complete`
    CompleteTransfer,
    /// `audio tone HZ | audio wav FILE | audio silence`
    Audio(AudioChoice),
    /// `record FILE` (start a new recording) or `record off`.
    Record(Option<PathBuf>),
    /// `wait EVENT [key=value ...] [timeout=SECONDS]`
    Wait {
        /// Event name (the JSON `event` field).
        event: String,
        /// Fields the event must have, compared as text.
        fields: Vec<(String, String)>,
        /// How long to wait.
        timeout: Duration,
    },
    /// `expect STATE`
    Expect(ExpectedState),
    /// `sleep SECONDS`
    Sleep(Duration),
    /// `quit`
    Quit,
}

/// A command with the line it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct ScriptLine {
    /// 1-based line number.
    pub line: usize,
    /// The line's text, trimmed (for messages).
    pub text: String,
    /// The command.
    pub command: Command,
}

/// A line that is not a valid command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parse a whole script; the first bad line is the error.
pub fn parse_script(text: &str) -> Result<Vec<ScriptLine>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if let Some(cmd) = parse_line(raw, i + 1)? {
            out.push(cmd);
        }
    }
    Ok(out)
}

/// Parse one line (`line` is its 1-based number). Ok(None) for blank lines and comments.
pub fn parse_line(raw: &str, line: usize) -> Result<Option<ScriptLine>, ParseError> {
    let text = strip_comment(raw).trim();
    if text.is_empty() {
        return Ok(None);
    }
    let err = |message: String| ParseError { line, message };
    let words = split_words(text).map_err(err)?;
    let Some((name, args)) = words.split_first() else {
        return Ok(None);
    };
    let command = parse_command(name, args).map_err(err)?;
    Ok(Some(ScriptLine {
        line,
        text: text.to_string(),
        command,
    }))
}

fn parse_command(name: &str, args: &[String]) -> Result<Command, String> {
    let no_args = |cmd: Command| -> Result<Command, String> {
        if args.is_empty() {
            Ok(cmd)
        } else {
            Err(format!("'{name}' takes no arguments"))
        }
    };
    match name {
        "register" => no_args(Command::Register),
        "unregister" => no_args(Command::Unregister),
        "answer" => no_args(Command::Answer),
        "decline" => no_args(Command::Decline),
        "hangup" => no_args(Command::Hangup),
        "hold" => no_args(Command::Hold),
        "resume" => no_args(Command::Resume),
        "quit" => no_args(Command::Quit),
        "voice" => Ok(Command::Voice(on_off(name, args)?)),
        "status" => match args {
            [word] if word == "available" => Ok(Command::Status(AgentStateRequest::Available)),
            [word, reason @ ..] if word == "away" && !reason.is_empty() => {
                Ok(Command::Status(AgentStateRequest::Away {
                    reason: reason.join(" "),
                }))
            }
            _ => Err("usage: status available | status away REASON".into()),
        },
        "disposition" => match args {
            [code, note @ ..] => Ok(Command::Disposition {
                code: code.clone(),
                note: (!note.is_empty()).then(|| note.join(" ")),
            }),
            [] => Err("usage: disposition CODE [NOTE …]".into()),
        },
        "history" => no_args(Command::History),
        "mute" => Ok(Command::Mute(on_off(name, args)?)),
        "floor" => Ok(Command::Floor(on_off(name, args)?)),
        "directory" => Ok(Command::Directory(on_off(name, args)?)),
        "supervise" => {
            let usage = || "usage: supervise listen|whisper|barge [ROOM]".to_string();
            let (mode, room) = match args {
                [mode] => (mode, String::new()),
                [mode, room] => (mode, room.clone()),
                _ => return Err(usage()),
            };
            let mode = SuperviseMode::parse(mode).ok_or_else(usage)?;
            Ok(Command::Supervise { mode, room })
        }
        "dial" => match args {
            [uri] if uri.starts_with("sip:") || uri.starts_with("sips:") => {
                Ok(Command::Dial(uri.clone()))
            }
            [other] => Err(format!("dial: '{other}' is not a SIP URI (sip:user@host)")),
            _ => Err("usage: dial URI".into()),
        },
        "dtmf" => match args {
            [digits] => {
                if let Some(bad) = digits
                    .chars()
                    .find(|c| !"0123456789*#ABCDabcd".contains(*c))
                {
                    Err(format!("dtmf: '{bad}' is not a DTMF digit (0-9 * # A-D)"))
                } else {
                    Ok(Command::Dtmf(digits.to_ascii_uppercase()))
                }
            }
            _ => Err("usage: dtmf DIGITS".into()),
        },
        "audio" => parse_audio(args).map(Command::Audio),
        "transfer" => parse_transfer(args),
        "record" => match args {
            [off] if off == "off" => Ok(Command::Record(None)),
            [file] => Ok(Command::Record(Some(PathBuf::from(file)))),
            _ => Err("usage: record FILE | record off".into()),
        },
        "wait" => parse_wait(args),
        "expect" => match args {
            [state] => ExpectedState::parse(state)
                .map(Command::Expect)
                .ok_or_else(|| {
                    format!(
                        "expect: unknown state '{state}' (idle, registered, ringing, calling, \
                     connected, held, muted, unmuted)"
                    )
                }),
            _ => Err("usage: expect STATE".into()),
        },
        "sleep" => match args {
            [secs] => Ok(Command::Sleep(seconds("sleep", secs)?)),
            _ => Err("usage: sleep SECONDS".into()),
        },
        other => Err(format!("unknown command '{other}'")),
    }
}

fn on_off(name: &str, args: &[String]) -> Result<bool, String> {
    match args {
        [v] if v == "on" => Ok(true),
        [v] if v == "off" => Ok(false),
        _ => Err(format!("usage: {name} on|off")),
    }
}

const TRANSFER_USAGE: &str =
    "usage: transfer agent NAME [--listen] [REASON …] | transfer team NAME [REASON …] | transfer cancel | transfer complete";

fn parse_transfer(args: &[String]) -> Result<Command, String> {
    let Some((kind, rest)) = args.split_first() else {
        return Err(TRANSFER_USAGE.into());
    };
    match (kind.as_str(), rest) {
        ("cancel", []) => return Ok(Command::CancelTransfer),
        ("complete", []) => return Ok(Command::CompleteTransfer),
        ("agent" | "team", [_, ..]) => {}
        _ => return Err(TRANSFER_USAGE.into()),
    }
    let Some((name, mut words)) = rest.split_first() else {
        return Err(TRANSFER_USAGE.into());
    };
    let mut listen_only = false;
    if let Some((flag, after)) = words.split_first() {
        if flag == "--listen" {
            if kind == "team" {
                return Err("transfer team: --listen is for an agent".into());
            }
            listen_only = true;
            words = after;
        }
    }
    if name.starts_with('-') {
        return Err(format!(
            "transfer: '{name}' is not a name ({TRANSFER_USAGE})"
        ));
    }
    let target = if kind == "agent" {
        TransferTarget::Agent(name.clone())
    } else {
        TransferTarget::Team(name.clone())
    };
    let reason = (!words.is_empty()).then(|| words.join(" "));
    Ok(Command::Transfer {
        target,
        reason,
        listen_only,
    })
}

fn parse_audio(args: &[String]) -> Result<AudioChoice, String> {
    match args {
        [kind, hz] if kind == "tone" => {
            let hz: f32 = hz
                .parse()
                .map_err(|_| format!("audio tone: '{hz}' is not a frequency in Hz"))?;
            if !(hz.is_finite() && hz > 0.0 && hz < 24_000.0) {
                return Err(format!(
                    "audio tone: {hz} Hz is out of range (0 < Hz < 24000)"
                ));
            }
            Ok(AudioChoice::Tone(hz))
        }
        [kind, file] if kind == "wav" => Ok(AudioChoice::Wav(PathBuf::from(file))),
        [kind] if kind == "silence" => Ok(AudioChoice::Silence),
        _ => Err("usage: audio tone HZ | audio wav FILE | audio silence".into()),
    }
}

fn parse_wait(args: &[String]) -> Result<Command, String> {
    let Some((event, rest)) = args.split_first() else {
        return Err("usage: wait EVENT [key=value ...] [timeout=SECONDS]".into());
    };
    if event.contains('=') {
        return Err(format!("wait: the event name comes first, not '{event}'"));
    }
    let mut fields = Vec::new();
    let mut timeout = DEFAULT_WAIT;
    for arg in rest {
        let Some((key, value)) = arg.split_once('=') else {
            return Err(format!("wait: '{arg}' is not key=value"));
        };
        if key.is_empty() {
            return Err(format!("wait: '{arg}' has no key"));
        }
        if key == "timeout" {
            timeout = seconds("wait timeout", value)?;
        } else {
            fields.push((key.to_string(), value.to_string()));
        }
    }
    Ok(Command::Wait {
        event: event.clone(),
        fields,
        timeout,
    })
}

fn seconds(what: &str, text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{what}: '{text}' is not a number of seconds"))?;
    if !(secs.is_finite() && (0.0..=MAX_SECONDS).contains(&secs)) {
        return Err(format!(
            "{what}: {text} s is out of range (0 to {MAX_SECONDS})"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The line without a `#` comment (a `#` inside double quotes or right after a digit/`*` in a
/// dtmf argument is kept: `dtmf 12#` is a digit string).
fn strip_comment(raw: &str) -> &str {
    let mut in_quotes = false;
    let mut prev_is_space = true;
    for (i, c) in raw.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            // A comment starts a word; '#' inside a word (DTMF "12#") is data.
            '#' if !in_quotes && prev_is_space => return &raw[..i],
            _ => {}
        }
        prev_is_space = c.is_whitespace();
    }
    raw
}

/// Split on whitespace; double quotes group (`reason="remote hangup"` → `reason=remote hangup`).
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut has_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                in_quotes = !in_quotes;
                has_word = true;
            }
            '\\' if in_quotes => {
                if let Some(next) = chars.next() {
                    cur.push(next);
                }
            }
            c if c.is_whitespace() && !in_quotes => {
                if has_word {
                    words.push(std::mem::take(&mut cur));
                    has_word = false;
                }
            }
            c => {
                cur.push(c);
                has_word = true;
            }
        }
    }
    if in_quotes {
        return Err("unterminated double quote".into());
    }
    if has_word {
        words.push(cur);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> Command {
        parse_line(text, 1)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .unwrap_or_else(|| panic!("{text}: parsed to nothing"))
            .command
    }

    fn bad(text: &str) -> String {
        parse_line(text, 7)
            .err()
            .unwrap_or_else(|| panic!("{text} parsed"))
            .message
    }

    #[test]
    fn every_command_parses() {
        assert_eq!(one("register"), Command::Register);
        assert_eq!(one("unregister"), Command::Unregister);
        assert_eq!(one("voice on"), Command::Voice(true));
        assert_eq!(one("voice off"), Command::Voice(false));
        assert_eq!(
            one("status available"),
            Command::Status(AgentStateRequest::Available)
        );
        assert_eq!(
            one("status away missed call"),
            Command::Status(AgentStateRequest::Away {
                reason: "missed call".into()
            })
        );
        for text in ["status", "status away", "status busy"] {
            assert!(bad(text).contains("usage: status"), "{text}");
        }
        assert_eq!(
            one("disposition resolved"),
            Command::Disposition {
                code: "resolved".into(),
                note: None
            }
        );
        assert_eq!(
            one("disposition \"wrong number\" asked for  sales"),
            Command::Disposition {
                code: "wrong number".into(),
                note: Some("asked for sales".into())
            }
        );
        assert!(bad("disposition").contains("usage: disposition"));
        assert_eq!(one("history"), Command::History);
        assert!(bad("history all").contains("history"));
        assert_eq!(
            one("dial sip:support@127.0.0.1:5060"),
            Command::Dial("sip:support@127.0.0.1:5060".into())
        );
        assert_eq!(one("answer"), Command::Answer);
        assert_eq!(one("decline"), Command::Decline);
        assert_eq!(one("hangup"), Command::Hangup);
        assert_eq!(one("mute on"), Command::Mute(true));
        assert_eq!(one("floor on"), Command::Floor(true));
        assert_eq!(one("directory off"), Command::Directory(false));
        assert_eq!(
            one("supervise whisper 7"),
            Command::Supervise {
                mode: SuperviseMode::Whisper,
                room: "7".into()
            }
        );
        assert_eq!(
            one("supervise barge"),
            Command::Supervise {
                mode: SuperviseMode::Barge,
                room: String::new()
            }
        );
        for bad in ["supervise", "supervise spy 7", "supervise listen 7 8"] {
            assert!(parse_line(bad, 1).is_err(), "{bad}");
        }
        assert_eq!(one("mute off"), Command::Mute(false));
        assert_eq!(one("hold"), Command::Hold);
        assert_eq!(one("resume"), Command::Resume);
        assert_eq!(one("dtmf 12#*a"), Command::Dtmf("12#*A".into()));
        assert_eq!(
            one("audio tone 440"),
            Command::Audio(AudioChoice::Tone(440.0))
        );
        assert_eq!(
            one("audio wav /tmp/x.wav"),
            Command::Audio(AudioChoice::Wav("/tmp/x.wav".into()))
        );
        assert_eq!(one("audio silence"), Command::Audio(AudioChoice::Silence));
        assert_eq!(
            one("record /tmp/a.wav"),
            Command::Record(Some("/tmp/a.wav".into()))
        );
        assert_eq!(one("record off"), Command::Record(None));
        assert_eq!(one("expect idle"), Command::Expect(ExpectedState::Idle));
        assert_eq!(
            one("expect registered"),
            Command::Expect(ExpectedState::Registered)
        );
        assert_eq!(
            one("expect ringing"),
            Command::Expect(ExpectedState::Ringing)
        );
        assert_eq!(
            one("expect calling"),
            Command::Expect(ExpectedState::Calling)
        );
        assert_eq!(
            one("expect connected"),
            Command::Expect(ExpectedState::Connected)
        );
        assert_eq!(one("expect held"), Command::Expect(ExpectedState::Held));
        assert_eq!(one("expect muted"), Command::Expect(ExpectedState::Muted));
        assert_eq!(
            one("expect unmuted"),
            Command::Expect(ExpectedState::Unmuted)
        );
        assert_eq!(one("sleep 0.5"), Command::Sleep(Duration::from_millis(500)));
        assert_eq!(one("quit"), Command::Quit);
        assert_eq!(one("transfer cancel"), Command::CancelTransfer);
        assert_eq!(one("transfer complete"), Command::CompleteTransfer);
    }

    #[test]
    fn transfer_takes_a_target_listen_and_a_reason() {
        assert_eq!(
            one("transfer agent bob billing question"),
            Command::Transfer {
                target: TransferTarget::Agent("bob".into()),
                reason: Some("billing question".into()),
                listen_only: false,
            }
        );
        assert_eq!(
            one("transfer agent carol --listen trainee"),
            Command::Transfer {
                target: TransferTarget::Agent("carol".into()),
                reason: Some("trainee".into()),
                listen_only: true,
            }
        );
        assert_eq!(
            one(r#"transfer team sales "wants  an upgrade""#),
            Command::Transfer {
                target: TransferTarget::Team("sales".into()),
                reason: Some("wants  an upgrade".into()),
                listen_only: false,
            }
        );
        assert_eq!(
            one("transfer team sales"),
            Command::Transfer {
                target: TransferTarget::Team("sales".into()),
                reason: None,
                listen_only: false,
            }
        );
        assert!(bad("transfer").starts_with("usage: transfer"));
        assert!(bad("transfer agent").starts_with("usage: transfer"));
        assert!(bad("transfer cancel now").starts_with("usage: transfer"));
        assert!(bad("transfer team sales --listen").contains("--listen is for an agent"));
        assert!(bad("transfer agent --listen").contains("is not a name"));
    }

    #[test]
    fn wait_takes_fields_and_timeout() {
        assert_eq!(
            one("wait registered"),
            Command::Wait {
                event: "registered".into(),
                fields: vec![],
                timeout: DEFAULT_WAIT
            }
        );
        assert_eq!(
            one(r#"wait call_state state=ended reason="remote hangup" timeout=2.5"#),
            Command::Wait {
                event: "call_state".into(),
                fields: vec![
                    ("state".into(), "ended".into()),
                    ("reason".into(), "remote hangup".into())
                ],
                timeout: Duration::from_millis(2500)
            }
        );
    }

    #[test]
    fn comments_and_blank_lines_are_skipped() {
        let script = "# a script\n\nregister   # log in\n   \nwait registered\ndtmf 1#\n";
        let lines = parse_script(script).unwrap();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].line, 3);
        assert_eq!(lines[0].command, Command::Register);
        assert_eq!(lines[0].text, "register");
        assert_eq!(lines[1].line, 5);
        assert_eq!(lines[2].command, Command::Dtmf("1#".into()));
    }

    #[test]
    fn bad_lines_name_their_line_and_problem() {
        let err = parse_script("register\n\nfrobnicate now\n").unwrap_err();
        assert_eq!(err.line, 3);
        assert!(
            err.message.contains("unknown command 'frobnicate'"),
            "{err}"
        );
        assert_eq!(err.to_string(), "line 3: unknown command 'frobnicate'");

        assert!(bad("register now").contains("takes no arguments"));
        assert!(bad("voice maybe").contains("voice on|off"));
        assert!(bad("mute").contains("mute on|off"));
        assert!(bad("dial").contains("usage: dial"));
        assert!(bad("dial bob").contains("not a SIP URI"));
        assert!(bad("dtmf 12x").contains("'x' is not a DTMF digit"));
        assert!(bad("audio tone loud").contains("not a frequency"));
        assert!(bad("audio tone 99999").contains("out of range"));
        assert!(bad("audio").contains("usage: audio"));
        assert!(bad("record").contains("usage: record"));
        assert!(bad("wait").contains("usage: wait"));
        assert!(bad("wait state=ended").contains("event name comes first"));
        assert!(bad("wait call_state ended").contains("not key=value"));
        assert!(bad("wait x timeout=soon").contains("not a number"));
        assert!(bad("wait x timeout=-1").contains("out of range"));
        assert!(bad("expect happy").contains("unknown state 'happy'"));
        assert!(bad("sleep").contains("usage: sleep"));
        assert!(bad("sleep NaN").contains("out of range"));
        assert!(bad(r#"wait x reason="open"#).contains("unterminated"));
        assert_eq!(parse_line("bogus", 7).unwrap_err().line, 7);
    }
}
