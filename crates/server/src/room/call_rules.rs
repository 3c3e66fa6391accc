//! The connected phase's rules that need no I/O, as pure functions over what the room knows:
//! who hears what (C3, T2, T4, T5, M5: `hold.rs` plus the transfer's hold and ringback), what a
//! party leaving means for a transfer (T6 complete, T8 back to A), and when the room ends (C5,
//! T9, B3). `call_rules_tests.rs` walks every phase with every party leaving.

use super::hold::{self, LegView};
use super::LegId;
use crate::media_engine::LegMode;

/// The transfer under way, as these rules see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferView {
    /// No transfer.
    None,
    /// The target rings; `by` asked (may have left: blind), `holds` the transfer holds the
    /// customer, `listen_only` M5.
    Ringing {
        by: LegId,
        holds: bool,
        listen_only: bool,
    },
    /// The target joined as `target`.
    Consulting {
        by: LegId,
        target: LegId,
        holds: bool,
    },
}

impl TransferView {
    fn holds_customer(self) -> bool {
        match self {
            TransferView::None => false,
            TransferView::Ringing { holds, .. } | TransferView::Consulting { holds, .. } => holds,
        }
    }
}

/// What every leg hears now. `command_hold`: the leg that held by command (C3) — with a
/// customer that holds the customer, without one it holds the others; `hold_on_transfer`: the
/// setting (without it the requester stays with the customer and hears no ringback).
pub fn modes(
    legs: &[LegView<'_>],
    command_hold: Option<LegId>,
    transfer: TransferView,
    hold_on_transfer: bool,
) -> Vec<(LegId, LegMode)> {
    let has_customer = legs.iter().any(|l| l.role.is_customer());
    let views: Vec<LegView<'_>> = legs
        .iter()
        .map(|l| LegView {
            holding: l.holding || (!has_customer && command_hold == Some(l.id)),
            ..l.clone()
        })
        .collect();
    let customer_held = (has_customer && command_hold.is_some()) || transfer.holds_customer();
    let ringback = match transfer {
        TransferView::Ringing {
            by,
            listen_only: false,
            ..
        } if hold_on_transfer => Some(by),
        _ => None,
    };
    hold::modes(&views, customer_held, ringback)
}

/// What a party leaving means for the transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnLeave {
    /// Nothing special: the party leaves.
    Leave,
    /// The requester left during the consultation: the transfer completes (T6).
    Complete,
    /// The consulted target left: the transfer fails, back to A and the customer (T8).
    TargetLeft,
}

/// T6 / T8: a party (`leg`) hangs up or vanishes.
pub fn on_leave(transfer: TransferView, leg: LegId) -> OnLeave {
    match transfer {
        TransferView::Consulting { by, .. } if by == leg => OnLeave::Complete,
        TransferView::Consulting { target, .. } if target == leg => OnLeave::TargetLeft,
        _ => OnLeave::Leave,
    }
}

/// C3: the hold by command after `leaver` left. A customer leaving ends it (it was for them); the
/// holder of an agent-to-agent hold leaving ends it; with a customer it stays (anyone resumes).
pub fn hold_after_leave(
    hold: Option<LegId>,
    leaver: LegId,
    leaver_is_customer: bool,
    customer_remains: bool,
) -> Option<LegId> {
    let holder_left = hold == Some(leaver) && !customer_remains;
    if leaver_is_customer || holder_left {
        None
    } else {
        hold
    }
}

/// C5, T9, M5, B3: why the room ends with these parties left, or None while it goes on. It goes
/// on while a transfer target rings for somebody (a blind transfer: the customer waits); else it
/// needs two parties, one of them an agent who is not only listening (a trainee alone with the
/// customer is not left as the only agent).
/// The end reason when the last other party hung up (BYE).
pub const REMOTE_HANGUP: &str = "the other party hung up";
/// The end reason when the last other party went silent for `rtp_timeout_s` (B3).
pub const MEDIA_TIMEOUT: &str = "media timeout";
/// The end reason when the caller never ACKed our 2xx (it gave up without a CANCEL).
pub const NO_ACK: &str = "no ACK from the caller";

pub fn end_reason(legs: &[LegView<'_>], transfer_ringing: bool) -> Option<&'static str> {
    if transfer_ringing && !legs.is_empty() {
        None
    } else if legs.len() < 2 {
        Some(REMOTE_HANGUP)
    } else if !legs
        .iter()
        .any(|l| l.role.agent().is_some() && !l.listen_only)
    {
        Some("no agent left")
    } else {
        None
    }
}

#[cfg(test)]
#[path = "call_rules_tests.rs"]
mod tests;
