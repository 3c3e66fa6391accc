//! The core in virtual time: every timer fires when RFC 3261 says, checked as tables of virtual
//! instants. No sockets, no sleeps; a "clock" is an `Instant` the test advances.

use super::*;
use crate::endpoint::{Peer, Timers, TransportKind};
use crate::message::{fields, parse, response, response_bytes};
use std::time::{Duration, Instant};

const PEER_ADDR: &str = "127.0.0.1:5070";

fn udp() -> Peer {
    Peer {
        addr: PEER_ADDR.parse().expect("addr"),
        transport: TransportKind::Udp,
    }
}

fn tcp() -> Peer {
    Peer {
        transport: TransportKind::Tcp,
        ..udp()
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A core, a virtual clock and everything the core asked the driver to do, stamped with the
/// virtual time it happened at.
struct Harness {
    core: Core,
    t0: Instant,
    now: Instant,
    sent: Vec<(Duration, Bytes)>,
    events: Vec<(Duration, Event)>,
    routed: Vec<u16>,
    next_client: u64,
}

impl Harness {
    fn new() -> Self {
        Self::with(CoreConfig::single(Timers::default()))
    }

    fn with(cfg: CoreConfig) -> Self {
        let t0 = Instant::now();
        Harness {
            core: Core::new(cfg),
            t0,
            now: t0,
            sent: Vec::new(),
            events: Vec::new(),
            routed: Vec::new(),
            next_client: 0,
        }
    }

    fn elapsed(&self) -> Duration {
        self.now - self.t0
    }

    fn drain(&mut self) {
        while let Some(out) = self.core.poll_output() {
            let at = self.elapsed();
            match out {
                Output::Transmit { bytes, .. } => self.sent.push((at, bytes)),
                Output::Event(e) => self.events.push((at, e)),
                Output::Route { shard, .. } => self.routed.push(shard),
            }
        }
    }

    fn input(&mut self, input: Input<'_>) {
        self.core.handle_input(input, self.now);
        self.drain();
    }

    /// Move the clock to `t0 + at`, firing every timer on the way at its own instant.
    fn run_until(&mut self, at: Duration) {
        let end = self.t0 + at;
        while let Some(due) = self.core.poll_timeout().filter(|d| *d <= end) {
            self.now = due.max(self.now);
            self.input(Input::Timeout);
        }
        self.now = end;
    }

    fn receive(&mut self, peer: Peer, bytes: &[u8]) {
        self.input(Input::Received { peer, bytes });
    }

    /// Start a client transaction for `method` over `peer`; returns its id and the request.
    fn send_request(&mut self, method: rsip::Method, peer: Peer) -> (ClientId, rsip::Request) {
        self.next_client += 1;
        let id = ClientId(self.next_client);
        let branch = shard_branch(self.core.config().shard);
        let text = raw_request(method.to_string().as_str(), &branch, "c-client", 1);
        let bytes = Bytes::from(text);
        let req = as_request(&bytes);
        self.input(Input::Request {
            id,
            branch,
            method,
            bytes,
            peer,
        });
        (id, req)
    }

    /// Times at which something starting with `prefix` was sent.
    fn sent_times(&self, prefix: &str) -> Vec<Duration> {
        self.sent
            .iter()
            .filter(|(_, b)| b.starts_with(prefix.as_bytes()))
            .map(|(at, _)| *at)
            .collect()
    }

    /// The server transaction id of the last request handed to the TU.
    fn last_request(&self) -> (ServerId, rsip::Request) {
        self.events
            .iter()
            .rev()
            .find_map(|(_, e)| match e {
                Event::Request { id, request, .. } => Some((*id, request.clone())),
                _ => None,
            })
            .expect("a request reached the TU")
    }

    fn respond(&mut self, id: ServerId, req: &rsip::Request, code: u16) {
        let bytes = Bytes::from(response_bytes(&response(req, code, "", Some("tag"))));
        self.input(Input::Respond { id, code, bytes });
    }

    fn count(&self, pred: impl Fn(&Event) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| pred(e)).count()
    }
}

fn raw_request(method: &str, branch: &str, call_id: &str, seq: u32) -> Vec<u8> {
    format!(
        "{method} sip:bob@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {PEER_ADDR};branch={branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:raw@127.0.0.1>;tag=rawtag\r\nTo: <sip:bob@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: {seq} {method}\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn as_request(bytes: &[u8]) -> rsip::Request {
    match parse(bytes) {
        Ok(rsip::SipMessage::Request(r)) => r,
        other => panic!("not a request: {other:?}"),
    }
}

fn reply_to(req: &rsip::Request, code: u16) -> Vec<u8> {
    response_bytes(&response(req, code, "", Some("peer-tag")))
}

fn secs_ms(list: &[u64]) -> Vec<Duration> {
    list.iter().map(|n| ms(*n)).collect()
}

#[test]
fn client_retransmissions_and_timeouts_a_b_e_f() {
    // (method, transport, request send times, moment Timer B/F reports the timeout)
    let cases: [(rsip::Method, Peer, Vec<u64>, u64); 4] = [
        // Timer A doubles without a cap: 0, T1, 3T1, 7T1, 15T1, 31T1, 63T1.
        (
            rsip::Method::Invite,
            udp(),
            vec![0, 500, 1500, 3500, 7500, 15500, 31500],
            32_000,
        ),
        // Timer E doubles up to T2 (4 s), then stays there.
        (
            rsip::Method::Options,
            udp(),
            vec![
                0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
            ],
            32_000,
        ),
        // No retransmission over TCP; B and F still run.
        (rsip::Method::Invite, tcp(), vec![0], 32_000),
        (rsip::Method::Register, tcp(), vec![0], 32_000),
    ];
    for (method, peer, sends, timeout) in cases {
        let mut h = Harness::new();
        let (id, _) = h.send_request(method, peer);
        h.run_until(ms(60_000));
        let prefix = format!("{method} ");
        assert_eq!(h.sent_times(&prefix), secs_ms(&sends), "{method} {peer:?}");
        let failed: Vec<_> = h
            .events
            .iter()
            .filter_map(|(at, e)| match e {
                Event::Failed {
                    id: i,
                    error: TxError::Timeout,
                } if *i == id => Some(*at),
                _ => None,
            })
            .collect();
        assert_eq!(failed, vec![ms(timeout)], "{method} {peer:?}");
        assert_eq!(h.core.live_transactions(), 0);
        assert_eq!(h.core.poll_timeout(), None, "no timer left behind");
    }
}

#[test]
fn non_invite_client_retransmits_at_t2_once_proceeding() {
    let mut h = Harness::new();
    let (_, req) = h.send_request(rsip::Method::Register, udp());
    h.run_until(ms(600)); // sends at 0 and 500
    h.receive(udp(), &reply_to(&req, 100));
    h.run_until(ms(9_000));
    assert_eq!(
        h.sent_times("REGISTER "),
        secs_ms(&[0, 500, 4600, 8600]),
        "after a 1xx Timer E fires every T2"
    );
}

#[test]
fn client_completed_state_lasts_d_or_k_and_re_acks() {
    // (method, transport, final code, how long the transaction absorbs retransmitted finals)
    let cases = [
        (rsip::Method::Invite, udp(), 486, 32_000), // Timer D = 64·T1 here
        (rsip::Method::Invite, tcp(), 486, 0),
        (rsip::Method::Options, udp(), 200, 5_000), // Timer K = T4
        (rsip::Method::Options, tcp(), 200, 0),
    ];
    for (method, peer, code, linger) in cases {
        let mut h = Harness::new();
        let (id, req) = h.send_request(method, peer);
        h.run_until(ms(1000));
        let final_bytes = reply_to(&req, code);
        h.receive(peer, &final_bytes);
        let finals = h.count(|e| matches!(e, Event::Response { id: i, .. } if *i == id));
        assert_eq!(finals, 1, "{method} {peer:?}");
        let invite = method == rsip::Method::Invite;
        assert_eq!(h.sent_times("ACK ").len(), usize::from(invite), "{method}");
        if linger == 0 {
            assert_eq!(
                h.core.live_transactions(),
                0,
                "{method} {peer:?} ends at once"
            );
            continue;
        }
        // A retransmitted final in Completed: ACKed again (INVITE), never reported twice.
        h.run_until(ms(1000 + linger - 1));
        h.receive(peer, &final_bytes);
        assert_eq!(h.sent_times("ACK ").len(), 2 * usize::from(invite));
        assert_eq!(h.core.live_transactions(), 1, "{method} still Completed");
        h.run_until(ms(1000 + linger));
        assert_eq!(
            h.core.live_transactions(),
            0,
            "{method} ended at {linger} ms"
        );
        let reported = h.count(|e| matches!(e, Event::Response { .. }));
        assert_eq!(reported, 1);
        assert!(h.count(|e| matches!(e, Event::Failed { .. })) == 0);
    }
}

#[test]
fn past_the_shedding_mark_a_completed_non_invite_skips_timer_k() {
    // Cap 8, shedding mark 6. (requests in flight, live once all are answered in order: below
    // the mark each stays Completed for Timer K; from the mark on each ends at once, so the
    // table drains to just under the mark)
    let cases = [(3, 3), (5, 5), (6, 5), (8, 5)];
    for (sent, live_after) in cases {
        let mut cfg = CoreConfig::single(Timers::default());
        cfg.max_transactions = 8;
        let mut h = Harness::with(cfg);
        let requests: Vec<_> = (0..sent)
            .map(|_| h.send_request(rsip::Method::Notify, udp()))
            .collect();
        for (_, req) in &requests {
            h.receive(udp(), &reply_to(req, 200));
        }
        assert_eq!(h.core.live_transactions(), live_after, "{sent} sent");
        let finals = h.count(|e| matches!(e, Event::Response { .. }));
        assert_eq!(finals, sent, "every final reported once");
        // Whatever stayed ends with Timer K (T4); nothing fails.
        h.run_until(ms(5_000));
        assert_eq!(h.core.live_transactions(), 0);
        assert_eq!(h.count(|e| matches!(e, Event::Failed { .. })), 0);
    }
}

#[test]
fn non_2xx_ack_reuses_the_invite_branch_and_takes_the_to_tag() {
    let mut h = Harness::new();
    let (_, req) = h.send_request(rsip::Method::Invite, udp());
    h.receive(udp(), &reply_to(&req, 486));
    let (_, ack) = h
        .sent
        .iter()
        .find(|(_, b)| b.starts_with(b"ACK "))
        .expect("ACK");
    let ack = as_request(ack);
    assert_eq!(fields::top_branch(&ack), fields::top_branch(&req));
    assert_eq!(fields::to_tag(&ack).as_deref(), Some("peer-tag"));
    assert_eq!(fields::cseq(&ack), Some((1, rsip::Method::Ack)));
}

#[test]
fn server_invite_non_2xx_g_h_and_i() {
    // (transport, ACK at (ms) or never, response send times, end of the transaction)
    let cases: [(Peer, Option<u64>, Vec<u64>, u64); 4] = [
        // Timer G: T1, doubling, capped at T2; Timer H ends it at 64·T1 without ACK.
        (
            udp(),
            None,
            vec![
                100, 600, 1600, 3600, 7600, 11600, 15600, 19600, 23600, 27600, 31600,
            ],
            32_100,
        ),
        // ACK at 2 s: retransmissions stop, Timer I (T4) ends it 5 s later.
        (udp(), Some(2000), vec![100, 600, 1600], 7_000),
        // TCP: no Timer G; Timer I is zero, so the ACK ends it.
        (tcp(), Some(2000), vec![100], 2_000),
        (tcp(), None, vec![100], 32_100),
    ];
    for (peer, ack_at, sends, end) in cases {
        let mut h = Harness::new();
        let invite = raw_request("INVITE", "z9hG4bKinv", "c-inv", 1);
        h.receive(peer, &invite);
        let (id, req) = h.last_request();
        h.run_until(ms(100));
        h.respond(id, &req, 486);
        if let Some(at) = ack_at {
            h.run_until(ms(at));
            assert_eq!(
                h.core.live_transactions(),
                1,
                "{peer:?} alive until the ACK"
            );
            h.receive(peer, &raw_request("ACK", "z9hG4bKinv", "c-inv", 1));
            assert_eq!(
                h.count(|e| matches!(e, Event::Ack { .. })),
                0,
                "the ACK of a non-2xx stays in the transaction"
            );
        }
        if end > ack_at.unwrap_or(0) {
            h.run_until(ms(end - 1));
            assert_eq!(h.core.live_transactions(), 1, "{peer:?} {ack_at:?} alive");
        }
        h.run_until(ms(end));
        assert_eq!(h.core.live_transactions(), 0, "{peer:?} {ack_at:?} ended");
        assert_eq!(h.sent_times("SIP/2.0 486"), secs_ms(&sends), "{peer:?}");
        assert_eq!(
            h.count(|e| matches!(e, Event::InviteEnded { id: i } if *i == id)),
            1
        );
    }
}

#[test]
fn server_invite_gets_100_trying_after_200_ms_unless_the_tu_answers() {
    let cases = [(None, vec![200]), (Some(150), vec![])];
    for (tu_answers_at, trying) in cases {
        let mut h = Harness::new();
        h.receive(udp(), &raw_request("INVITE", "z9hG4bK1", "c-1", 1));
        let (id, req) = h.last_request();
        if let Some(at) = tu_answers_at {
            h.run_until(ms(at));
            h.respond(id, &req, 180);
        }
        h.run_until(ms(1000));
        assert_eq!(h.sent_times("SIP/2.0 100"), secs_ms(&trying));
        // A retransmitted INVITE gets the latest provisional again.
        h.receive(udp(), &raw_request("INVITE", "z9hG4bK1", "c-1", 1));
        let provisionals = h.sent_times("SIP/2.0 1").len();
        assert_eq!(provisionals, 2, "{tu_answers_at:?}");
        assert_eq!(h.count(|e| matches!(e, Event::Request { .. })), 1);
    }
}

#[test]
fn uas_core_retransmits_2xx_until_ack_then_timer_l() {
    // (ACK at, 200 send times, transport)
    let cases: [(Option<u64>, Vec<u64>, Peer); 3] = [
        (Some(4000), vec![0, 500, 1500, 3500], udp()),
        (
            None,
            vec![
                0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
            ],
            udp(),
        ),
        (Some(4000), vec![0], tcp()),
    ];
    for (ack_at, sends, peer) in cases {
        let mut h = Harness::new();
        h.receive(peer, &raw_request("INVITE", "z9hG4bKi2", "c-2xx", 5));
        let (id, req) = h.last_request();
        h.respond(id, &req, 200);
        if let Some(at) = ack_at {
            h.run_until(ms(at));
            // The ACK for a 2xx is its own transaction: new branch, matched by Call-ID + CSeq.
            h.receive(peer, &raw_request("ACK", "z9hG4bKack", "c-2xx", 5));
            assert_eq!(h.count(|e| matches!(e, Event::Ack { .. })), 1);
            // A late INVITE retransmission is absorbed in Accepted.
            h.receive(peer, &raw_request("INVITE", "z9hG4bKi2", "c-2xx", 5));
        }
        h.run_until(ms(31_999));
        assert_eq!(h.core.live_transactions(), 1, "Accepted until Timer L");
        h.run_until(ms(40_000));
        assert_eq!(h.sent_times("SIP/2.0 200"), secs_ms(&sends), "{ack_at:?}");
        assert_eq!(h.core.live_transactions(), 0);
        assert_eq!(h.count(|e| matches!(e, Event::Request { .. })), 1);
    }
}

#[test]
fn server_non_invite_timer_j_and_retransmitted_requests() {
    // (transport, end of the transaction after the final at 1 s)
    let cases = [(udp(), 33_000), (tcp(), 1_000)];
    for (peer, end) in cases {
        let mut h = Harness::new();
        let req_bytes = raw_request("OPTIONS", "z9hG4bKo", "c-o", 1);
        h.receive(peer, &req_bytes);
        let (id, req) = h.last_request();
        h.receive(peer, &req_bytes);
        assert!(h.sent.is_empty(), "absorbed while the TU works");
        h.run_until(ms(1000));
        h.respond(id, &req, 200);
        if end > 1000 {
            h.run_until(ms(20_000));
            h.receive(peer, &req_bytes);
            assert_eq!(h.sent_times("SIP/2.0 200"), secs_ms(&[1000, 20_000]));
        }
        h.run_until(ms(end - 1).max(ms(1000)));
        assert_eq!(h.core.live_transactions(), usize::from(end > 1000));
        h.run_until(ms(end));
        assert_eq!(h.core.live_transactions(), 0, "{peer:?}");
        assert_eq!(h.count(|e| matches!(e, Event::Request { .. })), 1);
    }
}

#[test]
fn silent_tu_on_non_invite_is_forgotten_after_64_t1() {
    let mut h = Harness::new();
    h.receive(udp(), &raw_request("OPTIONS", "z9hG4bKs", "c-s", 1));
    h.run_until(ms(31_999));
    assert_eq!(h.core.live_transactions(), 1);
    h.run_until(ms(32_000));
    assert_eq!(h.core.live_transactions(), 0);
    let (id, req) = h.last_request();
    h.respond(id, &req, 200);
    assert!(
        h.sent.is_empty(),
        "a late answer has no transaction to go to"
    );
}

#[test]
fn cancel_matches_the_invite_and_487_is_acked_in_the_transaction() {
    let mut h = Harness::new();
    h.receive(udp(), &raw_request("INVITE", "z9hG4bKc", "c-c", 1));
    let (id, req) = h.last_request();
    h.respond(id, &req, 180);
    h.receive(udp(), &raw_request("CANCEL", "z9hG4bKc", "c-c", 1));
    assert_eq!(h.sent_times("SIP/2.0 200").len(), 1, "CANCEL answered 200");
    assert_eq!(
        h.count(|e| matches!(e, Event::Cancelled { id: i } if *i == id)),
        1
    );
    assert_eq!(
        h.count(|e| matches!(e, Event::Request { .. })),
        1,
        "the CANCEL itself never reaches the TU"
    );
    h.respond(id, &req, 487);
    h.receive(udp(), &raw_request("ACK", "z9hG4bKc", "c-c", 1));
    assert_eq!(h.count(|e| matches!(e, Event::Ack { .. })), 0);
    // A retransmitted CANCEL gets its 200 again; a CANCEL after the final is not reported.
    h.receive(udp(), &raw_request("CANCEL", "z9hG4bKc", "c-c", 1));
    assert_eq!(h.sent_times("SIP/2.0 200").len(), 2);
    assert_eq!(h.count(|e| matches!(e, Event::Cancelled { .. })), 1);
    // An unknown INVITE: 481.
    h.receive(udp(), &raw_request("CANCEL", "z9hG4bKnone", "c-x", 1));
    assert_eq!(h.sent_times("SIP/2.0 481").len(), 1);
}

#[test]
fn a_cancel_that_crosses_the_2xx_is_reported_until_the_ack() {
    let mut h = Harness::new();
    h.receive(udp(), &raw_request("INVITE", "z9hG4bKx", "c-x2", 1));
    let (id, req) = h.last_request();
    h.respond(id, &req, 200);
    h.receive(udp(), &raw_request("CANCEL", "z9hG4bKx", "c-x2", 1));
    assert_eq!(
        h.count(|e| matches!(e, Event::Cancelled { id: i } if *i == id)),
        1,
        "2xx not ACKed: the caller gave up"
    );
    h.receive(udp(), &raw_request("ACK", "z9hG4bKx2", "c-x2", 1));
    h.receive(udp(), &raw_request("CANCEL", "z9hG4bKx", "c-x2", 1));
    assert_eq!(
        h.count(|e| matches!(e, Event::Cancelled { .. })),
        1,
        "after the ACK a CANCEL is not reported"
    );
}

#[test]
fn cancelled_client_invite_gives_the_final_64_t1() {
    let mut h = Harness::new();
    let (id, req) = h.send_request(rsip::Method::Invite, udp());
    h.receive(udp(), &reply_to(&req, 180));
    h.run_until(ms(10_000));
    let branch = fields::top_branch(&req).expect("branch");
    let cancel = raw_request("CANCEL", &branch, "c-client", 1);
    h.next_client += 1;
    h.input(Input::Request {
        id: ClientId(h.next_client),
        branch,
        method: rsip::Method::Cancel,
        bytes: Bytes::from(cancel),
        peer: udp(),
    });
    h.run_until(ms(10_000 + 31_999));
    assert_eq!(
        h.count(|e| matches!(e, Event::Failed { id: i, .. } if *i == id)),
        0
    );
    h.run_until(ms(10_000 + 32_000));
    assert_eq!(
        h.count(|e| matches!(e, Event::Failed { id: i, error: TxError::Timeout } if *i == id)),
        1
    );
}

#[test]
fn uac_core_re_acks_a_retransmitted_2xx() {
    let mut h = Harness::new();
    let (id, req) = h.send_request(rsip::Method::Invite, udp());
    let ok = reply_to(&req, 200);
    h.receive(udp(), &ok);
    assert_eq!(
        h.count(|e| matches!(e, Event::Response { id: i, .. } if *i == id)),
        1
    );
    assert_eq!(
        h.core.live_transactions(),
        0,
        "a 2xx ends the INVITE client transaction"
    );
    let ack = Bytes::from_static(b"ACK sip:bob@127.0.0.1 SIP/2.0\r\n\r\n");
    h.input(Input::Ack {
        call_id: "c-client".into(),
        seq: 1,
        bytes: ack.clone(),
        peer: udp(),
    });
    h.receive(udp(), &ok);
    h.receive(udp(), &ok);
    assert_eq!(h.sent_times("ACK ").len(), 3);
    assert_eq!(
        h.count(|e| matches!(e, Event::Response { .. })),
        1,
        "reported once"
    );
    h.run_until(ms(32_000));
    h.receive(udp(), &ok);
    assert_eq!(h.sent_times("ACK ").len(), 3, "forgotten after 64·T1");
}

#[test]
fn stateless_answer_keeps_nothing_and_a_retransmission_reaches_the_tu_again() {
    let mut h = Harness::new();
    let register = raw_request("REGISTER", "z9hG4bKreg", "c-reg", 1);
    h.receive(udp(), &register);
    let (id, req) = h.last_request();
    let challenge = Bytes::from(reply_to(&req, 401));
    h.input(Input::RespondStateless {
        id,
        bytes: challenge,
    });
    assert_eq!(h.sent_times("SIP/2.0 401").len(), 1);
    assert_eq!(h.core.live_transactions(), 0);
    assert_eq!(h.core.poll_timeout(), None, "no timer either");
    h.receive(udp(), &register);
    assert_eq!(h.count(|e| matches!(e, Event::Request { .. })), 2);
}

#[test]
fn past_the_cap_requests_get_a_stateless_503_with_retry_after() {
    let mut cfg = CoreConfig::single(Timers::default());
    cfg.max_transactions = 2;
    cfg.retry_after_secs = 7;
    let mut h = Harness::with(cfg);
    for i in 0..4 {
        h.receive(
            udp(),
            &raw_request("REGISTER", &format!("z9hG4bK{i}"), "c", i),
        );
    }
    assert_eq!(h.count(|e| matches!(e, Event::Request { .. })), 2);
    let busy: Vec<_> = h
        .sent
        .iter()
        .filter(|(_, b)| b.starts_with(b"SIP/2.0 503"))
        .collect();
    assert_eq!(busy.len(), 2);
    assert!(String::from_utf8_lossy(&busy[0].1).contains("Retry-After: 7\r\n"));
    assert_eq!(h.core.rejected(), 2);
    assert_eq!(h.core.live_transactions(), 2);
    // An ACK is never answered, even past the cap; a client request fails instead of growing.
    h.receive(udp(), &raw_request("ACK", "z9hG4bKa", "c", 9));
    let (id, _) = h.send_request(rsip::Method::Options, udp());
    assert_eq!(
        h.count(|e| matches!(e, Event::Failed { id: i, error: TxError::Transport(_) } if *i == id)),
        1
    );
    assert_eq!(h.sent_times("SIP/2.0 503").len(), 2);
}

#[test]
fn a_reused_branch_from_another_sent_by_is_a_new_transaction() {
    // RFC 3261 §17.2.3: branch + sent-by + method. Same sent-by (any spacing/case): absorbed.
    let first = raw_request("OPTIONS", "z9hG4bKsame", "c-s", 1);
    let text = String::from_utf8_lossy(&first).to_string();
    let cases = [
        (PEER_ADDR.to_string(), 1),
        ("127.0.0.1 : 5070".to_string(), 1),
        ("127.0.0.9:5070".to_string(), 2),
        ("127.0.0.1:5071".to_string(), 2),
    ];
    for (sent_by, requests) in cases {
        let mut h = Harness::new();
        h.receive(udp(), &first);
        let other = text.replace(&format!("UDP {PEER_ADDR};"), &format!("UDP {sent_by};"));
        h.receive(udp(), other.as_bytes());
        let got = h.count(|e| matches!(e, Event::Request { .. }));
        assert_eq!(got, requests, "{sent_by}");
    }
}

#[test]
fn garbage_gets_400_or_501_and_noise_nothing() {
    let cases: [(&[u8], Option<&str>); 4] = [
        (
            b"OPTIONS sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: banana OPTIONS\r\n\r\n",
            Some("SIP/2.0 400 "),
        ),
        (
            b"FROB sip:b@h SIP/2.0\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: x\r\nCSeq: 1 FROB\r\n\r\n",
            Some("SIP/2.0 501 "),
        ),
        (b"\x16\x03\x01 not sip", None),
        (b"\r\n\r\n", None),
    ];
    for (bytes, reply) in cases {
        let mut h = Harness::new();
        h.receive(udp(), bytes);
        let sent: Vec<String> = h
            .sent
            .iter()
            .map(|(_, b)| String::from_utf8_lossy(b).to_string())
            .collect();
        match reply {
            Some(prefix) => assert!(sent.len() == 1 && sent[0].starts_with(prefix), "{sent:?}"),
            None => assert!(sent.is_empty(), "{sent:?}"),
        }
        assert_eq!(h.core.live_transactions(), 0);
    }
}

#[test]
fn responses_for_another_shard_are_routed_there() {
    let mut cfg = CoreConfig::single(Timers::default());
    cfg.shards = 2;
    let mut h = Harness::with(cfg);
    let other = shard_branch(1);
    let req = as_request(&raw_request("OPTIONS", &other, "c-r", 1));
    h.receive(udp(), &reply_to(&req, 200));
    assert_eq!(h.routed, vec![1]);
    // Our own shard's branch, or a foreign shard number we do not have: handled here.
    let (_, mine) = h.send_request(rsip::Method::Options, udp());
    h.receive(udp(), &reply_to(&mine, 200));
    assert_eq!(h.routed, vec![1]);
    assert_eq!(h.count(|e| matches!(e, Event::Response { .. })), 1);
    let foreign = as_request(&raw_request("OPTIONS", &shard_branch(9), "c-r", 1));
    h.receive(udp(), &reply_to(&foreign, 200));
    assert_eq!(h.routed, vec![1]);
}

#[test]
fn transport_error_fails_a_calling_transaction() {
    let mut h = Harness::new();
    let (id, _) = h.send_request(rsip::Method::Register, tcp());
    h.input(Input::TransportError {
        id,
        reason: "refused".into(),
    });
    assert_eq!(
        h.count(|e| matches!(e, Event::Failed { id: i, error: TxError::Transport(_) } if *i == id)),
        1
    );
    assert_eq!(h.core.live_transactions(), 0);
    assert_eq!(h.core.poll_timeout(), None);
}

/// Issue 7: a source's REGISTERs and OPTIONS are refused at 3/4 of its cap, so that its BYEs
/// (a call's end) still get through while it floods registrations.
#[test]
fn a_source_flooding_registers_keeps_room_for_its_byes() {
    let mut cfg = CoreConfig::single(Timers::default());
    cfg.max_per_source = 4;
    let mut h = Harness::with(cfg);
    let requests = |h: &Harness| h.count(|e| matches!(e, Event::Request { .. }));
    // (method, reaches the TU): three REGISTERs fill 3/4 of the cap; the fourth and an OPTIONS
    // are refused, a BYE takes the last slot, and past the cap a BYE is refused too.
    let steps: [(&str, bool); 7] = [
        ("REGISTER", true),
        ("REGISTER", true),
        ("REGISTER", true),
        ("REGISTER", false),
        ("OPTIONS", false),
        ("BYE", true),
        ("BYE", false),
    ];
    for (i, (method, served)) in steps.into_iter().enumerate() {
        let before = requests(&h);
        let branch = format!("z9hG4bKflood{i}");
        h.receive(udp(), &raw_request(method, &branch, &format!("f{i}"), 1));
        assert_eq!(
            requests(&h) - before,
            usize::from(served),
            "step {i}: {method}"
        );
        if served {
            let (id, req) = h.last_request();
            h.respond(id, &req, 200);
        }
    }
    assert_eq!(h.sent_times("SIP/2.0 503").len(), 3);
}

/// Issue 11 §4: one source IP holds at most `max_per_source` live non-INVITE server
/// transactions; past it its new requests get the stateless 503 with Retry-After, while another
/// address, an INVITE and a CANCEL still get through; when Timer J ends the source's
/// transactions it is served again.
#[test]
fn one_source_is_capped_on_live_non_invite_transactions() {
    let mut cfg = CoreConfig::single(Timers::default());
    cfg.max_per_source = 2;
    cfg.retry_after_secs = 9;
    let mut h = Harness::with(cfg);
    let other = Peer {
        addr: "127.0.0.2:5070".parse().expect("addr"),
        transport: TransportKind::Udp,
    };
    let requests = |h: &Harness| h.count(|e| matches!(e, Event::Request { .. }));
    // (from, method, reaches the TU)
    let steps: [(Peer, &str, bool); 6] = [
        (udp(), "MESSAGE", true),
        (udp(), "SUBSCRIBE", true),
        (udp(), "MESSAGE", false),
        (other, "MESSAGE", true),
        (udp(), "INVITE", true),
        (udp(), "BYE", false),
    ];
    for (i, (peer, method, served)) in steps.into_iter().enumerate() {
        let before = requests(&h);
        let branch = format!("z9hG4bKcap{i}");
        h.receive(peer, &raw_request(method, &branch, &format!("c{i}"), 1));
        assert_eq!(
            requests(&h) - before,
            usize::from(served),
            "step {i}: {method}"
        );
        if served && method != "INVITE" {
            let (id, req) = h.last_request();
            h.respond(id, &req, 200);
        }
    }
    let busy = h.sent_times("SIP/2.0 503");
    assert_eq!(busy.len(), 2);
    assert!(h
        .sent
        .iter()
        .any(|(_, b)| String::from_utf8_lossy(b).contains("Retry-After: 9\r\n")));
    // A CANCEL of the source's INVITE is never capped.
    h.receive(udp(), &raw_request("CANCEL", "z9hG4bKcap4", "c4", 1));
    assert_eq!(
        h.sent_times("SIP/2.0 200").len(),
        4,
        "three 200s and the CANCEL's"
    );
    // Timer J (64 T1 over UDP) ends the answered transactions: the source is served again.
    h.run_until(ms(33_000));
    let before = requests(&h);
    h.receive(udp(), &raw_request("MESSAGE", "z9hG4bKcap9", "c9", 1));
    assert_eq!(requests(&h), before + 1);
    assert_eq!(h.sent_times("SIP/2.0 503").len(), 2);
}

mod outcomes;
