//! Every user-facing string of the TUI, in one file (as gitui's `strings.rs`), so wording is
//! reviewed in one place and could be translated.

use std::time::{Duration, Instant};

use super::model::{AgentStatus, Connection, PartyState, Role, TransferView};

/// Program name in the header.
pub const APP_NAME: &str = "agentphone";

// Header.
/// Label before the voice switch.
pub const VOICE: &str = "Voice";
/// Voice switch on.
pub const VOICE_ON: &str = "ON";
/// Voice switch off.
pub const VOICE_OFF: &str = "OFF";

/// The connection as the header shows it at `now`.
pub fn connection(c: &Connection, now: Instant) -> String {
    match c {
        Connection::Registering => "Registering…".to_string(),
        Connection::Online => "Online".to_string(),
        Connection::Offline { retry_at } => {
            // Round up: "in 1 s" until the attempt, never "in 0 s".
            let left = retry_at.saturating_duration_since(now);
            let secs = left.as_millis().div_ceil(1000);
            if secs == 0 {
                "Offline, reconnecting…".to_string()
            } else {
                format!("Offline, reconnecting in {secs} s")
            }
        }
        Connection::Refused { reason } => format!("Refused: {reason}"),
    }
}

/// Marker before the connection state (readable without colour).
pub fn connection_marker(c: &Connection) -> &'static str {
    match c {
        Connection::Online => "●",
        Connection::Registering => "◌",
        Connection::Offline { .. } | Connection::Refused { .. } => "✖",
    }
}

/// Prefix of the "no audio device" bar.
pub fn no_audio_device(message: &str) -> String {
    // What it means for the call first: a long device error is cut at the screen's edge.
    format!("No audio device: calls connect without sound ({message})")
}

// Call component.
/// Title of the call component.
pub const CALL_TITLE: &str = "Call";
/// Call component with no call.
pub const NO_CALL: &str = "No call.";
/// Hint under "No call." when the voice channel is off.
pub const VOICE_OFF_HINT: &str = "Your voice channel is off: you get no calls.";
/// Hint under "No call." while not registered.
pub const OFFLINE_HINT: &str = "Not connected to the server: no calls until it is back.";
/// Hint under "No call." when the voice channel is on.
pub const WAITING_HINT: &str = "Waiting for calls.";
/// Label before the customer's name.
pub const CUSTOMER: &str = "Customer";
/// Shown instead of the customer in an agent-to-agent call.
pub const INTERNAL_CALL: &str = "Internal call";
/// Suffix after my own name in the participant list.
pub const ME_SUFFIX: &str = " (me)";

/// Button labels.
pub const BTN_MUTE: &str = "Mute";
/// Mute button while muted.
pub const BTN_UNMUTE: &str = "Unmute";
/// Hold button.
pub const BTN_HOLD: &str = "Hold";
/// Hold button while held.
pub const BTN_RESUME: &str = "Resume";
/// Transfer button.
pub const BTN_TRANSFER: &str = "Transfer";
/// Transfer button while the target rings.
pub const BTN_CANCEL_TRANSFER: &str = "Cancel transfer";
/// Transfer button once the target joined.
pub const BTN_COMPLETE_TRANSFER: &str = "Complete transfer";
/// Hang up button.
pub const BTN_HANGUP: &str = "Hang up";
/// Answer button.
pub const BTN_ANSWER: &str = "Answer";
/// Decline button.
pub const BTN_DECLINE: &str = "Decline";
/// Confirm button of the transfer modal.
pub const BTN_DO_TRANSFER: &str = "Transfer";
/// Close button of popups.
pub const BTN_CANCEL: &str = "Cancel";
/// Call button of the dial prompt.
pub const BTN_CALL: &str = "Call";
/// Close button of the keypad.
pub const BTN_CLOSE: &str = "Close";

/// Role column.
pub fn role(r: Role) -> &'static str {
    match r {
        Role::Customer => "customer",
        Role::Agent => "agent",
    }
}

/// State column.
/// One state per participant (issue 10: no "talking … muted"): muted replaces talking, and a
/// held party is told to be hearing music (the server plays it).
pub fn participant_state(s: PartyState, muted: bool) -> &'static str {
    match s {
        PartyState::Talking if muted => "muted",
        PartyState::Talking => "talking",
        PartyState::Ringing => "ringing",
        PartyState::OnHold => "on hold — hearing music",
        PartyState::Listening => "listening",
        PartyState::Whispering => "whispering to the agent",
    }
}

/// The status line of a transfer; None when there is nothing to say.
pub fn transfer_status(t: &TransferView) -> Option<String> {
    match t {
        TransferView::None => None,
        TransferView::Ringing { target, .. } => Some(format!("Transfer: ringing {target}…")),
        TransferView::Consulting { target, .. } => {
            Some(format!("Transfer: {target} joined, customer on hold"))
        }
        TransferView::Failed { reason, .. } => Some(format!(
            "Transfer not done: {}",
            reason.as_deref().unwrap_or(TRANSFER_FAILED)
        )),
        TransferView::Cancelled { .. } => Some(TRANSFER_CANCELLED.to_string()),
        TransferView::Completed { from, to } => Some(format!("Transfer completed: {from} → {to}")),
    }
}

/// The status line during a consultation when every participant talks (T5).
pub fn transfer_three_way(target: &str) -> String {
    format!("Transfer: {target} joined, three-way with the customer")
}

/// The status line during a consultation after the customer hung up (T9).
pub fn transfer_customer_left(target: &str) -> String {
    format!("Transfer: {target} joined, customer left")
}

/// Call timer, mm:ss or h:mm:ss.
pub fn timer(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// Quality line labels.
pub const MIC: &str = "Mic";
/// Speaker meter label.
pub const SPEAKER: &str = "Spk";

/// Jitter, loss and round trip, "–" when unknown.
pub fn quality_figures(jitter: Option<f32>, loss: Option<f32>, rtt: Option<f32>) -> String {
    let f = |v: Option<f32>, unit: &str, prec: usize| match v {
        Some(v) => format!("{v:.prec$}{unit}"),
        None => "–".to_string(),
    };
    format!(
        "jitter {}  loss {}  rtt {}",
        f(jitter, " ms", 0),
        f(loss, " %", 1),
        f(rtt, " ms", 0)
    )
}

// Conversation pane.
/// Title of the conversation pane.
pub const CONVERSATION_TITLE: &str = "Conversation";
/// Conversation pane with no call.
pub const NO_CONVERSATION: &str = "The timeline of your call shows here.";
/// Label before the transfer reason.
pub const REASON: &str = "Reason";

// Incoming popup.
/// Title of the incoming-call popup.
pub const INCOMING_TITLE: &str = "Incoming call";
/// Label before the caller.
pub const FROM: &str = "From";
/// Label before the team.
pub const TEAM: &str = "Team";

/// "Transferred by Alice".
pub fn transferred_by(agent: &str) -> String {
    format!("Transferred by {agent}")
}

// Transfer modal.
/// Title of the transfer modal.
pub const TRANSFER_TITLE: &str = "Transfer call";
/// Agent tab.
pub const TAB_AGENT: &str = "Agent";
/// Team tab.
pub const TAB_TEAM: &str = "Team";
/// Label before the filter field.
pub const FILTER: &str = "Filter";
/// Label before the reason field.
pub const REASON_FIELD: &str = "Reason (optional)";
/// The listen-only check box.
pub const LISTEN_ONLY: &str = "Listen only (training: hears all, heard by no one)";
/// Empty agent list.
pub const NO_AGENTS: &str = "No agent with an active voice channel matches.";
/// Empty team list.
pub const NO_TEAMS: &str = "No voice-active team matches.";

/// An agent's status in the modal, with the reason when they cannot be picked.
pub fn agent_status(s: AgentStatus, away_reason: Option<&str>) -> String {
    match s {
        AgentStatus::Offline => "offline".into(),
        AgentStatus::Inactive => "inactive".into(),
        AgentStatus::Available => "available".into(),
        AgentStatus::Ringing => "ringing — can't take it now".into(),
        AgentStatus::OnCall => "on a call — can't take it now".into(),
        AgentStatus::Away => match away_reason {
            Some(r) => format!("away ({r}) — can't take it now"),
            None => "away — can't take it now".into(),
        },
        AgentStatus::AfterCallWork => "wrapping up a call — can't take it now".into(),
        AgentStatus::Unknown => "status unknown".into(),
    }
}

/// A team's row in the modal.
pub fn team_status(available: u32, active: u32) -> String {
    if available == 0 {
        format!("{available} available / {active} active — nobody free")
    } else {
        format!("{available} available / {active} active")
    }
}

// Dial prompt and keypad.
/// Title of the dial prompt.
pub const DIAL_TITLE: &str = "Dial";
/// Title of the keypad during a call.
pub const KEYPAD_TITLE: &str = "Keypad (DTMF)";
/// Label above the number field.
pub const DIAL_FIELD: &str = "Agent, number or sip: URI:";
/// Prompt before what is typed.
pub const DIAL_PROMPT: &str = "> ";
/// Label before the digits sent.
pub const DTMF_SENT: &str = "Sent";

// Help overlay.
/// Title of the help overlay.
pub const HELP_TITLE: &str = "Help — keys";
/// Help lines: the key binding's name in `KeyConfig` order, with what it does.
pub const HELP_MUTE: &str = "Mute / unmute my microphone";
/// Help: hold.
pub const HELP_HOLD: &str = "Hold / resume the customer";
/// Help: transfer.
pub const HELP_TRANSFER: &str = "Transfer; again: cancel (ringing) or complete (joined)";
/// Help: hang up.
pub const HELP_HANGUP: &str = "Hang up";
/// Help: answer.
pub const HELP_ANSWER: &str = "Answer an incoming call";
/// Help: decline.
pub const HELP_DECLINE: &str = "Decline an incoming call";
/// Help: dial.
pub const HELP_DIAL: &str = "Dial (idle) or keypad for DTMF (in a call)";
/// Help: voice.
pub const HELP_VOICE: &str = "Voice channel on / off";
/// Help: agent state.
pub const HELP_STATE: &str = "My state: Available or Away (with a reason)";
/// Help: end wrap-up.
pub const HELP_READY: &str = "Ready: end after-call work now";
/// Help: help.
pub const HELP_HELP: &str = "This help";
/// Help: quit.
pub const HELP_QUIT: &str = "Quit (q or Ctrl-C; during a call it asks first)";
/// Help: transfer modal keys.
pub const HELP_MODAL: &str = "In the transfer modal: type to filter, ↑/↓ pick, ←/→ Agent/Team,";
/// Help: transfer modal keys, second line.
pub const HELP_MODAL_2: &str =
    "Tab to reason / listen only, Space toggles, Enter transfers, Esc closes.";
/// Help: mouse.
pub const HELP_MOUSE: &str = "Every button, tab and row also answers a mouse click.";

// Footer hints.
/// Footer: dial.
pub const HINT_DIAL: &str = "Dial";
/// Footer: keypad.
pub const HINT_KEYPAD: &str = "Keypad";
/// Footer: voice.
pub const HINT_VOICE: &str = "Voice";
/// Footer: help.
pub const HINT_HELP: &str = "Help";
/// Footer: open my call history.
pub const HINT_HISTORY: &str = "History";
/// The history panel's title.
pub const HISTORY_TITLE: &str = "Call history";
/// Before the server sent my history.
pub const HISTORY_NOT_YET: &str = "No history from the server yet.";
/// No calls yet.
pub const HISTORY_EMPTY: &str = "No calls yet.";
/// Above the disposition choice.
pub const DISPOSITION_TITLE: &str = "Disposition of your last call";
/// Under it: why only that call.
pub const DISPOSITION_LAST_ONLY: &str =
    "Set it for each call while you wrap up; earlier calls keep theirs.";

/// The disposition title naming the last call: its time and who it was with.
pub fn disposition_of(at: &impl std::fmt::Display, customer: &str) -> String {
    format!("{DISPOSITION_TITLE}: {at} {customer}")
}
/// The code row's label.
pub const DISPOSITION_CODE: &str = "Code";
/// The note row's label.
pub const DISPOSITION_NOTE: &str = "Note";
/// Footer in the history panel: pick a code.
pub const HINT_PICK_CODE: &str = "Code";
/// Footer in the history panel: store it.
pub const HINT_SET_DISPOSITION: &str = "Save";
/// Footer: quit.
pub const HINT_QUIT: &str = "Quit";
/// Footer: close.
pub const HINT_CLOSE: &str = "Close";
/// Footer: pick.
pub const HINT_PICK: &str = "Pick";
/// Footer: tabs.
pub const HINT_TABS: &str = "Agent/Team";
/// Footer: to the reason field.
pub const HINT_TO_REASON: &str = "Reason";
/// Footer: to the listen-only box.
pub const HINT_TO_LISTEN: &str = "Listen only";
/// Footer: back to the list.
pub const HINT_TO_LIST: &str = "List";
/// Footer: toggle.
pub const HINT_TOGGLE: &str = "Toggle";
/// Footer: confirm transfer.
pub const HINT_CONFIRM_TRANSFER: &str = "Transfer";
/// Footer: call.
pub const HINT_CALL: &str = "Call";
/// Footer: the DTMF keys.
pub const HINT_DIGIT_KEYS: &str = "0-9 * #";
/// Footer: what they do.
pub const HINT_DIGITS: &str = "Send DTMF";

// Engine adapter.
/// The notice after a call ended.
pub fn call_ended(reason: Option<&str>) -> String {
    match reason {
        Some(r) if !r.is_empty() => format!("Call ended ({r})."),
        _ => "Call ended.".to_string(),
    }
}

/// The notice when a call ended before it was connected.
pub fn call_not_connected(reason: &str) -> String {
    format!("Call not connected: {reason}.")
}

/// A transfer failed without a reason given.
pub const TRANSFER_FAILED: &str = "the server gave no reason";
/// A transfer I cancelled (my own choice: no failure).
pub const TRANSFER_CANCELLED: &str = "Transfer cancelled";

/// The header's state button: what I am now (S1).
pub fn my_state(
    status: Option<AgentStatus>,
    away_reason: Option<&str>,
    wrap_up_left: Option<Duration>,
) -> Option<String> {
    Some(match status? {
        AgentStatus::Available => "Available".into(),
        AgentStatus::Away => match away_reason {
            Some(r) => format!("Away: {r}"),
            None => "Away".into(),
        },
        AgentStatus::AfterCallWork => match wrap_up_left {
            Some(left) => format!("Wrap-up {}", timer(left)),
            None => "Wrap-up".into(),
        },
        AgentStatus::Ringing => "Ringing".into(),
        AgentStatus::OnCall => "On a call".into(),
        AgentStatus::Offline | AgentStatus::Inactive | AgentStatus::Unknown => return None,
    })
}
/// The idle hint while away.
pub const AWAY_HINT: &str = "Away: no calls are offered to you. s: change your state.";
/// The idle hint during after-call work.
pub const WRAP_UP_HINT: &str = "Wrapping up the last call: no calls until it ends. r: ready now.";
/// The button that ends after-call work.
pub const BTN_READY: &str = "Ready";
/// The agent-state menu's title.
pub const STATE_TITLE: &str = "My state";
/// The menu row that makes me available.
pub const STATE_AVAILABLE: &str = "Available";
/// A menu row that makes me away for `reason`.
pub fn state_away(reason: &str) -> String {
    format!("Away — {reason}")
}
/// The menu's line when the server offers no away reason.
pub const STATE_NO_REASONS: &str = "The server offers no away reason.";
/// Footer: choose the state.
pub const HINT_STATE: &str = "State";
/// Footer: set the chosen state.
pub const HINT_SET_STATE: &str = "Set";

/// Enter in the transfer modal with nothing to pick: why.
pub fn nobody_to_transfer_to(teams: bool, listed: bool) -> &'static str {
    match (teams, listed) {
        (false, false) => "No agent to transfer to: nobody else has the voice channel on.",
        (false, true) => "No agent can take the call now: they are busy, away or wrapping up.",
        (true, false) => "No team to transfer to: no team has an agent with the voice channel on.",
        (true, true) => "No team has an agent free now: they are busy, away or wrapping up.",
    }
}

/// The quit question's title.
pub const QUIT_TITLE: &str = "Quit?";
/// What quitting now would do.
pub fn quit_during_call(customer: Option<&str>) -> String {
    match customer {
        Some(c) => format!("You are in a call: quitting hangs up and drops {c}."),
        None => "You are in a call: quitting hangs up.".into(),
    }
}
/// Quit anyway.
pub const BTN_QUIT: &str = "Quit";
/// Stay in the call.
pub const BTN_STAY: &str = "Stay";

/// The incoming popup's queue wait: how long the customer has waited so far (`1:23`, hours
/// when it comes to that).
pub fn waiting_for(waited: Duration) -> String {
    let s = waited.as_secs();
    let clock = if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    };
    format!("Customer waiting {clock}")
}

/// The incoming popup's ring countdown (RONA: a call that rings out makes me away).
pub fn rings_out_in(left: Duration) -> String {
    format!(
        "Rings out in {} — then you are set Away (missed call)",
        timer(left)
    )
}

/// What hanging up does while my transfer is under way (issue 10 #5), after the status line:
/// during the consultation it completes the transfer (T6); while the target rings the transfer
/// goes on without me (blind).
pub fn hangup_during_transfer(transfer: &TransferView, me: &str) -> Option<&'static str> {
    match transfer {
        TransferView::Consulting { by, .. } if by == me => Some(" · hang up = complete"),
        TransferView::Ringing { by, .. } if by == me => Some(" · hang up: it goes on without you"),
        _ => None,
    }
}

/// Why a listener has no Hold (issue 10 #1).
pub const LISTENER_CANNOT_HOLD: &str =
    "You are only listening: the agents in the conversation put the customer on hold.";

/// Why Transfer does nothing while someone else's transfer is under way.
pub fn transfer_under_way(target: &str) -> String {
    format!("A transfer to {target} is under way: wait until it is over.")
}

/// The notice after I completed a transfer and left the call.
pub fn transferred_to(target: &str) -> String {
    format!("Call ended: transferred to {target}.")
}

/// A room command the server refused.
pub fn command_failed(command: &str, reason: &str) -> String {
    format!("{} refused: {reason}", command.replace('_', " "))
}

/// The incoming popup's reason line for a listen-only transfer.
pub fn listen_only_reason(reason: Option<&str>) -> String {
    match reason {
        Some(r) => format!("{r} (listen only)"),
        None => "Listen only".to_string(),
    }
}
/// Dial with nothing typed.
pub const DIAL_EMPTY: &str = "Type a name or a SIP address to call.";
/// Dial a bare name without a server.
pub const DIAL_NO_SERVER: &str = "No server configured: dial a full SIP address (sip:user@host).";

/// The demo's hint: how to open a second agent in another terminal.
pub fn demo_hint(command: &str) -> String {
    format!("In terminal 2: {command}")
}

/// Supervisor view (V1): the panel's title.
pub const SUPERVISOR_TITLE: &str = " Floor ";
/// Before the first floor document.
pub const SUPERVISOR_WAITING: &str = " Waiting for the floor…";
/// The teams' column heads.
pub const SUPERVISOR_TEAMS: &str = " Team             Waiting  Longest  Today  Abandoned";
/// The agents' heading.
pub const SUPERVISOR_AGENTS: &str = " Agent               State                   In state";
/// The calls' heading.
pub const SUPERVISOR_CALLS: &str = "  Call  Team        Time  State    Who";
/// No call under way.
pub const SUPERVISOR_NO_CALLS: &str = "  No calls right now.";
/// A call answered.
pub const FLOOR_TALKING: &str = "talking";
/// A call not answered yet.
pub const FLOOR_WAITING: &str = "waiting";
/// Footer: listen.
pub const SUPERVISE_LISTEN: &str = "Listen";
/// Footer: whisper.
pub const SUPERVISE_WHISPER: &str = "Whisper";
/// Footer: barge.
pub const SUPERVISE_BARGE: &str = "Barge";
/// Listen/whisper/barge with no call on the floor.
pub const SUPERVISE_NO_CALL: &str = "There is no call to listen to.";

/// Calls the server did not list.
pub fn more_calls(n: u32) -> String {
    format!("  … and {n} more calls")
}

/// An agent's state on the floor.
pub fn floor_status(s: AgentStatus, away_reason: Option<&str>) -> String {
    match s {
        AgentStatus::Offline => "offline".into(),
        AgentStatus::Inactive => "voice off".into(),
        AgentStatus::Available => "available".into(),
        AgentStatus::Ringing => "ringing".into(),
        AgentStatus::OnCall => "on a call".into(),
        AgentStatus::Away => match away_reason {
            Some(r) => format!("away — {r}"),
            None => "away".into(),
        },
        AgentStatus::AfterCallWork => "wrapping up".into(),
        AgentStatus::Unknown => "unknown".into(),
    }
}

/// A supervisor's mode in a party list ("Sue Park whispering").
pub fn supervising(name: &str, state: &str) -> String {
    format!("{name} {state}")
}
