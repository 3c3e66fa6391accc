//! The state of a transfer: what was asked ([`TransferRequest`]) and where it is
//! ([`TransferPhase`]: ringing someone, or consulting someone who joined — nothing else can be
//! written). `machine/transfer.rs` moves it on.

use std::time::Instant;

use super::call_rules::TransferView;
use super::offer::Offer;
use super::LegId;

/// What was asked, fixed for the whole transfer.
#[derive(Debug)]
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

/// Where a transfer is: ringing someone, or consulting someone who joined.
#[derive(Debug)]
pub enum TransferPhase {
    /// The target (or a team member) is being rung by this offer (answered: joining).
    Ringing(Offer),
    /// The target joined; the agents talk, the customer waits.
    Consulting {
        /// The agent who joined.
        target: String,
        /// Their leg.
        leg: LegId,
    },
}

/// The transfer under way (one per call).
#[derive(Debug)]
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
            TransferPhase::Ringing(o) => o.to.label(),
            TransferPhase::Consulting { target, .. } => target,
        }
    }
    /// Is the target still ringing?
    pub fn is_ringing(&self) -> bool {
        matches!(self.phase, TransferPhase::Ringing(_))
    }
    /// When the target rings out (while it rings).
    pub fn deadline(&self) -> Option<Instant> {
        match &self.phase {
            TransferPhase::Ringing(o) if o.is_pending() => Some(o.deadline),
            _ => None,
        }
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
