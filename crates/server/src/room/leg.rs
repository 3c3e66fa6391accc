//! Who a room's party is, and how its negotiated media and identity are used.

use agentphone_media::codec::CodecKind;
use agentphone_media::session::SessionConfig;
use agentphone_media::srtp::SrtpKeys;
use agentphone_sip::endpoint::{Peer, TransportKind};

use crate::security::srtp::{SrtpPolicy, SrtpRules};
use agentphone_sip::sdp::Negotiated;

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

/// The RTP session settings for a negotiated stream; None for a codec the media crate lacks.
pub(super) fn session_config(n: &Negotiated, srtp: Option<SrtpKeys>) -> Option<SessionConfig> {
    Some(SessionConfig {
        remote: n.remote_addr,
        codec: CodecKind::from_name(&n.codec.name)?,
        pt: n.codec.pt,
        telephone_event_pt: n.telephone_event.as_ref().map(|f| f.pt),
        rtcp_mux: n.answer.rtcp_mux,
        srtp,
    })
}

/// The SRTP rules of a leg whose SIP comes from/goes to `peer` under `policy`.
pub(super) fn srtp_rules(ctx: &Ctx, policy: SrtpPolicy, peer: Peer) -> SrtpRules {
    SrtpRules {
        policy,
        signalling_secure: peer.transport == TransportKind::Tls,
        sdes_over_plain: ctx.config.sdes_over_plain,
    }
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
