//! Tagged client transactions over real loopback UDP: the caller's bytes go out with the
//! endpoint's Via, a retransmission is the same datagram, and only the final outcome reaches the
//! shared queue, with its tag.

use crate::common::*;
use agentphone_sip::endpoint::{Outcome, TaggedRefused, TxError};
use agentphone_sip::message::{self, response, to_bytes};
use agentphone_sip::rsip;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;

/// A NOTIFY to `to` written by hand around the Via the endpoint gives.
fn notify(to: SocketAddr, call_id: &str) -> impl FnOnce(&str) -> Vec<u8> + '_ {
    move |via| {
        format!(
            "NOTIFY sip:bob@{to} SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nFrom: <sip:dir@127.0.0.1>;tag=a\r\nTo: <sip:bob@{to}>;tag=b\r\nCall-ID: {call_id}\r\nCSeq: 2 NOTIFY\r\nEvent: x\r\nSubscription-State: active;expires=60\r\nContent-Length: 2\r\n\r\n{{}}"
        )
        .into_bytes()
    }
}

#[tokio::test]
async fn tagged_outcomes_arrive_on_the_shared_queue() {
    let (a, _a_in) = endpoint().await;
    let raw = RawPeer::new().await;
    let (queue, mut outcomes) = mpsc::channel::<Outcome>(2);
    for (tag, call_id) in [(11, "c-1"), (12, "c-2")] {
        let sent = a.request_tagged(
            call_id,
            rsip::Method::Notify,
            udp(raw.addr()),
            notify(raw.addr(), call_id),
            tag,
            &queue,
        );
        assert_eq!(sent, Ok(()));
    }
    // Two places, two in flight: a third is refused before it is sent.
    let third = a.request_tagged(
        "c-3",
        rsip::Method::Notify,
        udp(raw.addr()),
        notify(raw.addr(), "c-3"),
        13,
        &queue,
    );
    assert_eq!(third, Err(TaggedRefused::QueueFull));
    let invite = a.request_tagged(
        "c-4",
        rsip::Method::Invite,
        udp(raw.addr()),
        notify(raw.addr(), "c-4"),
        14,
        &queue,
    );
    assert_eq!(invite, Err(TaggedRefused::Method));

    // c-1: 100 (not reported), then 481. c-2: its first copy "lost", the retransmission 200.
    let mut first_c2 = None;
    let mut answered = 0;
    while answered < 2 {
        let (bytes, from) = raw.recv().await;
        let req = as_request(message::parse(&bytes).expect("a NOTIFY that parses"));
        let via = message::header_value(&req.clone().into(), "Via").expect("via");
        assert!(
            via.starts_with(&format!("SIP/2.0/UDP {};branch=z9hG4bK", a.local_addr())),
            "{via}"
        );
        assert_eq!(req.body, b"{}");
        match message::call_id(&req.clone().into()).as_deref() {
            Some("c-1") => {
                raw.send(&to_bytes(&response(&req, 100, "", None).into()), from)
                    .await;
                raw.send(&to_bytes(&response(&req, 481, "", Some("t")).into()), from)
                    .await;
                answered += 1;
            }
            Some("c-2") => match &first_c2 {
                None => first_c2 = Some(bytes),
                Some(first) => {
                    assert_eq!(first, &bytes, "a retransmission is the same datagram");
                    raw.send(&to_bytes(&response(&req, 200, "", Some("t")).into()), from)
                        .await;
                    answered += 1;
                }
            },
            other => panic!("unexpected request {other:?}"),
        }
    }
    let mut got = Vec::new();
    for _ in 0..2 {
        let Outcome { tag, result } = within("outcome", outcomes.recv()).await.expect("open");
        got.push((tag, result.ok()));
    }
    got.sort();
    assert_eq!(got, vec![(11, Some(481)), (12, Some(200))]);
}

#[tokio::test]
async fn tagged_request_to_a_silent_peer_times_out() {
    let (a, _a_in) = endpoint().await;
    let raw = RawPeer::new().await;
    let (queue, mut outcomes) = mpsc::channel::<Outcome>(1);
    let peer = udp(raw.addr());
    let sent = a.request_tagged(
        "c-9",
        rsip::Method::Notify,
        peer,
        notify(raw.addr(), "c-9"),
        9,
        &queue,
    );
    assert_eq!(sent, Ok(()));
    let Outcome { tag, result } = within("timeout", outcomes.recv()).await.expect("open");
    assert_eq!(tag, 9);
    assert!(matches!(result, Err(TxError::Timeout)), "{result:?}");
    // After shutdown: a transport error at once.
    a.shutdown();
    let sent = a.request_tagged(
        "c-9",
        rsip::Method::Notify,
        peer,
        notify(raw.addr(), "c-9"),
        10,
        &queue,
    );
    assert_eq!(sent, Ok(()));
    let Outcome { tag, result } = within("refusal", outcomes.recv()).await.expect("open");
    assert_eq!(tag, 10);
    assert!(matches!(result, Err(TxError::Transport(_))), "{result:?}");
}

/// A burst's datagrams leave together when it ends (one `sendmmsg` per shard), each in its own
/// transaction: every peer gets its NOTIFYs in order, an unanswered one is retransmitted by
/// Timer E as the same datagram, and each outcome comes back with its tag.
#[tokio::test]
async fn a_burst_goes_out_when_it_ends_and_each_transaction_runs_as_usual() {
    let (a, _a_in) = endpoint().await;
    let peers = [RawPeer::new().await, RawPeer::new().await];
    let (queue, mut outcomes) = mpsc::channel::<Outcome>(16);
    let mut burst = a.tagged_burst();
    for tag in 0..8u64 {
        let to = peers[usize::from(tag % 2 == 1)].addr();
        let call_id = format!("c-{tag}");
        let sent = burst.request_tagged(
            (&call_id, rsip::Method::Notify, udp(to)),
            notify(to, &call_id),
            tag,
            &queue,
        );
        assert_eq!(sent, Ok(()));
    }
    // Shorter than T1 (20 ms here): no retransmission can come meanwhile.
    let early = peers[0].recv_within(Duration::from_millis(5)).await;
    assert!(early.is_none(), "held until the burst ends");
    drop(burst);
    for (p, peer) in peers.iter().enumerate() {
        // First copies in order; the first NOTIFY goes unanswered until Timer E sends it again
        // (other retransmissions crossing our answers are skipped).
        let silent = format!("c-{p}");
        let (mut call_ids, mut first_silent, mut answered) = (Vec::new(), None, 0);
        let mut silent_done = false;
        while answered < 4 {
            let (bytes, from) = peer.recv().await;
            let req = as_request(message::parse(&bytes).expect("a NOTIFY that parses"));
            let call_id = message::call_id(&req.clone().into()).expect("call-id");
            if call_id == silent && first_silent.is_none() {
                first_silent = Some(bytes);
                call_ids.push(call_id);
                continue;
            }
            if call_id == silent {
                if silent_done {
                    continue;
                }
                silent_done = true;
                assert_eq!(
                    first_silent.as_deref(),
                    Some(&bytes[..]),
                    "the same datagram"
                );
            } else if call_ids.contains(&call_id) {
                continue;
            } else {
                call_ids.push(call_id);
            }
            raw_answer(peer, &req, from).await;
            answered += 1;
        }
        let want: Vec<String> = (0..8)
            .filter(|t| t % 2 == p)
            .map(|t| format!("c-{t}"))
            .collect();
        assert_eq!(call_ids, want, "peer {p}: in order");
    }
    let mut tags = Vec::new();
    for _ in 0..8 {
        let Outcome { tag, result } = within("outcome", outcomes.recv()).await.expect("open");
        assert_eq!(result.ok(), Some(200));
        tags.push(tag);
    }
    tags.sort_unstable();
    assert_eq!(tags, (0..8).collect::<Vec<_>>());
}

async fn raw_answer(peer: &RawPeer, req: &rsip::Request, from: SocketAddr) {
    peer.send(&to_bytes(&response(req, 200, "", Some("t")).into()), from)
        .await;
}
