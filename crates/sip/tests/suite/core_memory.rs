//! Memory per live transaction in the sans-IO core, measured with the test kit's counting
//! allocator (this thread's live bytes: the core runs on it alone), and the cap: past `max_transactions` the core answers 503 and its memory stops growing.

use agentphone_sip::core::{Core, CoreConfig, Event, Input, Output};
use agentphone_sip::endpoint::{Peer, Timers, TransportKind};
use agentphone_sip::message::{response, response_bytes};
use agentphone_sip::rsip;
use agentphone_sip::rsip::headers::UntypedHeader;
use agentphone_testkit::alloc::live_bytes;
use bytes::Bytes;
use std::time::Instant;

fn register(i: usize) -> Vec<u8> {
    format!(
        "REGISTER sip:10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bKmem{i:08};rport\r\nMax-Forwards: 70\r\nFrom: <sip:alice@10.0.0.1>;tag=100e3ce8f0f46d36\r\nTo: <sip:alice@10.0.0.1>\r\nCall-ID: mem-{i}\r\nCSeq: 2 REGISTER\r\nContact: <sip:alice@10.0.0.2:5070>;expires=300\r\nExpires: 300\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Feed `count` REGISTERs (new branches) and answer each 200 in its transaction (so each stays
/// in Completed for Timer J, holding its response for retransmissions). Returns 503s sent.
fn load(core: &mut Core, from: usize, count: usize, now: Instant) -> usize {
    let peer = Peer {
        addr: "10.0.0.2:5070".parse().expect("addr"),
        transport: TransportKind::Udp,
    };
    let mut busy = 0;
    for i in from..from + count {
        let bytes = register(i);
        core.handle_input(
            Input::Received {
                peer,
                bytes: &bytes,
            },
            now,
        );
        while let Some(out) = core.poll_output() {
            match out {
                Output::Event(Event::Request { id, request, .. }) => {
                    let mut ok = response(&request, 200, "OK", Some("srvtag"));
                    ok.headers.push(
                        rsip::headers::Contact::new("<sip:alice@10.0.0.2:5070>;expires=300").into(),
                    );
                    let bytes = Bytes::from(response_bytes(&ok));
                    core.handle_input(
                        Input::Respond {
                            id,
                            code: 200,
                            bytes,
                        },
                        now,
                    );
                }
                Output::Transmit { bytes, .. } if bytes.starts_with(b"SIP/2.0 503") => busy += 1,
                _ => {}
            }
        }
    }
    busy
}

fn invite(i: usize) -> Vec<u8> {
    String::from_utf8_lossy(&register(i))
        .replace("REGISTER", "INVITE")
        .replace("z9hG4bKmem", "z9hG4bKinv")
        .into_bytes()
}

/// Events and 503s from feeding one message.
fn feed(core: &mut Core, bytes: &[u8], now: Instant) -> (usize, usize) {
    let peer = Peer {
        addr: "10.0.0.2:5070".parse().expect("addr"),
        transport: TransportKind::Udp,
    };
    core.handle_input(Input::Received { peer, bytes }, now);
    let (mut requests, mut busy) = (0, 0);
    while let Some(out) = core.poll_output() {
        match out {
            Output::Event(Event::Request { .. }) => requests += 1,
            Output::Transmit { bytes, .. } if bytes.starts_with(b"SIP/2.0 503") => busy += 1,
            _ => {}
        }
    }
    (requests, busy)
}

#[test]
fn bytes_per_live_transaction_and_the_cap() {
    const N: usize = 20_000;
    // REGISTERs are shed first: they may fill 3/4 of the cap, the rest is kept for calls.
    const REGISTERS: usize = N - N / 4;
    let mut cfg = CoreConfig::single(Timers::default());
    cfg.max_transactions = N;
    let now = Instant::now();
    let mut core = Core::new(cfg);
    let before = live_bytes();
    assert_eq!(load(&mut core, 0, REGISTERS, now), 0);
    let used = live_bytes() - before;
    assert_eq!(core.live_transactions(), REGISTERS);
    let per_tx = used / REGISTERS as isize;
    println!("core memory: {per_tx} bytes per live non-INVITE server transaction (Completed, UDP, 200 OK of ~330 bytes kept for retransmissions)");
    assert!(per_tx < 2048, "{per_tx} bytes per transaction");

    // Past 3/4 of the cap: every new REGISTER is answered 503 and nothing is kept.
    let at_cap = live_bytes();
    assert_eq!(load(&mut core, N, N, now), N);
    let grown = live_bytes() - at_cap;
    println!("core memory: {grown} bytes grown over {N} REGISTERs past the cap");
    assert!(grown < 64 * 1024, "grew {grown} bytes past the cap");
    assert_eq!(core.rejected(), N as u64);

    // INVITEs still get the last quarter, then they are refused too.
    for i in 0..N / 4 {
        assert_eq!(feed(&mut core, &invite(i), now), (1, 0), "INVITE {i}");
    }
    assert_eq!(core.live_transactions(), N);
    assert_eq!(
        feed(&mut core, &invite(N), now),
        (0, 1),
        "INVITE past the cap"
    );

    // Timer J ends the REGISTER transactions; the memory comes back.
    core.handle_input(Input::Timeout, now + Timers::default().t1 * 64);
    assert_eq!(
        core.live_transactions(),
        N / 4,
        "the INVITEs wait for their answers"
    );
    let left = live_bytes() - before;
    println!("core memory: {left} bytes left after Timer J (maps shrunk back)");
}
