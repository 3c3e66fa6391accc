//! The state of a transfer: what was asked ([`TransferRequest`]) and where it is
//! ([`TransferPhase`]: ringing someone, or consulting someone who joined — nothing else can be
//! written). `transfer.rs` moves it on.

use agentphone_media::session::RtpSession;
use agentphone_sip::sdp::Sdp;

use super::call_rules::TransferView;
use super::offer::Offer;
use super::outgoing::Outgoing;
use super::LegId;

/// What was asked, fixed for the whole transfer.
pub struct TransferRequest {
    /// Number within the room (1, 2, …).
    pub id: u64,
    /// The team, for a team transfer.
    pub team: Option<String>,
    /// The requesting agent.
    pub by: String,
    /// The requesting agent's leg (may have left: a blind transfer).
    pub by_leg: LegId,
    /// The reason typed by the requester.
    pub reason: Option<String>,
    /// Listen-only (training, M5).
    pub listen_only: bool,
    /// The transfer put the customer on hold (so failure / completion resumes them).
    pub held_customer: bool,
    /// Agents rung so far, the current or last one at the end.
    pub tried: Vec<String>,
}

/// The target being rung: the offer, its INVITE and the media it would join with.
pub struct RingingTarget {
    /// The offer machine.
    pub offer: Offer,
    /// The INVITE.
    pub out: Outgoing,
    /// The RTP session offered to the target.
    pub session: RtpSession,
    /// Our SDP offer.
    pub sdp: Sdp,
}

impl RingingTarget {
    /// The agent rung.
    pub fn user(&self) -> &str {
        self.offer.to.label()
    }
}

/// Where a transfer is: ringing someone, or consulting someone who joined.
pub enum TransferPhase {
    /// The target (or a team member) is being rung.
    Ringing(Box<RingingTarget>),
    /// The target joined; the agents talk, the customer waits.
    Consulting {
        /// The agent who joined.
        target: String,
        /// Their leg.
        leg: LegId,
    },
}

/// The transfer under way (one per call).
pub struct Transfer {
    /// What was asked.
    pub req: TransferRequest,
    /// Where it is.
    pub phase: TransferPhase,
}

impl Transfer {
    /// The agent rung now, or who joined.
    pub fn target_user(&self) -> &str {
        match &self.phase {
            TransferPhase::Ringing(r) => r.user(),
            TransferPhase::Consulting { target, .. } => target,
        }
    }
    /// Is the target still ringing?
    pub fn is_ringing(&self) -> bool {
        matches!(self.phase, TransferPhase::Ringing(_))
    }
    /// The transfer as the call rules see it.
    pub fn view(&self) -> TransferView {
        match self.phase {
            TransferPhase::Ringing(_) => TransferView::Ringing {
                by: self.req.by_leg,
                holds: self.req.held_customer,
                listen_only: self.req.listen_only,
            },
            TransferPhase::Consulting { leg, .. } => TransferView::Consulting {
                by: self.req.by_leg,
                target: leg,
                holds: self.req.held_customer,
            },
        }
    }
}

/// How a transfer ends without completing.
pub enum Outcome {
    /// Did not reach anyone (or the target left during the consultation): the status for the
    /// sipfrag and the text for the timeline.
    Failed(u16, &'static str, String),
    /// The requester cancelled.
    Cancelled,
}
