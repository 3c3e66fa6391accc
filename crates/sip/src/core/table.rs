//! The transaction table of one shard: where every input goes, the maps that find transactions,
//! the cap, garbage replies and the UAC core's remembered ACKs.

use super::client_tx::ClientTx;
use super::keys::{branch_shard, call_seq, server_key, CallSeq, TxKey};
use super::per_source::PerSource;
use super::server_tx::{ServerState, ServerTx};
use super::timers::{Slot, Target, TimerKey, TimerQueue};
use super::via::stamp_received;
use super::{ClientId, CoreConfig, Event, Input, Output, ServerId};
use crate::endpoint::{Peer, TxError};
use crate::message::{self, error_reply_with, fields, parse, response, response_bytes};
use bytes::Bytes;
use rsip::headers::UntypedHeader;
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// An ACK we sent for a 2xx, kept to answer retransmissions of that 2xx.
struct SentAck {
    bytes: Bytes,
    peer: Peer,
    timer: TimerKey,
}

/// One shard's transactions and timers. See the module documentation for the protocol.
pub struct Core {
    pub(super) cfg: CoreConfig,
    pub(super) servers: HashMap<u64, ServerTx>,
    pub(super) server_keys: HashMap<TxKey, u64>,
    pub(super) clients: HashMap<u64, ClientTx>,
    pub(super) client_keys: HashMap<TxKey, u64>,
    /// UAS core: INVITEs answered 2xx whose ACK (any branch) has not come yet.
    pub(super) accepted: HashMap<CallSeq, u64>,
    sent_acks: HashMap<CallSeq, SentAck>,
    pub(super) timers: TimerQueue,
    out: VecDeque<Output>,
    next_server: u64,
    rejected: u64,
    /// Live non-INVITE server transactions per source IP.
    pub(super) per_source: PerSource,
}

impl Core {
    /// An empty shard.
    pub fn new(cfg: CoreConfig) -> Self {
        Core {
            cfg,
            servers: HashMap::new(),
            server_keys: HashMap::new(),
            clients: HashMap::new(),
            client_keys: HashMap::new(),
            accepted: HashMap::new(),
            sent_acks: HashMap::new(),
            timers: TimerQueue::default(),
            out: VecDeque::new(),
            next_server: 0,
            rejected: 0,
            per_source: PerSource::default(),
        }
    }

    /// Handle one input at time `now`; then drain [`Core::poll_output`].
    pub fn handle_input(&mut self, input: Input<'_>, now: Instant) {
        match input {
            Input::Received { peer, bytes } => self.on_bytes(peer, bytes, now),
            Input::Parsed { peer, message } => self.on_message(peer, message, now),
            Input::Routed { peer, response } => self.on_response(peer, response, now, true),
            Input::Timeout => self.on_timeout(now),
            Input::Respond { id, code, bytes } => self.server_respond(id.0, code, bytes, now),
            Input::RespondStateless { id, bytes } => self.server_stateless(id.0, bytes),
            Input::Send { peer, bytes } => self.transmit(peer, bytes, None),
            Input::Request {
                id,
                branch,
                method,
                bytes,
                peer,
            } => self.client_start(id.0, branch, method, bytes, peer, now),
            Input::Ack {
                call_id,
                seq,
                bytes,
                peer,
            } => self.remember_ack(call_id, seq, bytes, peer, now),
            Input::TransportError { id, reason } => self.client_transport_error(id.0, reason),
            Input::Status { id, code } => self.client_response(id.0, bare_response(code), now),
        }
    }

    /// The live client transaction with this top Via branch and CSeq method, if any.
    pub fn client_id(&self, branch: &str, method: rsip::Method) -> Option<ClientId> {
        let key = TxKey {
            branch: branch.into(),
            method,
        };
        self.client_keys.get(&key).map(|&id| ClientId(id))
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When the next timer is due (feed [`Input::Timeout`] then).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Live transactions (client + server), the figure the cap applies to.
    pub fn live_transactions(&self) -> usize {
        self.servers.len() + self.clients.len()
    }

    /// Requests answered 503 because the cap was reached.
    pub fn rejected(&self) -> u64 {
        self.rejected
    }

    /// Count a request the driver answered 503 itself (its TU queue was full); logs now and then.
    /// One more request answered 503 (`why`: which bound; `method`: the request's), logged at
    /// every power of two.
    pub fn count_rejected(&mut self, why: &'static str, method: &rsip::Method) {
        self.rejected += 1;
        if !matches!(method, rsip::Method::Register | rsip::Method::Options) {
            tracing::debug!(why, %method, "sip: 503 to a request that is not sheddable");
        }
        if self.rejected.is_power_of_two() {
            tracing::warn!(rejected = self.rejected, why, %method, "sip: overloaded, answering 503");
        }
    }

    /// This shard's configuration.
    pub fn config(&self) -> &CoreConfig {
        &self.cfg
    }

    /// Live transactions past which sheddable requests (see [`sheddable`]) are refused: 3/4 of
    /// the cap, so that calls and in-dialog requests keep the last quarter during a flood.
    pub(super) fn shed_above(&self) -> usize {
        self.cfg.max_transactions - self.cfg.max_transactions / 4
    }

    /// A source's live transactions past which its `req` is refused: REGISTERs and OPTIONS at
    /// 3/4 of `max_per_source`, so that a source flooding them (or a trunk's address shared with
    /// one) keeps the last quarter for its BYEs and other in-dialog requests — a BYE refused
    /// leaves the call up and fails it for the caller (issue 7).
    fn per_source_cap(&self, req: &rsip::Request) -> usize {
        let cap = self.cfg.max_per_source;
        if sheddable(req) {
            cap - cap / 4
        } else {
            cap
        }
    }

    pub(super) fn full(&self) -> bool {
        self.live_transactions() >= self.cfg.max_transactions
    }

    pub(super) fn transmit(&mut self, peer: Peer, bytes: Bytes, client: Option<ClientId>) {
        self.out.push_back(Output::Transmit {
            peer,
            bytes,
            client,
        });
    }

    pub(super) fn emit(&mut self, event: Event) {
        self.out.push_back(Output::Event(event));
    }

    fn on_bytes(&mut self, peer: Peer, bytes: &[u8], now: Instant) {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return; // keep-alive
        }
        match parse(bytes) {
            Err(e) => {
                tracing::debug!(?peer, reason = %e, "sip: unparseable message");
                let reply = match e.status {
                    501 => {
                        let allow: Vec<(&str, &str)> =
                            self.cfg.allow.iter().map(|a| ("Allow", *a)).collect();
                        error_reply_with(bytes, 501, "Not Implemented", &allow)
                    }
                    400 => message::bad_request_reply(bytes, &e.reason),
                    code => message::error_reply(bytes, code, &e.reason),
                };
                if let Some(reply) = reply {
                    self.transmit(peer, Bytes::from(reply), None);
                }
            }
            Ok(message) => self.on_message(peer, message, now),
        }
    }

    fn on_message(&mut self, peer: Peer, message: rsip::SipMessage, now: Instant) {
        match message {
            rsip::SipMessage::Request(req) => self.on_request(peer, req, now),
            rsip::SipMessage::Response(resp) => self.on_response(peer, resp, now, false),
        }
    }

    fn on_request(&mut self, peer: Peer, mut req: rsip::Request, now: Instant) {
        stamp_received(&mut req, peer);
        let key = server_key(&req);
        if req.method == rsip::Method::Ack {
            return self.on_ack(peer, req, &key, now);
        }
        if let Some(&id) = self.server_keys.get(&key) {
            return self.server_retransmission(id);
        }
        if self.full() || (sheddable(&req) && self.live_transactions() >= self.shed_above()) {
            return self.reject(peer, &req, "transactions");
        }
        let ip = peer.addr.ip();
        if PerSource::counts(&req.method) && self.per_source.full(ip, self.per_source_cap(&req)) {
            return self.reject(peer, &req, "transactions per source");
        }
        if req.method == rsip::Method::Cancel {
            return self.on_cancel(peer, &req, key, now);
        }
        let id = self.server_create(key, &req, peer, now);
        self.emit(Event::Request {
            id: ServerId(id),
            request: req,
            peer,
        });
    }

    /// RFC 3261 §21.5.4: past the cap, a stateless 503 with Retry-After instead of more state.
    fn reject(&mut self, peer: Peer, req: &rsip::Request, why: &'static str) {
        self.count_rejected(why, &req.method);
        let busy = service_unavailable(req, self.cfg.retry_after_secs);
        self.transmit(peer, busy, None);
    }

    fn next_server_id(&mut self) -> u64 {
        self.next_server += 1;
        self.next_server
    }

    pub(super) fn server_create(
        &mut self,
        key: TxKey,
        req: &rsip::Request,
        peer: Peer,
        now: Instant,
    ) -> u64 {
        let id = self.next_server_id();
        let tx = ServerTx::new(key.clone(), req, peer, &self.cfg.timers);
        if PerSource::counts(&req.method) {
            self.per_source.add(peer.addr.ip());
        }
        self.servers.insert(id, tx);
        self.server_keys.insert(key, id);
        self.server_arm_initial(id, now);
        id
    }

    fn on_ack(&mut self, peer: Peer, req: rsip::Request, key: &TxKey, now: Instant) {
        if let Some(&id) = self.server_keys.get(key) {
            let code = self.servers.get(&id).map_or(0, |tx| tx.final_code);
            self.server_ack(id, now);
            if code >= 300 {
                return; // ACK for a non-2xx final: part of the INVITE transaction.
            }
        }
        if let Some(id) = self.accepted.remove(&call_seq(&req)) {
            self.server_ack(id, now);
        }
        self.emit(Event::Ack { request: req, peer });
    }

    /// §9.2: a CANCEL gets 200 when its INVITE is known (481 otherwise) in its own transaction;
    /// the INVITE's TU hears about it while that INVITE has no final response yet — or has a 2xx
    /// not yet ACKed: the CANCEL crossed our 2xx, and a caller that gave up (a trunk's time-out)
    /// will never ACK it; the TU may end the call at once (RFC 3261 §9.2: a UAC whose CANCEL
    /// met a 2xx ACKs and sends BYE anyway).
    fn on_cancel(&mut self, peer: Peer, req: &rsip::Request, key: TxKey, now: Instant) {
        let invite_key = TxKey {
            branch: key.branch.clone(),
            method: rsip::Method::Invite,
        };
        let invite = self.server_keys.get(&invite_key).copied();
        let (code, reason) = match invite {
            Some(_) => (200, "OK"),
            None => (481, "Call/Transaction Does Not Exist"),
        };
        let id = self.server_create(key, req, peer, now);
        let bytes = Bytes::from(response_bytes(&response(req, code, reason, None)));
        self.server_respond(id, code, bytes, now);
        let pending = invite.filter(|i| {
            self.servers.get(i).is_some_and(|tx| {
                tx.final_code == 0 || (tx.state == ServerState::Accepted && tx.last.is_some())
            })
        });
        if let Some(invite) = pending {
            self.emit(Event::Cancelled {
                id: ServerId(invite),
            });
        }
    }

    fn on_response(&mut self, peer: Peer, resp: rsip::Response, now: Instant, routed: bool) {
        let Some((seq, method)) = fields::cseq(&resp) else {
            return;
        };
        let branch = fields::top_branch(&resp).unwrap_or_default();
        if !routed {
            let owner = branch_shard(&branch).filter(|s| *s < self.cfg.shards);
            if let Some(shard) = owner.filter(|s| *s != self.cfg.shard) {
                self.out.push_back(Output::Route {
                    shard,
                    peer,
                    response: resp,
                });
                return;
            }
        }
        let key = TxKey {
            branch: branch.into_boxed_str(),
            method,
        };
        if let Some(&id) = self.client_keys.get(&key) {
            return self.client_response(id, resp, now);
        }
        let code = resp.status_code.code();
        if method == rsip::Method::Invite && (200..300).contains(&code) {
            // A retransmitted 2xx: the UAC core answers it with the same ACK again.
            let call_id = fields::call_id(&resp).unwrap_or_default().into_boxed_str();
            if let Some(ack) = self.sent_acks.get(&(call_id, seq)) {
                let (peer, bytes) = (ack.peer, ack.bytes.clone());
                self.transmit(peer, bytes, None);
            }
            return;
        }
        tracing::debug!(code, "sip: dropping response that matches no transaction");
    }

    fn remember_ack(&mut self, call_id: String, seq: u32, bytes: Bytes, peer: Peer, now: Instant) {
        let call_id = call_id.into_boxed_str();
        if let Some(old) = self.sent_acks.remove(&(call_id.clone(), seq)) {
            self.timers.cancel(Some(old.timer));
        }
        if self.sent_acks.len() < self.cfg.max_transactions {
            let at = now + self.cfg.timers.timeout();
            let timer = self.timers.arm(at, Target::SentAck(call_id.clone(), seq));
            let ack = SentAck {
                bytes: bytes.clone(),
                peer,
                timer,
            };
            self.sent_acks.insert((call_id, seq), ack);
        }
        self.transmit(peer, bytes, None);
    }

    fn on_timeout(&mut self, now: Instant) {
        while let Some((key, target)) = self.timers.pop_due(now) {
            match target {
                Target::Server(id, slot) => self.server_timer(id, slot, now),
                Target::Client(id, slot) => self.client_timer(id, slot, now),
                Target::SentAck(call_id, seq) => {
                    let cs = (call_id, seq);
                    if self.sent_acks.get(&cs).is_some_and(|a| a.timer == key) {
                        self.sent_acks.remove(&cs);
                    }
                }
            }
        }
        self.shrink();
    }

    /// Give memory back after a flood: a map whose capacity is far above its use is shrunk
    /// (amortised: it only happens after a large drop in use).
    fn shrink(&mut self) {
        fn fit<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
            if map.capacity() > 4096 && map.capacity() > 8 * map.len() {
                map.shrink_to(map.len() * 2);
            }
        }
        fit(&mut self.servers);
        fit(&mut self.server_keys);
        fit(&mut self.clients);
        fit(&mut self.client_keys);
        fit(&mut self.accepted);
        fit(&mut self.sent_acks);
    }

    /// A client request could not be started: tell its TU right away.
    pub(super) fn fail(&mut self, id: u64, error: TxError) {
        self.emit(Event::Failed {
            id: ClientId(id),
            error,
        });
    }

    /// Cancel a slot's timer and arm it again at `at` (None: leave it disarmed).
    pub(super) fn rearm(
        &mut self,
        current: Option<TimerKey>,
        at: Option<Instant>,
        target: Target,
    ) -> Option<TimerKey> {
        self.timers.cancel(current);
        at.map(|at| self.timers.arm(at, target))
    }

    /// Slot helper for the transaction files.
    pub(super) fn slot_target(server: bool, id: u64, slot: Slot) -> Target {
        if server {
            Target::Server(id, slot)
        } else {
            Target::Client(id, slot)
        }
    }
}

/// Requests refused first under load: new REGISTERs and OPTIONS (a flood of them must not keep
/// calls and in-dialog requests out; their clients retry after the 503's Retry-After).
pub fn sheddable(req: &rsip::Request) -> bool {
    matches!(req.method, rsip::Method::Register | rsip::Method::Options)
}

/// `503 Service Unavailable` with `Retry-After` (and a To tag) for `req`.
pub(crate) fn service_unavailable(req: &rsip::Request, retry_after_secs: u32) -> Bytes {
    let tag = message::new_tag();
    let mut busy = response(req, 503, "Service Unavailable", Some(&tag));
    let retry_after = rsip::headers::RetryAfter::new(retry_after_secs.to_string());
    busy.headers.push(retry_after.into());
    Bytes::from(response_bytes(&busy))
}

/// A response with only a status code (see [`Input::Status`]).
fn bare_response(code: u16) -> rsip::Response {
    rsip::Response {
        status_code: code.into(),
        version: rsip::Version::V2,
        headers: rsip::Headers::default(),
        body: Vec::new(),
    }
}
