//! Offering the call to one party: one INVITE, rung until it is answered, refused, unreachable,
//! out of time or withdrawn (SPEC T2–T4, T7, R1–R3). The same machine serves team routing, a
//! direct call, an outbound call and a transfer: the room sends the INVITE, feeds its events and
//! the clock in, and carries out what [`Step`] says. Time is a parameter, so the rules are
//! table-tested in virtual time (`offer_tests.rs`).

use std::time::{Duration, Instant};

use crate::ids::OfferId;

/// An outbound call rings at least this long, whatever the agents' ring timeout.
pub const MIN_OUTBOUND_RING: Duration = Duration::from_secs(60);

/// Who an offer goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Offeree {
    /// An agent (reserved in the directory while rung).
    Agent(String),
    /// An outside URI (an outbound call).
    External(String),
}

impl Offeree {
    /// The agent, if an agent.
    pub fn agent(&self) -> Option<&str> {
        match self {
            Offeree::Agent(user) => Some(user),
            Offeree::External(_) => None,
        }
    }
    /// How it is named in call records and logs.
    pub fn label(&self) -> &str {
        match self {
            Offeree::Agent(s) | Offeree::External(s) => s,
        }
    }
}

/// What happens to an offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OfferInput {
    /// A response to the INVITE: status code and reason phrase.
    Response(u16, String),
    /// No final response (Timer B) or the transport failed (why).
    Unreachable(String),
    /// The clock (the driver wakes the machine at [`Offer::deadline`]).
    Tick,
    /// The room gives up on it (the caller left, a transfer is cancelled, the room ends).
    Withdraw,
    /// It answered, but the answer is unusable (no dialog, no common codec).
    BadAnswer { no_audio: bool },
}

/// Why an offer did not reach its party.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MissKind {
    /// Refused with 486/600.
    Busy,
    /// Refused with anything else ≥ 300 (603 Decline, 404, 500, …).
    Declined,
    /// 480/408, or the ring timeout passed.
    NoAnswer,
    /// No response at all, or the transport failed.
    Unreachable,
    /// Answered without a usable dialog.
    AnsweredBadly,
    /// Answered without a codec in common.
    NoAudio,
    /// The room withdrew it.
    Withdrawn,
}

/// An offer that is over without an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Miss {
    /// Why.
    pub kind: MissKind,
    /// The final status the party sent (None: it sent none).
    pub status: Option<(u16, String)>,
    /// Why it could not be reached (transport error, Timer B).
    pub unreachable: Option<String>,
    /// The INVITE is still pending: the driver sends CANCEL (a late 2xx is ACKed and hung up).
    pub cancel_invite: bool,
}

impl Miss {
    /// The status a caller gets when this was the last candidate of the establishing phase.
    pub fn caller_status(&self) -> (u16, String) {
        match (self.kind, &self.status) {
            (MissKind::AnsweredBadly, _) => (502, "Bad Gateway (answer without a dialog)".into()),
            (MissKind::NoAudio, _) => (488, "Not Acceptable Here".into()),
            (_, Some((code, phrase))) => (*code, phrase.clone()),
            (_, None) => (480, "Temporarily Unavailable".into()),
        }
    }

    /// The sipfrag status and the words of a failed transfer ("Bob {why}", T7).
    pub fn transfer_status(&self) -> (u16, &'static str, &'static str) {
        let code = self.status.as_ref().map(|s| s.0);
        match self.kind {
            MissKind::Busy => (486, "Busy Here", "is busy"),
            MissKind::Declined => (603, "Declined", "declined"),
            MissKind::NoAnswer if code.is_none() => (408, "Request Timeout", "did not answer"),
            MissKind::NoAnswer => (480, "Temporarily Unavailable", "did not answer"),
            MissKind::Unreachable | MissKind::Withdrawn => {
                (480, "Temporarily Unavailable", "cannot be reached")
            }
            MissKind::AnsweredBadly => (480, "Temporarily Unavailable", "answered badly"),
            MissKind::NoAudio => (488, "Not Acceptable Here", "has no usable audio"),
        }
    }

    /// The party let it ring until the ring timeout (not a refusal): RONA, SPEC S2.
    pub fn rang_out(&self) -> bool {
        self.kind == MissKind::NoAnswer && self.status.is_none()
    }

    /// The call record state for it (`no answer`, `refused`, `unreachable`) and its detail.
    pub fn record(&self, label: &str) -> Option<(&'static str, String)> {
        match (self.kind, &self.status) {
            (MissKind::Withdrawn | MissKind::AnsweredBadly | MissKind::NoAudio, _) => None,
            (MissKind::Unreachable, _) => Some((
                "unreachable",
                format!(
                    "{label}: {}",
                    self.unreachable.as_deref().unwrap_or("unreachable")
                ),
            )),
            (_, None) => Some(("no answer", label.to_string())),
            (_, Some((code, _))) => Some(("refused", format!("{label}: {code}"))),
        }
    }
}

/// What the driver does after an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Nothing: keep ringing.
    Wait,
    /// A 2xx: ACK it, accept its SDP and add the party's leg (the agent stays reserved: the
    /// driver tells the directory it answered).
    Answered,
    /// Over: release the agent, CANCEL when [`Miss::cancel_invite`], record the miss.
    Missed(Miss),
    /// The offer was already over: the input changes nothing (a late 2xx of an abandoned INVITE
    /// is ACKed and hung up by the driver, which keeps abandoned INVITEs apart).
    Over,
}

/// Where an offer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OfferState {
    /// INVITE sent, nothing heard.
    Calling,
    /// A provisional response came (the party rings).
    Ringing,
    /// Answered (the party joins).
    Answered,
    /// Over without an answer.
    Missed,
}

/// One offer of the call to one party.
#[derive(Clone, Debug)]
pub struct Offer {
    /// Its id (the INVITE's events carry it).
    pub id: OfferId,
    /// Who is rung.
    pub to: Offeree,
    /// When it rings out.
    pub deadline: Instant,
    state: OfferState,
}

impl Offer {
    /// An offer that starts ringing at `now`: agents ring `ring_timeout`, outside parties at
    /// least [`MIN_OUTBOUND_RING`].
    pub fn new(id: OfferId, to: Offeree, now: Instant, ring_timeout: Duration) -> Offer {
        let ring_for = match to {
            Offeree::Agent(_) => ring_timeout,
            Offeree::External(_) => ring_timeout.max(MIN_OUTBOUND_RING),
        };
        Offer {
            id,
            to,
            deadline: now + ring_for,
            state: OfferState::Calling,
        }
    }

    /// Where it is.
    #[cfg(test)]
    pub fn state(&self) -> OfferState {
        self.state
    }

    /// Is it still waiting for an answer?
    pub fn is_pending(&self) -> bool {
        matches!(self.state, OfferState::Calling | OfferState::Ringing)
    }

    /// Take one input at `now`.
    pub fn handle(&mut self, input: OfferInput, now: Instant) -> Step {
        if let OfferInput::BadAnswer { no_audio } = input {
            if self.state != OfferState::Answered {
                return Step::Over;
            }
            let kind = if no_audio {
                MissKind::NoAudio
            } else {
                MissKind::AnsweredBadly
            };
            return self.miss(kind, None, false);
        }
        if !self.is_pending() {
            return Step::Over;
        }
        match input {
            OfferInput::Response(code, _) if code < 200 => {
                self.state = OfferState::Ringing;
                Step::Wait
            }
            OfferInput::Response(code, _) if code < 300 => {
                self.state = OfferState::Answered;
                Step::Answered
            }
            OfferInput::Response(code, phrase) => {
                let kind = match code {
                    486 | 600 => MissKind::Busy,
                    480 | 408 => MissKind::NoAnswer,
                    _ => MissKind::Declined,
                };
                self.miss(kind, Some((code, phrase)), false)
            }
            OfferInput::Unreachable(why) => {
                let step = self.miss(MissKind::Unreachable, None, false);
                match step {
                    Step::Missed(miss) => Step::Missed(Miss {
                        unreachable: Some(why),
                        ..miss
                    }),
                    other => other,
                }
            }
            OfferInput::Tick if now >= self.deadline => self.miss(MissKind::NoAnswer, None, true),
            OfferInput::Tick => Step::Wait,
            OfferInput::Withdraw => self.miss(MissKind::Withdrawn, None, true),
            OfferInput::BadAnswer { .. } => Step::Over,
        }
    }

    fn miss(&mut self, kind: MissKind, status: Option<(u16, String)>, cancel_invite: bool) -> Step {
        self.state = OfferState::Missed;
        Step::Missed(Miss {
            kind,
            status,
            unreachable: None,
            cancel_invite,
        })
    }
}

#[cfg(test)]
#[path = "offer_tests.rs"]
mod tests;
