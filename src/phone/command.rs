//! Commands into the Phone engine and the errors they can be refused with.

use crate::audio::{SinkSpec, SourceSpec};
use agentphone_protocol::{AgentStateRequest, SuperviseMode};

/// One thing the user asks the phone to do.
#[derive(Clone, Debug, PartialEq)]
pub enum PhoneCommand {
    /// REGISTER with digest auth; then keep the registration fresh.
    Register,
    /// REGISTER with Expires: 0.
    Unregister,
    /// PUBLISH presence open (true) or closed (false).
    SetVoice(bool),
    /// PUBLISH my agent state: available (ends away and after-call work) or away (S1).
    SetState(AgentStateRequest),
    /// Call a SIP URI (sent via the server when there is one).
    Dial(String),
    /// Answer the ringing incoming call.
    Answer,
    /// Decline the ringing incoming call (603).
    Decline,
    /// Leave the call: CANCEL while it is being set up, BYE once answered.
    Hangup,
    /// Mute (true) or unmute the microphone: silence frames are sent while muted.
    Mute(bool),
    /// Put the call on hold: in a server room INFO `hold` (the customer is held — any agent may
    /// resume), in a direct call a re-INVITE sendonly.
    Hold,
    /// Take it off hold: INFO `resume` in a server room, else a re-INVITE sendrecv.
    Resume,
    /// Ask the server to add `target` to my call (REFER): progress comes as `Transfer` events.
    Transfer {
        /// An agent or a team.
        target: TransferTarget,
        /// Shown to the target while it rings and written to the timeline (M4).
        reason: Option<String>,
        /// The target only listens (M5).
        listen_only: bool,
    },
    /// Cancel the transfer under way (INFO `cancel_transfer`).
    CancelTransfer,
    /// Complete it: I leave, the target stays with the customer (INFO `complete_transfer`).
    CompleteTransfer,
    /// Send DTMF digits (RFC 4733).
    Dtmf(String),
    /// Fetch my call history (a `History` event follows).
    FetchHistory,
    /// Set a disposition code (and note) on my most recent call (MESSAGE).
    SetDisposition {
        /// One of the server's codes (the history's `codes`).
        code: String,
        /// Free text.
        note: Option<String>,
    },
    /// Switch what the microphone sends.
    SetAudioSource(SourceSpec),
    /// Switch where what is heard goes (a new recording starts; the previous one is closed).
    SetAudioSink(SinkSpec),
    /// Watch the floor (supervisors, V1): `Floor` events after every change.
    WatchFloor(bool),
    /// Watch the whole directory (while a transfer modal is open): `Directory` events after
    /// every change; off ends the subscription (`Expires: 0`). My own state comes regardless.
    WatchDirectory(bool),
    /// Join call `room` (its id) as a supervisor, or switch how I am in it (V2).
    Supervise {
        /// The room's id (as the floor lists it); empty: the room of my call.
        room: String,
        /// Listen, whisper or barge.
        mode: SuperviseMode,
    },
}

/// Whom a transfer goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferTarget {
    /// An agent by username.
    Agent(String),
    /// A team by name (members are tried one at a time, T3).
    Team(String),
}

impl TransferTarget {
    /// The agent's or team's name.
    pub fn name(&self) -> &str {
        match self {
            TransferTarget::Agent(n) | TransferTarget::Team(n) => n,
        }
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// The command needs a call and there is none.
    #[error("no call")]
    NoCall,
    /// Answer/decline with no incoming call ringing.
    #[error("no incoming call is ringing")]
    NotRinging,
    /// Hold/resume/DTMF before the call is connected.
    #[error("the call is not connected")]
    NotConnected,
    /// Dial while a call exists.
    #[error("already in a call")]
    Busy,
    /// Register/publish without a server.
    #[error("no server configured")]
    NoServer,
    /// A URI or digit string that cannot be used.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// An audio source that cannot be opened.
    #[error("audio: {0}")]
    Audio(String),
    /// A socket could not be opened.
    #[error("network: {0}")]
    Network(String),
    /// The engine has stopped.
    #[error("the phone has stopped")]
    Stopped,
}
