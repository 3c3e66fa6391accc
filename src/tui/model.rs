//! The view model the screen is drawn from: plain data, no I/O.
//!
//! The engine adapter keeps one [`Model`], changes it as `Phone` events arrive and hands a clone to
//! the [`App`](super::app::App) after every change. Everything the TUI shows comes from here, so a
//! test can build any screen by filling in a `Model`.

use std::fmt;
use std::time::Instant;

/// Everything the screen shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// Who I am.
    pub me: Me,
    /// The registration with the server.
    pub connection: Connection,
    /// My voice channel switch (inactive agents get no calls).
    pub voice_active: bool,
    /// The call I am in, if any.
    pub call: Option<CallView>,
    /// The call ringing here, if any.
    pub incoming: Option<IncomingCall>,
    /// Agents and teams with live status (for the transfer modal).
    pub directory: Directory,
    /// My agent state (S1) as the server has it, and the away reasons it offers.
    pub state: MyState,
    /// Whether audio devices could be opened.
    pub audio: AudioStatus,
    /// The last thing worth telling the user that has no other place (an engine error, a refusal).
    pub notice: Option<String>,
    /// A standing hint with no urgency (the demo's "in terminal 2 …"), shown when there is no
    /// notice.
    pub hint: Option<String>,
    /// The floor, for a supervisor (`--supervisor`); None for an agent.
    pub floor: Option<super::supervisor::Floor>,
    /// My call history from the server's records (None until fetched).
    pub history: Option<HistoryList>,
}

/// My recent calls and the disposition codes I may set (issue 10).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct HistoryList {
    /// The server's disposition codes.
    pub codes: Vec<String>,
    /// Newest first.
    pub calls: Vec<HistoryRow>,
}

/// One call of my history, in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// When I joined it (time of day, UTC like the timeline).
    pub at: TimeOfDay,
    /// The customer (or the other agent).
    pub customer: String,
    /// The team it came for.
    pub team: Option<String>,
    /// How long I was in it.
    pub duration_s: u64,
    /// Transfers completed in it.
    pub transfers: u32,
    /// How it ended for me, in words.
    pub outcome: String,
    /// The disposition code I set.
    pub disposition: Option<String>,
    /// My note.
    pub note: Option<String>,
}

impl Model {
    /// A model for `user` before anything happened: registering, voice off, no call.
    pub fn new(user: &str, display: &str) -> Self {
        Model {
            me: Me {
                user: user.to_string(),
                display: display.to_string(),
            },
            connection: Connection::Registering,
            voice_active: false,
            call: None,
            incoming: None,
            directory: Directory::default(),
            state: MyState::default(),
            audio: AudioStatus::Ready,
            notice: None,
            hint: None,
            history: None,
            floor: None,
        }
    }
}

/// My agent state (S1), from my own entry of the directory.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct MyState {
    /// My status; None until the directory listed me.
    pub status: Option<AgentStatus>,
    /// Why I am away.
    pub away_reason: Option<String>,
    /// When my after-call work ends.
    pub wrap_up_until: Option<Instant>,
    /// The reasons the server lets me give for being away.
    pub away_reasons: Vec<String>,
}

/// My account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Me {
    /// User name (the SIP user part).
    pub user: String,
    /// Display name.
    pub display: String,
}

/// The state of the registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Connection {
    /// REGISTER sent, no answer yet.
    Registering,
    /// Registered.
    Online,
    /// The server is unreachable; the next attempt is at `retry_at` (the header counts down, so
    /// the adapter sets this once per attempt: `Instant::now() + retry_in_s`).
    Offline {
        /// When the next REGISTER goes out.
        retry_at: Instant,
    },
    /// The server refused us (wrong credentials…); no automatic retry.
    Refused {
        /// Why, as the server said it.
        reason: String,
    },
}

/// Whether audio devices work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AudioStatus {
    /// Capture and playback are open.
    Ready,
    /// No usable device: the UI still runs and says so (A5).
    NoDevice {
        /// What went wrong, for the user.
        message: String,
    },
}

/// The call component's data (C1).
#[derive(Clone, Debug, PartialEq)]
pub struct CallView {
    /// Who the customer is (display name or URI); None in an agent-to-agent call.
    pub customer: Option<String>,
    /// When the call started, for the timer.
    pub started_at: Instant,
    /// Everyone in the call, me included, and whoever is being rung.
    pub participants: Vec<Participant>,
    /// The transfer under way, or how the last one ended.
    pub transfer: TransferView,
    /// Live quality of my leg (A6).
    pub quality: Quality,
    /// The conversation's timeline, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// The reason given for the transfer that brought this call to me, if any.
    pub reason: Option<String>,
}

impl CallView {
    /// My own participant entry, if the engine listed me.
    pub fn me<'a>(&'a self, me: &Me) -> Option<&'a Participant> {
        self.participants.iter().find(|p| p.user == me.user)
    }

    /// The customer's participant entry, if there is a customer.
    pub fn customer_participant(&self) -> Option<&Participant> {
        self.participants.iter().find(|p| p.role == Role::Customer)
    }

    /// True when the party Hold acts on is held: the customer, or in an agent-to-agent call any
    /// other participant.
    pub fn held(&self, me: &Me) -> bool {
        match self.customer_participant() {
            Some(c) => c.state == PartyState::OnHold,
            None => self
                .participants
                .iter()
                .any(|p| p.user != me.user && p.state == PartyState::OnHold),
        }
    }

    /// True when my microphone is muted.
    pub fn muted(&self, me: &Me) -> bool {
        self.me(me).is_some_and(|p| p.muted)
    }
}

/// One person in the call.
#[derive(Clone, Debug, PartialEq)]
pub struct Participant {
    /// User name (agents) or URI (customer): what identifies them.
    pub user: String,
    /// Name to show.
    pub name: String,
    /// Customer or agent.
    pub role: Role,
    /// What they are doing now.
    pub state: PartyState,
    /// Their microphone is muted.
    pub muted: bool,
    /// Speaking level, 0.0 (silent) to 1.0.
    pub level: f32,
    /// On hold since then (for the hold timer).
    pub held_since: Option<Instant>,
}

/// Live quality figures of my leg.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Quality {
    /// Microphone level, 0.0 to 1.0.
    pub mic_level: f32,
    /// Speaker level, 0.0 to 1.0.
    pub speaker_level: f32,
    /// Interarrival jitter in ms, when known.
    pub jitter_ms: Option<f32>,
    /// Packet loss in percent, when known.
    pub loss_pct: Option<f32>,
    /// Round-trip time in ms from RTCP, when known.
    pub rtt_ms: Option<f32>,
}

/// A time of day (seconds since midnight), shown as HH:MM:SS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(pub u32);

impl TimeOfDay {
    /// From hours, minutes and seconds.
    pub fn hms(h: u32, m: u32, s: u32) -> Self {
        TimeOfDay(h * 3600 + m * 60 + s)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0 % 86_400;
        write!(f, "{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
    }
}

/// One line of the conversation's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// When it happened.
    pub at: TimeOfDay,
    /// What happened ("Alice answered", "Alice transferred to Bob (billing)").
    pub text: String,
}

/// The call ringing here (R2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingCall {
    /// Who calls (display name, else URI).
    pub from: String,
    /// The caller's address.
    pub uri: String,
    /// The team that was called, if any.
    pub team: Option<String>,
    /// The agent transferring the call to me, if it is a transfer.
    pub transferred_by: Option<String>,
    /// The reason given for the transfer.
    pub reason: Option<String>,
    /// When it stops ringing here and counts as missed (ring countdown), when known.
    pub rings_out_at: Option<Instant>,
    /// Since when the customer waits (the server's queue wait), for a customer's call.
    pub waiting_since: Option<Instant>,
}

/// Agents and teams with live status.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Directory {
    /// Every agent.
    pub agents: Vec<AgentEntry>,
    /// Every team.
    pub teams: Vec<TeamEntry>,
}

/// An agent in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentEntry {
    /// User name.
    pub user: String,
    /// Display name.
    pub display: String,
    /// Derived status.
    pub status: AgentStatus,
    /// Why they are away (status `Away`).
    pub away_reason: Option<String>,
}

/// An agent's derived status (SPEC, Concepts): the wire's own type.
pub use crate::phone::AgentStatus;
/// What the phone says about a party and a transfer, shown as it is.
pub use crate::phone::{PartyState, Role, TransferView};

/// True when the agent's voice channel is on (whatever they are doing).
pub fn voice_active(status: AgentStatus) -> bool {
    matches!(
        status,
        AgentStatus::Available
            | AgentStatus::Ringing
            | AgentStatus::OnCall
            | AgentStatus::Away
            | AgentStatus::AfterCallWork
    )
}

/// A team in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TeamEntry {
    /// Team name.
    pub name: String,
    /// Members who can take a call now.
    pub available: u32,
    /// Members whose voice channel is on.
    pub active: u32,
}
