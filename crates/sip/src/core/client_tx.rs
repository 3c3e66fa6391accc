//! Client transactions (RFC 3261 §17.1): INVITE (timers A, B, D; the ACK for a non-2xx final)
//! and non-INVITE (timers E, F, K).

use super::keys::TxKey;
use super::table::Core;
use super::timers::{Slot, TimerKey};
use super::{ClientId, Event};
use crate::endpoint::{Peer, TransportKind, TxError};
use crate::message::{parse, request_bytes};
use bytes::Bytes;
use rsip::prelude::*;
use std::time::{Duration, Instant};

/// How long an INVITE may stay in Proceeding without a final response (like a proxy's Timer C):
/// a peer that rang and then vanished must not keep the transaction forever.
pub(crate) const PROVISIONAL_LIMIT: Duration = Duration::from_secs(180);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientState {
    /// Sent, nothing heard (INVITE "Calling", non-INVITE "Trying").
    Calling,
    Proceeding,
    Completed,
}

pub(crate) struct ClientTx {
    pub key: TxKey,
    pub peer: Peer,
    pub invite: bool,
    /// The request as sent (retransmissions; the non-2xx ACK is built from it).
    pub bytes: Bytes,
    pub state: ClientState,
    pub interval: Duration,
    /// INVITE: the ACK sent for a non-2xx final, re-sent when that final is retransmitted.
    pub ack: Option<Bytes>,
    pub cancelling: bool,
    pub resend: Option<TimerKey>,
    pub expire: Option<TimerKey>,
}

impl Core {
    pub(super) fn client_start(
        &mut self,
        id: u64,
        branch: String,
        method: rsip::Method,
        bytes: Bytes,
        peer: Peer,
        now: Instant,
    ) {
        if self.full() {
            return self.fail(id, TxError::Transport("too many transactions".into()));
        }
        let timers = self.cfg.timers;
        let branch = branch.into_boxed_str();
        if method == rsip::Method::Cancel {
            self.client_cancel_sent(&branch, now);
        }
        let key = TxKey { branch, method };
        let tx = ClientTx {
            key: key.clone(),
            peer,
            invite: method == rsip::Method::Invite,
            bytes: bytes.clone(),
            state: ClientState::Calling,
            interval: timers.t1,
            ack: None,
            cancelling: false,
            resend: None,
            expire: None,
        };
        self.clients.insert(id, tx);
        self.client_keys.insert(key, id);
        self.transmit(peer, bytes, Some(ClientId(id)));
        let udp = peer.transport == TransportKind::Udp;
        self.client_set(id, Slot::Resend, udp.then(|| now + timers.t1));
        self.client_set(id, Slot::Expire, Some(now + timers.timeout()));
    }

    /// §9.1: once a CANCEL is sent, the INVITE's final must come within 64·T1.
    fn client_cancel_sent(&mut self, branch: &str, now: Instant) {
        let key = TxKey {
            branch: branch.into(),
            method: rsip::Method::Invite,
        };
        let Some(&id) = self.client_keys.get(&key) else {
            return;
        };
        let Some(tx) = self.clients.get_mut(&id) else {
            return;
        };
        if tx.cancelling || tx.state == ClientState::Completed {
            return;
        }
        tx.cancelling = true;
        let at = now + self.cfg.timers.timeout();
        self.client_set(id, Slot::Expire, Some(at));
    }

    fn client_set(&mut self, id: u64, slot: Slot, at: Option<Instant>) {
        let Some(current) = self.clients.get(&id).map(|tx| match slot {
            Slot::Resend => tx.resend,
            Slot::Expire => tx.expire,
        }) else {
            return;
        };
        let key = self.rearm(current, at, Core::slot_target(false, id, slot));
        if let Some(tx) = self.clients.get_mut(&id) {
            match slot {
                Slot::Resend => tx.resend = key,
                Slot::Expire => tx.expire = key,
            }
        }
    }

    pub(super) fn client_response(&mut self, id: u64, resp: rsip::Response, now: Instant) {
        let timers = self.cfg.timers;
        let Some(tx) = self.clients.get_mut(&id) else {
            return;
        };
        let code = resp.status_code.code();
        let (invite, peer) = (tx.invite, tx.peer);
        let udp = peer.transport == TransportKind::Udp;
        if tx.state == ClientState::Completed {
            // A retransmitted final: re-ACK (INVITE) or absorb.
            if let Some(ack) = tx.ack.clone() {
                self.transmit(peer, ack, None);
            }
            return;
        }
        if code < 200 {
            tx.state = ClientState::Proceeding;
            let cancelling = tx.cancelling;
            if invite {
                self.client_set(id, Slot::Resend, None);
                if !cancelling {
                    let limit = PROVISIONAL_LIMIT.max(timers.timeout());
                    self.client_set(id, Slot::Expire, Some(now + limit));
                }
            } else if udp {
                // Proceeding: keep retransmitting, at T2.
                if let Some(tx) = self.clients.get_mut(&id) {
                    tx.interval = timers.t2;
                }
                self.client_set(id, Slot::Resend, Some(now + timers.t2));
            }
            return self.emit(Event::Response {
                id: ClientId(id),
                response: resp,
            });
        }
        tx.state = ClientState::Completed;
        // Completed only absorbs retransmitted finals: the request is never sent again, so its
        // bytes go now rather than after Timer K/D (a NOTIFY to each subscriber on every
        // directory change otherwise held its whole body for 5 s).
        let request = std::mem::take(&mut tx.bytes);
        self.client_set(id, Slot::Resend, None);
        if invite && code < 300 {
            // 2xx: the transaction ends; the UAC core ACKs (and re-ACKs retransmissions).
            self.client_terminate(id);
        } else {
            if invite {
                if let Some(ack) = non_2xx_ack(&request, &resp) {
                    if let Some(tx) = self.clients.get_mut(&id) {
                        tx.ack = Some(ack.clone());
                    }
                    self.transmit(peer, ack, None);
                }
            }
            let linger = if invite {
                timers.timer_d(peer.transport)
            } else {
                timers.timer_k(peer.transport)
            };
            // Timer K only absorbs retransmitted finals (a stray one is dropped anyway,
            // §18.1.2): once the table is past the shedding mark, a non-INVITE ends now, so a
            // burst of our own requests (a directory's whole state to many new subscribers:
            // thousands of NOTIFYs in T4) cannot fill the table and fail the next ones.
            if linger.is_zero() || (!invite && self.live_transactions() >= self.shed_above()) {
                self.client_terminate(id);
            } else {
                self.client_set(id, Slot::Expire, Some(now + linger));
            }
        }
        self.emit(Event::Response {
            id: ClientId(id),
            response: resp,
        });
    }

    pub(super) fn client_timer(&mut self, id: u64, slot: Slot, now: Instant) {
        let timers = self.cfg.timers;
        let Some(tx) = self.clients.get_mut(&id) else {
            return;
        };
        match slot {
            Slot::Resend => {
                tx.resend = None;
                let keeps_resending = tx.state == ClientState::Calling
                    || (tx.state == ClientState::Proceeding && !tx.invite);
                if !keeps_resending {
                    return;
                }
                // Timer A doubles without limit; Timer E is capped at T2.
                let (peer, bytes) = (tx.peer, tx.bytes.clone());
                tx.interval = timers.backoff(tx.interval, !tx.invite);
                let at = now + tx.interval;
                self.transmit(peer, bytes, Some(ClientId(id)));
                self.client_set(id, Slot::Resend, Some(at));
            }
            Slot::Expire => {
                tx.expire = None;
                let completed = tx.state == ClientState::Completed;
                self.client_terminate(id);
                if !completed {
                    self.fail(id, TxError::Timeout);
                }
            }
        }
    }

    /// The request could not be sent: the transaction fails unless something was heard already.
    pub(super) fn client_transport_error(&mut self, id: u64, reason: String) {
        let calling = self
            .clients
            .get(&id)
            .is_some_and(|tx| tx.state == ClientState::Calling);
        if calling {
            self.client_terminate(id);
            self.fail(id, TxError::Transport(reason));
        }
    }

    pub(super) fn client_terminate(&mut self, id: u64) {
        let Some(tx) = self.clients.remove(&id) else {
            return;
        };
        self.timers.cancel(tx.resend);
        self.timers.cancel(tx.expire);
        if self.client_keys.get(&tx.key) == Some(&id) {
            self.client_keys.remove(&tx.key);
        }
    }
}

/// RFC 3261 §17.1.1.3: the ACK for a non-2xx final response, part of the INVITE transaction.
/// Built from the INVITE as sent (parsed again: this only happens on the failure path).
fn non_2xx_ack(invite_bytes: &[u8], resp: &rsip::Response) -> Option<Bytes> {
    let Ok(rsip::SipMessage::Request(invite)) = parse(invite_bytes) else {
        return None;
    };
    let to = resp
        .to_header()
        .or_else(|_| invite.to_header())
        .ok()?
        .clone();
    let ack = same_transaction_request(&invite, rsip::Method::Ack, to);
    Some(Bytes::from(request_bytes(&ack)))
}

/// A request in the INVITE's transaction (ACK for a non-2xx, §17.1.1.3; CANCEL, §9.1): same
/// Request-URI, top Via, From, Call-ID, CSeq number and Route; `to` as given.
pub(crate) fn same_transaction_request(
    invite: &rsip::Request,
    method: rsip::Method,
    to: rsip::headers::To,
) -> rsip::Request {
    let mut headers = rsip::Headers::default();
    if let Ok(via) = invite.via_header() {
        headers.push(via.clone().into());
    }
    headers.push(rsip::headers::MaxForwards::new("70").into());
    for h in invite.headers.iter() {
        match h {
            rsip::Header::From(_) | rsip::Header::CallId(_) | rsip::Header::Route(_) => {
                headers.push(h.clone())
            }
            _ => {}
        }
    }
    headers.push(to.into());
    let seq = invite
        .cseq_header()
        .ok()
        .and_then(|c| c.typed().ok())
        .map_or(1, |c| c.seq);
    headers.push(rsip::headers::CSeq::new(format!("{seq} {method}")).into());
    rsip::Request {
        method,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}
