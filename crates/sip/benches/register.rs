//! REGISTER handling cost: parse alone (baseline) vs. the whole server-side path: parse, extract
//! headers, check the nonce, verify digest credentials, build the 200 and serialise it; and
//! REGISTER datagrams through the sans-IO transaction core (no sockets): answered statelessly
//! (a 401 challenge) or in a transaction kept for Timer J. Throughput is in requests/s.

use agentphone_sip::auth::{Algorithm, Challenge, Credentials, NonceCheck, NonceIssuer};
use agentphone_sip::core::{Core, CoreConfig, Event, Input, Output};
use agentphone_sip::endpoint::{Peer, Timers, TransportKind};
use agentphone_sip::message::{self, parse, response, to_bytes};
use agentphone_sip::rsip;
use agentphone_sip::rsip::headers::UntypedHeader;
use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::time::{Duration, Instant};

fn register_bytes(issuer: &NonceIssuer) -> Vec<u8> {
    register_with_branch(issuer, "z9hG4bKdccaa4419ba36e9e")
}

fn register_with_branch(issuer: &NonceIssuer, branch: &str) -> Vec<u8> {
    let ch = Challenge {
        realm: "agentphone".into(),
        nonce: issuer.issue(),
        algorithm: Algorithm::Sha256,
        opaque: None,
        qop_auth: true,
        stale: false,
    };
    let creds = Credentials::answer(&ch, "alice", "secret", "REGISTER", "sip:10.0.0.1", 1);
    format!(
        "REGISTER sip:10.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5070;branch={branch};rport\r\n\
         Contact: <sip:alice@10.0.0.2:5070>;expires=300\r\n\
         Max-Forwards: 70\r\n\
         Authorization: {}\r\n\
         To: <sip:alice@10.0.0.1>\r\n\
         From: <sip:alice@10.0.0.1>;tag=100e3ce8f0f46d36\r\n\
         Call-ID: 642198b9c3f1f6d4\r\n\
         CSeq: 60298 REGISTER\r\n\
         User-Agent: baresip v1.0.0 (x86_64/linux)\r\n\
         Expires: 300\r\n\
         Content-Length: 0\r\n\r\n",
        creds.to_header_value(),
    )
    .into_bytes()
}

/// What the registrar does with one REGISTER; returns the bytes to send.
fn handle(bytes: &[u8], issuer: &NonceIssuer) -> Option<Vec<u8>> {
    let msg = parse(bytes).ok()?;
    let _call_id = message::call_id(&msg)?;
    let _cseq = message::cseq(&msg)?;
    let aor = message::to_uri(&msg)?;
    let contact = message::contact_uri(&msg)?;
    let expires = message::header_value(&msg, "Expires").and_then(|e| e.parse::<u32>().ok())?;
    let creds = Credentials::parse(&message::header_value(&msg, "Authorization")?)?;
    if issuer.check(&creds.nonce) != NonceCheck::Valid || !creds.verify("REGISTER", "secret") {
        return None;
    }
    let rsip::SipMessage::Request(req) = msg else {
        return None;
    };
    let mut ok = response(&req, 200, "OK", Some("srvtag"));
    ok.headers
        .push(rsip::headers::Contact::new(format!("<{contact}>;expires={expires}")).into());
    ok.headers
        .push(rsip::headers::Expires::new(expires.to_string()).into());
    let _ = aor;
    Some(to_bytes(&ok.into()))
}

fn bench_register(c: &mut Criterion) {
    let issuer = NonceIssuer::new(Duration::from_secs(3600));
    let bytes = register_bytes(&issuer);
    assert!(
        handle(&bytes, &issuer).is_some(),
        "the bench request must be accepted"
    );
    let mut group = c.benchmark_group("register");
    group.bench_function("parse", |b| b.iter(|| parse(black_box(&bytes))));
    group.bench_function("parse_and_handle", |b| {
        b.iter(|| handle(black_box(&bytes), &issuer))
    });
    group.throughput(Throughput::Elements(1));
    let datagrams: Vec<Vec<u8>> = (0..RING)
        .map(|i| register_with_branch(&issuer, &format!("z9hG4bKbench{i:08x}")))
        .collect();
    let mut stateless = Driver::new(&datagrams);
    group.bench_function("core_stateless_401", |b| {
        b.iter(|| stateless.step(Answer::Stateless))
    });
    let mut stateful = Driver::new(&datagrams);
    group.bench_function("core_transaction_200", |b| {
        b.iter(|| stateful.step(Answer::InTransaction))
    });
    group.finish();
}

/// Distinct branches cycled through; with 1 ms of virtual time per request a branch comes back
/// after 65 s, past Timer J (32 s): every datagram is a new transaction, never a retransmission.
const RING: usize = 1 << 16;

enum Answer {
    Stateless,
    InTransaction,
}

/// A core fed one REGISTER per step at 1 000 requests per virtual second, answered by a TU that
/// replies with pre-built bytes (the TU's own work is measured by `parse_and_handle`).
struct Driver<'a> {
    core: Core,
    datagrams: &'a [Vec<u8>],
    reply: Bytes,
    next: usize,
    now: Instant,
    peer: Peer,
}

impl<'a> Driver<'a> {
    fn new(datagrams: &'a [Vec<u8>]) -> Self {
        let peer = Peer {
            addr: "10.0.0.2:5070".parse().expect("addr"),
            transport: TransportKind::Udp,
        };
        let mut cfg = CoreConfig::single(Timers::default());
        cfg.max_transactions = 1 << 20;
        let reply = Bytes::from_static(b"SIP/2.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
        Driver {
            core: Core::new(cfg),
            datagrams,
            reply,
            next: 0,
            now: Instant::now(),
            peer,
        }
    }

    fn step(&mut self, answer: Answer) -> usize {
        let bytes = &self.datagrams[self.next % self.datagrams.len()];
        self.next += 1;
        self.now += Duration::from_millis(1);
        let (core, now) = (&mut self.core, self.now);
        core.handle_input(Input::Timeout, now);
        core.handle_input(
            Input::Received {
                peer: self.peer,
                bytes,
            },
            now,
        );
        let mut sent = 0;
        while let Some(out) = core.poll_output() {
            match out {
                Output::Event(Event::Request { id, request, .. }) => {
                    black_box(request);
                    let bytes = self.reply.clone();
                    let input = match answer {
                        Answer::Stateless => Input::RespondStateless { id, bytes },
                        Answer::InTransaction => Input::Respond {
                            id,
                            code: 200,
                            bytes,
                        },
                    };
                    core.handle_input(input, now);
                }
                Output::Transmit { bytes, .. } => sent += bytes.len(),
                _ => {}
            }
        }
        sent
    }
}

criterion_group!(benches, bench_register);
criterion_main!(benches);
