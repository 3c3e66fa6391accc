//! The establishing phase (SPEC R1–R3, T3): the caller is answered early with ringback, then the
//! hunt (`hunt.rs`) picks who is offered the call — team members one at a time in offer order,
//! the one agent, or the outbound URI — each rung by an [`Offer`] for the ring timeout; a
//! customer calling a team with nobody free is queued with music. The caller leaving (CANCEL or
//! BYE in the early dialog) or the server stopping withdraws the offer ringing.

use agentphone_protocol::TimelineKind;
use agentphone_sip::sdp::Direction;

use super::super::hunt::{Decision, Found, Hunt, Target};
use super::super::leg::Role;
use super::super::offer::{Miss, Offer, OfferInput, Offeree, Step};
use super::io::{Ask, CallerReply, Dest, DirOp, DirReply, Effect, Event, InviteInfo, Reply};
use super::io::{Request, Unusable};
use super::transfer::Pending;
use super::{LegState, Phase, RoomMachine, Setup};
use crate::ids::OfferId;
use crate::media_engine::LegMode;
use crate::records::RecordOp;

impl RoomMachine {
    /// One event while establishing or queued.
    pub(super) fn setup_event(&mut self, event: Event) {
        match event {
            Event::Start { caller, dest } => self.start(caller, dest),
            Event::EarlyAnswered(result) => self.early_answered(result),
            Event::CallerCancelled => self.caller_left(),
            Event::Shutdown(why) => {
                self.withdraw_setup();
                self.emit(Effect::AnswerCaller(CallerReply::Refused(
                    503,
                    "Service Unavailable".into(),
                )));
                self.end(why.into());
            }
            Event::DirectoryChanged => {
                if let (Phase::Queued { .. }, Some(s)) = (self.phase, self.setup.as_mut()) {
                    s.next = Some(s.hunt.queue_event(true, self.now));
                }
            }
            Event::QueueShed => {
                if let (Phase::Queued { .. }, Some(s)) = (self.phase, self.setup.as_mut()) {
                    s.next = Some(Decision::Fail(503, "Service Unavailable".into()));
                }
            }
            Event::Directory(reply) => self.hunt_reply(reply),
            Event::Offer { offer, input } => self.setup_offer_input(offer, input),
            Event::OfferNotSent { offer, code, why } => {
                if self.ringing_id() == Some(offer) {
                    let ringing = self.setup.as_mut().and_then(|s| s.ringing.take());
                    if let Some(o) = ringing {
                        self.release(&o.to);
                    }
                    self.hunt_missed(code, why);
                }
            }
            Event::Joined { offer, result } => self.setup_joined(offer, result),
            Event::Tick => match self.phase {
                Phase::Queued { until } if self.now >= until => {
                    if let Some(s) = self.setup.as_mut() {
                        s.next = Some(s.hunt.queue_event(false, self.now));
                    }
                }
                _ => {
                    if let Some(id) = self.ringing_id() {
                        self.setup_offer_input(id, OfferInput::Tick);
                    }
                }
            },
            Event::Request { tx, leg, req } => {
                let caller_leg = self.setup.as_ref().map(|s| s.caller_leg);
                if req == Request::Bye && Some(leg) == caller_leg {
                    // BYE in the early dialog: the caller gives up.
                    self.respond(tx, Reply::Ok);
                    self.caller_left();
                } else {
                    self.respond(tx, Reply::Status(491, "Request Pending"));
                }
            }
            // Cannot happen before the call is connected; answered so the driver forgets it.
            Event::Reinvited { tx, .. } => self.respond(tx, Reply::Status(491, "Request Pending")),
            Event::Subscribe {
                tx,
                user,
                expires_zero,
            } => {
                // Maybe the one answering right now: decided once the call is connected.
                self.early_subs.push((tx, user, expires_zero));
            }
            Event::Media { .. }
            | Event::NoAck { .. }
            | Event::Supervise { .. }
            | Event::SupervisorJoined { .. } => {}
        }
        self.advance_hunt();
    }

    /// The call starts: record it, answer the caller early.
    fn start(&mut self, caller: Role, dest: Dest) {
        if self.setup.is_some() || !self.legs.is_empty() {
            return;
        }
        let kind = match (&caller, &dest) {
            (Role::Customer { .. }, _) => "inbound",
            (Role::Agent(_), Dest::External(_)) => "outbound",
            (Role::Agent(_), _) => "internal",
        };
        let (target, team) = match &dest {
            Dest::Team(t) => (t.clone(), Some(t.clone())),
            Dest::Agent(a) | Dest::External(a) => (a.clone(), None),
        };
        self.emit(Effect::Record(RecordOp::Started {
            call: self.record_id.clone(),
            kind,
            caller: caller.label(),
            target,
            team: team.clone(),
        }));
        if let Some(agent) = caller.agent() {
            self.directory(DirOp::CallStarted(agent.to_string()));
        }
        let hunt_target = match &dest {
            // R1: a customer calling a team with nobody available queues.
            Dest::Team(_) => Target::Team {
                queues: caller.is_customer(),
            },
            Dest::Agent(user) => Target::Agent {
                self_call: Some(user.as_str()) == caller.agent(),
            },
            Dest::External(_) => Target::External,
        };
        let caller_leg = self.new_leg_id();
        let tried = caller
            .agent()
            .map(|a| vec![a.to_string()])
            .unwrap_or_default();
        self.setup = Some(Setup {
            caller,
            caller_leg,
            dest,
            team,
            hunt: Hunt::new(hunt_target, self.config.queue_timeout),
            next: None,
            tried,
            reserved: None,
            ringing: None,
            started: self.now,
        });
        self.emit(Effect::AnswerEarly { leg: caller_leg });
    }

    /// The caller has its 183 (the hunt starts), or could not be answered (the call ends).
    fn early_answered(&mut self, result: Result<Direction, (u16, String)>) {
        let Some(s) = self.setup.as_mut() else {
            return;
        };
        match result {
            Ok(direction) => {
                let leg = LegState {
                    id: s.caller_leg,
                    role: s.caller.clone(),
                    direction,
                    listen_only: false,
                    muted: false,
                    level: 0,
                    confirmed: false,
                };
                s.next = Some(s.hunt.start());
                self.legs.push(leg);
            }
            Err((code, reason)) => {
                if let Some(agent) = s.caller.agent().map(str::to_string) {
                    self.directory(DirOp::CallEnded(agent));
                }
                self.setup = None;
                self.emit(Effect::AnswerCaller(CallerReply::Refused(
                    code,
                    reason.clone(),
                )));
                self.end(reason);
            }
        }
    }

    /// Carry out the hunt's decisions until one waits for an event (ringing, queued, asking).
    fn advance_hunt(&mut self) {
        loop {
            let Some(s) = self.setup.as_mut() else {
                return;
            };
            let Some(decision) = s.next.take() else {
                return;
            };
            let caller_leg = s.caller_leg;
            match decision {
                Decision::Ask => {
                    let ask = match &s.dest {
                        Dest::Team(team) => Ask::Team {
                            team: team.clone(),
                            exclude: s.tried.clone(),
                        },
                        Dest::Agent(user) => Ask::Agent(user.clone()),
                        // The hunt never asks for an outbound call.
                        Dest::External(_) => {
                            s.next = Some(s.hunt.found(Found::NobodyFree, self.now));
                            continue;
                        }
                    };
                    self.pending = Some(Pending::Hunt);
                    self.emit(Effect::Ask(ask));
                    return;
                }
                Decision::Queue { until, first } => {
                    if let (true, Dest::Team(t)) = (first, &s.dest) {
                        let team = t.clone();
                        self.record("queued", Some(team));
                    }
                    self.set_mode(caller_leg, LegMode::Held);
                    self.phase = Phase::Queued { until };
                }
                Decision::Fail(code, phrase) => {
                    self.emit(Effect::AnswerCaller(CallerReply::Final(
                        code,
                        phrase.clone(),
                    )));
                    self.end(format!("not answered: {code} {phrase}"));
                    return;
                }
                Decision::Ring { from_queue } => self.ring(from_queue),
            }
        }
    }

    /// Ring the one the directory reserved (or the outbound URI).
    fn ring(&mut self, from_queue: bool) {
        let Some(s) = self.setup.as_mut() else {
            return;
        };
        let to = match (s.reserved.take(), &s.dest) {
            (Some(user), _) => Offeree::Agent(user),
            (None, Dest::External(uri)) => Offeree::External(uri.clone()),
            // The hunt rings only what the directory reserved.
            (None, _) => {
                s.next = Some(Decision::Fail(500, "Server Internal Error".into()));
                return;
            }
        };
        if let Some(user) = to.agent() {
            s.tried.push(user.to_string());
        }
        let invite = InviteInfo {
            shown: s.caller.clone(),
            team: s.team.clone(),
            referred_by: None,
            subject: None,
            listen_only: false,
            // The offered agent's popup shows how long the customer has waited (issue 10).
            waited_ms: s.caller.is_customer().then(|| {
                let waited = self.now.saturating_duration_since(s.started).as_millis();
                u64::try_from(waited).unwrap_or(u64::MAX)
            }),
        };
        let caller_leg = s.caller_leg;
        if from_queue {
            self.set_mode(caller_leg, LegMode::Ringback);
        }
        self.phase = Phase::Establishing;
        let id = self.new_offer_id();
        let offer = Offer::new(id, to.clone(), self.now, self.config.ring_timeout);
        self.record("ringing", Some(to.label().to_string()));
        if let Some(s) = self.setup.as_mut() {
            s.ringing = Some(offer);
        }
        self.emit(Effect::StartOffer {
            offer: id,
            to,
            invite,
        });
    }

    /// The directory answered the hunt.
    fn hunt_reply(&mut self, reply: DirReply) {
        match self.pending.take() {
            Some(Pending::Hunt) => {}
            other => {
                self.pending = other;
                // Not asked for: a reservation nobody uses is given back.
                if let DirReply::Reserved(user) = reply {
                    self.directory(DirOp::Release(user));
                }
                return;
            }
        }
        let Some(s) = self.setup.as_mut() else {
            return;
        };
        let found = match reply {
            DirReply::Reserved(user) => {
                s.reserved = Some(user);
                Found::Reserved
            }
            DirReply::NobodyFree => Found::NobodyFree,
            DirReply::Unavailable(status) => Found::Unavailable(status),
        };
        s.next = Some(s.hunt.found(found, self.now));
    }

    fn ringing_id(&self) -> Option<OfferId> {
        self.setup.as_ref()?.ringing.as_ref().map(|o| o.id)
    }

    /// An input for an offer while establishing: the one ringing, or an abandoned one.
    fn setup_offer_input(&mut self, id: OfferId, input: OfferInput) {
        if self.ringing_id() != Some(id) {
            self.stale_offer(id, &input);
            return;
        }
        let now = self.now;
        let Some(offer) = self.setup.as_mut().and_then(|s| s.ringing.as_mut()) else {
            return;
        };
        match offer.handle(input, now) {
            Step::Wait | Step::Over => {}
            Step::Answered => {
                let leg = self.new_leg_id();
                self.joining = Some((id, leg));
                self.emit(Effect::Join {
                    offer: id,
                    leg,
                    listen_only: false,
                });
            }
            Step::Missed(miss) => {
                let Some(offer) = self.setup.as_mut().and_then(|s| s.ringing.take()) else {
                    return;
                };
                self.offer_over(&offer, miss.cancel_invite);
                self.rang_out(&offer.to, &miss);
                if let Some((state, detail)) = miss.record(offer.to.label()) {
                    self.record(state, Some(detail));
                }
                let (code, reason) = miss.caller_status();
                self.hunt_missed(code, reason);
            }
        }
    }

    /// An event of an offer the room no longer waits for: a late 2xx is hung up.
    pub(super) fn stale_offer(&mut self, id: OfferId, input: &OfferInput) {
        if let OfferInput::Response(code, _) = input {
            if (200..300).contains(code) {
                self.emit(Effect::HangUpLate(id));
            }
        }
    }

    fn hunt_missed(&mut self, code: u16, reason: String) {
        if let Some(s) = self.setup.as_mut() {
            s.next = Some(s.hunt.missed(code, reason));
        }
    }

    /// The answered offer joined (the call connects) or its answer was unusable (next one).
    fn setup_joined(&mut self, id: OfferId, result: Result<Direction, Unusable>) {
        let Some((_, leg)) = self.joining.take().filter(|(o, _)| *o == id) else {
            return;
        };
        if self.ringing_id() != Some(id) {
            self.orphan_join(leg, &result);
            return;
        }
        let Some(mut offer) = self.setup.as_mut().and_then(|s| s.ringing.take()) else {
            return;
        };
        let direction = match result {
            Ok(d) => d,
            Err(unusable) => {
                let no_audio = unusable == Unusable::NoAudio;
                let (code, reason) =
                    match offer.handle(OfferInput::BadAnswer { no_audio }, self.now) {
                        Step::Missed(miss) => miss.caller_status(),
                        _ => (502, "Bad Gateway".into()),
                    };
                self.release(&offer.to);
                self.hunt_missed(code, reason);
                return;
            }
        };
        let Some(s) = self.setup.take() else {
            return;
        };
        let label = offer.to.label().to_string();
        let role = match &offer.to {
            Offeree::Agent(a) => Role::Agent(a.clone()),
            Offeree::External(uri) => Role::Customer {
                uri: uri.clone(),
                display: None,
            },
        };
        self.legs.push(LegState {
            id: leg,
            role: role.clone(),
            direction,
            listen_only: false,
            muted: false,
            level: 0,
            confirmed: true,
        });
        if let Some(a) = offer.to.agent() {
            self.directory(DirOp::Answered(a.to_string()));
        }
        // Both parties' history: the caller (an agent calling) and the one who answered.
        self.record_joined(s.caller_leg);
        self.record_joined(leg);
        self.emit(Effect::AnswerCaller(CallerReply::Ok));
        self.emit(Effect::Record(RecordOp::Answered {
            call: self.record_id.clone(),
            agent: label,
        }));
        let answered_by = self.name_of(&role);
        self.note_in_memory(TimelineKind::Answered, format!("Answered by {answered_by}"));
        self.phase = Phase::Connected;
        self.team = s.team.clone();
        self.answered_ms = Some(self.wall_ms());
        // The caller's dialog is confirmed; everyone hears what they should; its RTP is watched.
        let mut sends = false;
        if let Some(c) = self.legs.iter_mut().find(|l| l.id == s.caller_leg) {
            c.confirmed = true;
            sends = c.sends_media();
        }
        self.apply_modes();
        self.emit(Effect::WatchTimeout {
            leg: s.caller_leg,
            on: sends,
        });
        for (tx, user, expires_zero) in std::mem::take(&mut self.early_subs) {
            self.subscribe(tx, user, expires_zero);
        }
    }

    /// The caller gave up (CANCEL or BYE): withdraw the offer ringing, 487.
    fn caller_left(&mut self) {
        self.withdraw_setup();
        self.emit(Effect::AnswerCaller(CallerReply::Final(
            487,
            "Request Terminated".into(),
        )));
        self.end("caller cancelled".into());
    }

    /// The caller left or the room stops: the offer ringing now is withdrawn.
    fn withdraw_setup(&mut self) {
        if matches!(self.pending, Some(Pending::Hunt)) {
            self.pending = None;
        }
        let Some(s) = self.setup.as_mut() else {
            return;
        };
        s.next = None;
        let reserved = s.reserved.take();
        let ringing = s.ringing.take();
        if let Some(user) = reserved {
            self.directory(DirOp::Release(user));
        }
        if let Some(mut offer) = ringing {
            let cancel = match offer.handle(OfferInput::Withdraw, self.now) {
                Step::Missed(m) => m.cancel_invite,
                _ => false,
            };
            self.offer_over(&offer, cancel);
        }
    }

    /// An offer is over without an answer: the agent is free again; a pending INVITE is
    /// CANCELled (a late 2xx is hung up).
    pub(super) fn offer_over(&mut self, offer: &Offer, cancel: bool) {
        self.release(&offer.to);
        if cancel {
            self.emit(Effect::CancelOffer(offer.id));
        }
    }

    /// An agent who let the offer ring out goes away, missed call (S2, RONA).
    pub(super) fn rang_out(&mut self, to: &Offeree, miss: &Miss) {
        if let Some(a) = to.agent().filter(|_| miss.rang_out()) {
            self.directory(DirOp::RangOut(a.to_string()));
        }
    }

    pub(super) fn release(&mut self, to: &Offeree) {
        if let Some(a) = to.agent() {
            self.directory(DirOp::Release(a.to_string()));
        }
    }
}
