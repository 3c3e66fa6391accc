//! The one INVITE the room sends to offer the call to a party (protocol.md "Calls" and
//! "Transfer"): used by the establishing phase (`ring.rs`: team member, agent, outbound URI) and
//! by a transfer (`transfer.rs`). Agents see the room as a focus (`Contact: <room>;isfocus`,
//! `Recv-Info`), the team the call came for, and for a transfer who referred it, the reason and
//! whether they only listen.

use agentphone_sip::endpoint::Peer;
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::sdp::Sdp;

use agentphone_protocol::command::INFO_PACKAGE;
use agentphone_protocol::offer as offer_headers;

use super::actor::Room;
use super::leg::identity;
use super::machine::InviteInfo;
use crate::directory::Binding;

/// Where an offer's INVITE goes.
pub(super) enum Reach {
    /// An agent at their registered binding.
    Agent { user: String, binding: Binding },
    /// An outside URI.
    External { uri: rsip::Uri, peer: Peer },
}

impl Room {
    /// The INVITE offering the call to `to` with our SDP `offer`, and where to send it.
    pub(super) fn offer_invite(
        &self,
        to: &Reach,
        what: &InviteInfo,
        offer: &Sdp,
    ) -> Result<(rsip::Request, Peer), String> {
        let cfg = &self.ctx.config;
        let (from_display, from_uri) = identity(&self.ctx, &what.shown);
        let (uri, peer, to_display, to_uri) = match to {
            Reach::Agent { user, binding } => (
                binding.contact.to_string(),
                binding.peer,
                cfg.agent(user).map(|a| a.display_name.clone()),
                format!("sip:{user}@{}", cfg.domain),
            ),
            Reach::External { uri, peer } => (uri.to_string(), *peer, None, uri.to_string()),
        };
        let mut b = RequestBuilder::new(rsip::Method::Invite, &uri)
            .map_err(|e| format!("bad target URI: {e}"))?
            .from(from_display.as_deref(), &from_uri, &message::new_tag())
            .to(to_display.as_deref(), &to_uri, None)
            .call_id(&message::new_call_id())
            .cseq(1);
        if let Reach::External { .. } = to {
            b = b.contact(&self.ctx.local_contact.to_string());
        } else {
            b = b
                .contact_with_params(&self.room_uri.to_string(), "isfocus")
                .header("Recv-Info", INFO_PACKAGE);
            if let Some(by) = &what.referred_by {
                b = b.header("Referred-By", &format!("<sip:{by}@{}>", cfg.domain));
            }
            if let Some(subject) = &what.subject {
                b = b.header("Subject", subject);
            }
            if let Some(team) = &what.team {
                let address = cfg
                    .team(team)
                    .and_then(|t| t.inbound.clone())
                    .unwrap_or_else(|| team.clone());
                b = b.header(
                    "Call-Info",
                    &format!("<sip:{address}@{}>;purpose=x-agentphone-team", cfg.domain),
                );
            }
            if let Some(ms) = what.waited_ms {
                b = b.header(
                    offer_headers::WAITED_HEADER,
                    &offer_headers::waited_value(ms),
                );
            }
            if what.listen_only {
                b = b.header(
                    "Call-Info",
                    &format!("<sip:{}>;purpose=x-agentphone-listen-only", cfg.domain),
                );
            }
        }
        let request = b
            .body("application/sdp", offer.to_string().into_bytes())
            .build()
            .map_err(|e| format!("cannot build the INVITE: {e}"))?;
        Ok((request, peer))
    }
}
