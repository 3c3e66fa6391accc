//! A room's leg: one party, its dialog with the server and its negotiated media.

use agentphone_media::codec::CodecKind;
use agentphone_media::session::SessionConfig;
use agentphone_sip::dialog::Dialog;
use agentphone_sip::sdp::{Direction, Negotiated, Sdp};

use super::LegId;
use crate::context::Ctx;

/// Who a party is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// A customer (unauthenticated, or called out to): `uri` and display name as they sent/we dialled.
    Customer {
        uri: String,
        display: Option<String>,
    },
    /// An agent (by user name).
    Agent(String),
}

impl Role {
    /// The agent's user name, if an agent.
    pub fn agent(&self) -> Option<&str> {
        match self {
            Role::Agent(name) => Some(name),
            Role::Customer { .. } => None,
        }
    }
    /// Is this the customer?
    pub fn is_customer(&self) -> bool {
        matches!(self, Role::Customer { .. })
    }
    /// How this party is named in records and logs.
    pub fn label(&self) -> String {
        match self {
            Role::Agent(name) => name.clone(),
            Role::Customer { uri, .. } => uri.clone(),
        }
    }
}

/// One party in a room.
pub struct Leg {
    /// Id within the room (media engine key).
    pub id: LegId,
    /// Who.
    pub role: Role,
    /// The SIP dialog between the server and this party.
    pub dialog: Dialog,
    /// Our current SDP towards this party (answer or offer); its version grows on every change.
    pub local_sdp: Sdp,
    /// The direction the party last asked for (sendonly/inactive = it holds the others).
    pub remote_direction: Direction,
    /// Hears everyone, heard by no one (SPEC M5: added by a listen-only transfer).
    pub listen_only: bool,
    /// Said it is muted (room command; the audio itself is gated by the client, C2).
    pub muted: bool,
    /// Speaking level 0..=4 as the media engine last measured it (coarse, 200 ms windows).
    pub level: u8,
}

impl Leg {
    /// Does this party currently hold the call (its last SDP was sendonly or inactive)?
    pub fn is_holding(&self) -> bool {
        matches!(
            self.remote_direction,
            Direction::SendOnly | Direction::Inactive
        )
    }
    /// Does the party send RTP (so silence means it is gone)?
    pub fn sends_media(&self) -> bool {
        matches!(
            self.remote_direction,
            Direction::SendRecv | Direction::SendOnly
        )
    }
}

/// The RTP session settings for a negotiated stream; None for a codec the media crate lacks.
pub(super) fn session_config(n: &Negotiated) -> Option<SessionConfig> {
    Some(SessionConfig {
        remote: n.remote_addr,
        codec: CodecKind::from_name(&n.codec.name)?,
        pt: n.codec.pt,
        telephone_event_pt: n.telephone_event.as_ref().map(|f| f.pt),
        rtcp_mux: n.answer.rtcp_mux,
    })
}

/// How a role is shown in the From of the INVITEs the room sends for it.
pub(super) fn identity(ctx: &Ctx, role: &Role) -> (Option<String>, String) {
    match role {
        Role::Customer { uri, display } => (display.clone(), uri.clone()),
        Role::Agent(name) => {
            let display = ctx.config.agent(name).map(|a| a.display_name.clone());
            (display, format!("sip:{name}@{}", ctx.config.domain))
        }
    }
}
