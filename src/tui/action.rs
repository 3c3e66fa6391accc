//! The one `Action` enum: what a key press or a click asks for.
//!
//! Components turn input into actions; the [`App`](super::app::App) applies the ones that only
//! change the screen (open a popup, close it) and the run loop forwards the rest to the engine
//! ([`Action::is_for_engine`]).

use crate::phone::protocol::AgentStateRequest;

/// Who a transfer goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferTarget {
    /// An agent, by user name.
    Agent(String),
    /// A team, by name.
    Team(String),
}

/// One thing the user asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Mute (true) or unmute my microphone.
    Mute(bool),
    /// Put the customer (or, agent-to-agent, the other party) on hold (true) or resume.
    Hold(bool),
    /// Open the transfer modal (screen only).
    OpenTransfer,
    /// Ask the server to transfer the call.
    Transfer {
        /// Agent or team.
        target: TransferTarget,
        /// Optional one-line reason the target sees (M4).
        reason: Option<String>,
        /// The target only listens (M5).
        listen_only: bool,
    },
    /// Stop ringing the transfer target.
    CancelTransfer,
    /// Leave the customer with the agent who joined.
    CompleteTransfer,
    /// Leave the call.
    Hangup,
    /// Answer the incoming call.
    Answer,
    /// Decline the incoming call.
    Decline,
    /// Open the dial prompt, or the keypad during a call (screen only).
    OpenDial,
    /// Call an agent or a SIP URI.
    Dial(String),
    /// Send one DTMF digit.
    Dtmf(char),
    /// Switch my voice channel on (true) or off.
    SetVoice(bool),
    /// Open the agent-state menu (screen only).
    OpenStateMenu,
    /// Set my agent state: available (also ends after-call work) or away (S1).
    SetState(AgentStateRequest),
    /// Open my call history, with the disposition of my last call (screen only).
    OpenHistory,
    /// Set the disposition (and note) of my last call.
    SetDisposition {
        /// One of the server's codes.
        code: String,
        /// Free text (empty: none).
        note: String,
    },
    /// Show the help overlay (screen only).
    Help,
    /// Close the top popup (screen only).
    ClosePopup,
    /// Leave the program.
    Quit,
    /// Supervisor: join call `room` as `mode` (None: switch in my call) — V2.
    Supervise {
        /// The room's number.
        room: Option<String>,
        /// Listen, whisper or barge.
        mode: super::supervisor::SuperviseMode,
    },
    /// The transfer modal opened (true) or closed: the whole directory is subscribed only
    /// meanwhile (sent by the run loop when the modal's presence changes, whatever closed it).
    WatchDirectory(bool),
    /// Something the user asked for that cannot work now: say why instead (a listener's Hold,
    /// Transfer while another transfer is under way — issue 10 #6).
    Explain(String),
}

impl Action {
    /// True for the actions the engine must carry out; false for those that only change the screen.
    pub fn is_for_engine(&self) -> bool {
        !matches!(
            self,
            Action::OpenTransfer
                | Action::OpenDial
                | Action::OpenStateMenu
                | Action::OpenHistory
                | Action::Help
                | Action::ClosePopup
        )
    }
}
