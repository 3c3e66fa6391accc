//! Server transactions (RFC 3261 §17.2 with RFC 6026): INVITE (100 Trying after 200 ms, timers
//! G, H, I, L, 2xx retransmission until ACK) and non-INVITE (timer J, and a bound on how long
//! the TU may take).

use super::keys::{call_seq, CallSeq, TxKey};
use super::per_source::PerSource;
use super::table::Core;
use super::timers::{Slot, TimerKey};
use super::{Event, ServerId};
use crate::endpoint::{Peer, Timers, TransportKind};
use crate::message::{response, response_bytes};
use bytes::Bytes;
use std::time::{Duration, Instant};

/// If the TU has not answered an INVITE within this time, the transaction sends 100 Trying.
pub(crate) const AUTO_TRYING_AFTER: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ServerState {
    /// Non-INVITE, nothing sent yet.
    Trying,
    /// A provisional was sent (INVITE: from the start).
    Proceeding,
    /// A final (non-2xx for INVITE) was sent; retransmissions of the request get it again.
    Completed,
    /// INVITE: the ACK for the non-2xx final came (Timer I).
    Confirmed,
    /// INVITE: a 2xx was sent (RFC 6026; the UAS core retransmits it until the ACK).
    Accepted,
}

/// One server transaction: no copy of the request, only what answering retransmissions needs.
pub(crate) struct ServerTx {
    pub key: TxKey,
    pub peer: Peer,
    pub invite: bool,
    /// INVITE only: Call-ID + CSeq, to match the ACK of a 2xx.
    pub call_seq: Option<CallSeq>,
    pub state: ServerState,
    /// INVITE only: the 100 Trying, built on arrival, sent after 200 ms if the TU is silent.
    pub trying: Option<Bytes>,
    /// The last response sent (re-sent on retransmitted requests / timers).
    pub last: Option<Bytes>,
    /// 0 until a final response was sent.
    pub final_code: u16,
    pub interval: Duration,
    pub resend: Option<TimerKey>,
    pub expire: Option<TimerKey>,
}

impl ServerTx {
    pub(crate) fn new(key: TxKey, req: &rsip::Request, peer: Peer, timers: &Timers) -> Self {
        let invite = req.method == rsip::Method::Invite;
        let trying =
            invite.then(|| Bytes::from(response_bytes(&response(req, 100, "Trying", None))));
        ServerTx {
            key,
            peer,
            invite,
            call_seq: invite.then(|| call_seq(req)),
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            trying,
            last: None,
            final_code: 0,
            interval: timers.t1,
            resend: None,
            expire: None,
        }
    }

    fn udp(&self) -> bool {
        self.peer.transport == TransportKind::Udp
    }
}

impl Core {
    /// INVITE: the 100 Trying timer. Non-INVITE: the TU gets 64·T1 (the client's Timer F) to
    /// answer; after that nobody waits for the answer and the state goes.
    pub(super) fn server_arm_initial(&mut self, id: u64, now: Instant) {
        let Some(invite) = self.servers.get(&id).map(|tx| tx.invite) else {
            return;
        };
        if invite {
            self.server_set(id, Slot::Resend, Some(now + AUTO_TRYING_AFTER));
        } else {
            let at = now + self.cfg.timers.timeout();
            self.server_set(id, Slot::Expire, Some(at));
        }
    }

    /// (Re-)arm or disarm one of a server transaction's timers.
    fn server_set(&mut self, id: u64, slot: Slot, at: Option<Instant>) {
        let Some(current) = self.servers.get(&id).map(|tx| match slot {
            Slot::Resend => tx.resend,
            Slot::Expire => tx.expire,
        }) else {
            return;
        };
        let key = self.rearm(current, at, Core::slot_target(true, id, slot));
        if let Some(tx) = self.servers.get_mut(&id) {
            match slot {
                Slot::Resend => tx.resend = key,
                Slot::Expire => tx.expire = key,
            }
        }
    }

    /// Arm the end of a state, or end now when the duration is zero (TCP's I, J).
    fn server_end_after(&mut self, id: u64, after: Duration, now: Instant) {
        if after.is_zero() {
            self.server_terminate(id);
        } else {
            self.server_set(id, Slot::Expire, Some(now + after));
        }
    }

    pub(super) fn server_retransmission(&mut self, id: u64) {
        let Some(tx) = self.servers.get(&id) else {
            return;
        };
        let again = match tx.state {
            ServerState::Proceeding | ServerState::Completed => tx.last.clone(),
            // Trying: nothing to repeat yet. Confirmed/Accepted: absorbed (the 2xx has its timer).
            _ => None,
        };
        let peer = tx.peer;
        if let Some(bytes) = again {
            self.transmit(peer, bytes, None);
        }
    }

    pub(super) fn server_respond(&mut self, id: u64, code: u16, bytes: Bytes, now: Instant) {
        let timers = self.cfg.timers;
        let Some(tx) = self.servers.get_mut(&id) else {
            return;
        };
        if tx.final_code != 0 {
            return; // one final response per transaction
        }
        let peer = tx.peer;
        let (invite, udp) = (tx.invite, tx.udp());
        tx.trying = None;
        tx.last = Some(bytes.clone());
        if code < 200 {
            tx.state = ServerState::Proceeding;
        } else {
            tx.final_code = code;
        }
        let call_seq = tx.call_seq.clone();
        self.transmit(peer, bytes, None);
        self.server_set(id, Slot::Resend, None);
        if code < 200 {
            return;
        }
        if !invite {
            self.set_state(id, ServerState::Completed);
            self.server_end_after(id, timers.timer_j(peer.transport), now);
            return;
        }
        if code < 300 {
            self.set_state(id, ServerState::Accepted);
            if let Some(cs) = call_seq {
                self.accepted.insert(cs, id);
            }
        } else {
            self.set_state(id, ServerState::Completed);
        }
        // Timer G / the 2xx retransmission (UDP only), Timer H / L.
        let first = udp.then(|| now + timers.t1);
        self.server_set(id, Slot::Resend, first);
        self.server_set(id, Slot::Expire, Some(now + timers.timeout()));
    }

    fn set_state(&mut self, id: u64, state: ServerState) {
        if let Some(tx) = self.servers.get_mut(&id) {
            tx.state = state;
        }
    }

    /// Send once, keep nothing (RFC 3261 §8.2.7).
    pub(super) fn server_stateless(&mut self, id: u64, bytes: Bytes) {
        let Some(peer) = self.servers.get(&id).map(|tx| tx.peer) else {
            return;
        };
        self.transmit(peer, bytes, None);
        self.server_terminate(id);
    }

    /// The ACK for this INVITE's final response.
    pub(super) fn server_ack(&mut self, id: u64, now: Instant) {
        let timers = self.cfg.timers;
        let Some(tx) = self.servers.get_mut(&id) else {
            return;
        };
        let peer = tx.peer;
        match tx.state {
            ServerState::Completed if tx.invite => {
                tx.state = ServerState::Confirmed;
                tx.last = None;
                self.server_set(id, Slot::Resend, None);
                self.server_end_after(id, timers.timer_k(peer.transport), now);
            }
            ServerState::Accepted => {
                // Stop retransmitting; keep absorbing INVITE retransmissions until Timer L.
                tx.last = None;
                let cs = tx.call_seq.clone();
                self.server_set(id, Slot::Resend, None);
                if let Some(cs) = cs {
                    if self.accepted.get(&cs) == Some(&id) {
                        self.accepted.remove(&cs);
                    }
                }
            }
            _ => {}
        }
    }

    pub(super) fn server_timer(&mut self, id: u64, slot: Slot, now: Instant) {
        let timers = self.cfg.timers;
        let Some(tx) = self.servers.get_mut(&id) else {
            return;
        };
        match slot {
            Slot::Expire => {
                tx.expire = None;
                if tx.invite && tx.state == ServerState::Completed {
                    tracing::debug!("sip: no ACK for a final response to INVITE (Timer H)");
                }
                self.server_terminate(id);
            }
            Slot::Resend => {
                tx.resend = None;
                let peer = tx.peer;
                if let Some(trying) = tx.trying.take() {
                    tx.last = Some(trying.clone());
                    self.transmit(peer, trying, None);
                    return;
                }
                let Some(bytes) = tx.last.clone() else { return };
                tx.interval = timers.backoff(tx.interval, true);
                let next = now + tx.interval;
                self.transmit(peer, bytes, None);
                self.server_set(id, Slot::Resend, Some(next));
            }
        }
    }

    pub(super) fn server_terminate(&mut self, id: u64) {
        let Some(tx) = self.servers.remove(&id) else {
            return;
        };
        if PerSource::counts(&tx.key.method) {
            self.per_source.remove(tx.peer.addr.ip());
        }
        self.timers.cancel(tx.resend);
        self.timers.cancel(tx.expire);
        if self.server_keys.get(&tx.key) == Some(&id) {
            self.server_keys.remove(&tx.key);
        }
        if let Some(cs) = &tx.call_seq {
            if self.accepted.get(cs) == Some(&id) {
                self.accepted.remove(cs);
            }
        }
        if tx.invite {
            self.emit(Event::InviteEnded { id: ServerId(id) });
        }
    }
}
