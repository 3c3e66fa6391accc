//! The endpoint over real loopback UDP: transactions, retransmissions, timers, CANCEL, 400s.

use crate::common::*;
use agentphone_sip::endpoint::{Endpoint, EndpointConfig, ServerTransaction, TxError};
use agentphone_sip::message::{self, response, to_bytes};
use agentphone_sip::rsip;
use std::net::SocketAddr;
use std::time::Duration;

#[tokio::test]
async fn request_and_response_between_two_endpoints() {
    let (a, _a_in) = endpoint().await;
    let (b, mut b_in) = endpoint().await;
    let tx = a.request(
        request(rsip::Method::Options, b.local_addr()),
        udp(b.local_addr()),
    );
    let server = within("request at b", b_in.recv()).await.expect("incoming");
    assert_eq!(server.request.method, rsip::Method::Options);
    assert_eq!(server.peer.addr, a.local_addr());
    let via = message::header_value(&server.request.clone().into(), "Via").expect("via");
    assert!(
        via.contains(&format!(
            "received=127.0.0.1;rport={}",
            a.local_addr().port()
        )),
        "{via}"
    );
    server
        .respond(response(&server.request, 200, "OK", Some("b-tag")))
        .await
        .expect("respond");
    let resp = within("final", tx.final_response()).await.expect("200");
    assert_eq!(resp.status_code, rsip::StatusCode::OK);
    assert_eq!(message::to_tag(&resp.into()).as_deref(), Some("b-tag"));
}

#[tokio::test]
async fn retransmits_when_the_first_copy_is_lost() {
    let (a, _a_in) = endpoint().await;
    let raw = RawPeer::new().await;
    let tx = a.request(request(rsip::Method::Options, raw.addr()), udp(raw.addr()));
    let (first, _) = raw.recv().await; // "lost": not answered
    let (second, from) = raw.recv().await;
    assert_eq!(first, second, "a retransmission is the same request");
    let req = as_request(message::parse(&second).expect("parses"));
    raw.send(
        &to_bytes(&response(&req, 200, "OK", Some("t")).into()),
        from,
    )
    .await;
    let resp = within("final", tx.final_response())
        .await
        .expect("200 after retransmission");
    assert_eq!(resp.status_code.code(), 200);
}

#[tokio::test]
async fn timer_f_fires_against_a_silent_peer() {
    let (a, _a_in) = endpoint().await;
    let raw = RawPeer::new().await;
    let tx = a.request(request(rsip::Method::Options, raw.addr()), udp(raw.addr()));
    let result = within("timeout", tx.final_response()).await;
    assert!(matches!(result, Err(TxError::Timeout)), "{result:?}");
    let mut copies = 0;
    while raw.recv_within(Duration::from_millis(10)).await.is_some() {
        copies += 1;
    }
    // T1=20ms, T2=160ms over 64*T1=1.28s: 20,40,80,160,160,... ≥ 8 sends.
    assert!(copies >= 8, "only {copies} copies");
}

#[tokio::test]
async fn timer_b_fires_for_an_unanswered_invite() {
    let (a, _a_in) = endpoint().await;
    let raw = RawPeer::new().await;
    let mut tx = a.request(request(rsip::Method::Invite, raw.addr()), udp(raw.addr()));
    assert!(matches!(
        within("timer B", tx.next()).await,
        Some(Err(TxError::Timeout))
    ));
    assert!(tx.next().await.is_none(), "nothing after the end");
}

#[tokio::test]
async fn cancel_gets_487_and_200() {
    let (a, _a_in) = endpoint().await;
    let (b, mut b_in) = endpoint().await;
    let mut invite = a.request(
        request(rsip::Method::Invite, b.local_addr()),
        udp(b.local_addr()),
    );
    let server = within("invite", b_in.recv()).await.expect("incoming");
    server
        .respond(response(&server.request, 180, "Ringing", Some("bt")))
        .await
        .expect("180");
    let ringing = within("180", invite.next())
        .await
        .expect("some")
        .expect("ok");
    assert_eq!(ringing.status_code.code(), 180);
    let cancel = a.cancel(&invite);
    within("cancelled", server.cancelled()).await;
    server
        .respond(response(
            &server.request,
            487,
            "Request Terminated",
            Some("bt"),
        ))
        .await
        .expect("487");
    let cancel_resp = within("CANCEL 200", cancel.final_response())
        .await
        .expect("200");
    assert_eq!(cancel_resp.status_code.code(), 200);
    let terminated = within("487", invite.final_response()).await.expect("487");
    assert_eq!(terminated.status_code.code(), 487);
    assert!(
        b_in.try_recv().is_err(),
        "neither the CANCEL nor the ACK for 487 reach the TU"
    );
}

#[tokio::test]
async fn cancel_for_unknown_invite_gets_481() {
    let (b, _b_in) = endpoint().await;
    let raw = RawPeer::new().await;
    raw.send(
        &raw_request(
            "CANCEL",
            b.local_addr(),
            raw.addr(),
            "z9hG4bKnone",
            "c-481",
            1,
        ),
        b.local_addr(),
    )
    .await;
    let (msg, _) = raw.recv_msg().await;
    assert_eq!(as_response(msg).status_code.code(), 481);
}

#[tokio::test]
async fn uas_retransmits_2xx_until_ack_and_delivers_the_ack() {
    let (b, mut b_in) = endpoint().await;
    let raw = RawPeer::new().await;
    raw.send(
        &raw_request(
            "INVITE",
            b.local_addr(),
            raw.addr(),
            "z9hG4bKinv1",
            "c-2xx",
            5,
        ),
        b.local_addr(),
    )
    .await;
    let server = within("invite", b_in.recv()).await.expect("incoming");
    server
        .respond(response(&server.request, 200, "OK", Some("bt")))
        .await
        .expect("200");
    let mut oks = 0;
    while oks < 3 {
        let (msg, _) = raw.recv_msg().await;
        if as_response(msg).status_code.code() == 200 {
            oks += 1;
        }
    }
    // ACK in its own transaction (new branch), matched by Call-ID + CSeq number.
    raw.send(
        &raw_request("ACK", b.local_addr(), raw.addr(), "z9hG4bKack1", "c-2xx", 5),
        b.local_addr(),
    )
    .await;
    let ack = within("ack at TU", b_in.recv()).await.expect("ack");
    assert_eq!(ack.request.method, rsip::Method::Ack);
    ack.respond(response(&ack.request, 200, "OK", None))
        .await
        .expect("no-op");
    // Drain what was already in flight, then nothing more comes.
    while raw.recv_within(Duration::from_millis(60)).await.is_some() {}
    assert!(
        raw.recv_within(Duration::from_millis(400)).await.is_none(),
        "2xx retransmission stopped"
    );
}

#[tokio::test]
async fn uas_gives_up_2xx_retransmission_without_ack() {
    let (b, mut b_in) = endpoint().await;
    let raw = RawPeer::new().await;
    raw.send(
        &raw_request(
            "INVITE",
            b.local_addr(),
            raw.addr(),
            "z9hG4bKinv2",
            "c-noack",
            1,
        ),
        b.local_addr(),
    )
    .await;
    let server = within("invite", b_in.recv()).await.expect("incoming");
    server
        .respond(response(&server.request, 200, "OK", Some("bt")))
        .await
        .expect("200");
    let started = tokio::time::Instant::now();
    let mut count = 0;
    while raw.recv_within(Duration::from_millis(500)).await.is_some() {
        count += 1;
    }
    assert!(count >= 5, "{count} copies");
    // 64*T1 = 1.28 s (+ the 500 ms quiet period used to detect the end).
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn invite_gets_automatic_100_trying() {
    let (b, mut b_in) = endpoint().await;
    let raw = RawPeer::new().await;
    raw.send(
        &raw_request(
            "INVITE",
            b.local_addr(),
            raw.addr(),
            "z9hG4bKinv3",
            "c-100",
            1,
        ),
        b.local_addr(),
    )
    .await;
    let _server = within("invite", b_in.recv()).await.expect("incoming");
    let (msg, _) = raw.recv_msg().await;
    let resp = as_response(msg);
    assert_eq!(resp.status_code.code(), 100);
    assert_eq!(message::call_id(&resp.into()).as_deref(), Some("c-100"));
}

#[tokio::test]
async fn retransmitted_request_is_absorbed_and_answered_again() {
    let (b, mut b_in) = endpoint().await;
    let raw = RawPeer::new().await;
    let req = raw_request(
        "OPTIONS",
        b.local_addr(),
        raw.addr(),
        "z9hG4bKopt",
        "c-opt",
        1,
    );
    raw.send(&req, b.local_addr()).await;
    let server = within("options", b_in.recv()).await.expect("incoming");
    raw.send(&req, b.local_addr()).await;
    server
        .respond(response(&server.request, 200, "OK", Some("x")))
        .await
        .expect("200");
    let (first, _) = raw.recv().await;
    raw.send(&req, b.local_addr()).await;
    let (again, _) = raw.recv().await;
    assert_eq!(
        first, again,
        "the same final response for the retransmission"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(100), b_in.recv())
            .await
            .is_err(),
        "TU saw it once"
    );
}

#[tokio::test]
async fn uac_acks_non_2xx_in_the_transaction_and_re_acks_2xx() {
    let (a, _a_in) = endpoint().await;
    let raw = RawPeer::new().await;
    // 486: the transaction ACKs by itself, same branch.
    let tx = a.request(request(rsip::Method::Invite, raw.addr()), udp(raw.addr()));
    let (msg, from) = raw.recv_msg().await;
    let invite = as_request(msg);
    raw.send(
        &to_bytes(&response(&invite, 486, "Busy Here", Some("rt")).into()),
        from,
    )
    .await;
    assert_eq!(
        within("486", tx.final_response())
            .await
            .expect("final")
            .status_code
            .code(),
        486
    );
    let (ack, _) = raw.recv_msg().await;
    let ack_msg: rsip::SipMessage = ack;
    assert_eq!(
        message::cseq(&ack_msg).map(|c| c.1),
        Some(rsip::Method::Ack)
    );
    assert_eq!(
        message::header_value(&ack_msg, "Via"),
        message::header_value(&invite.clone().into(), "Via"),
        "ACK for non-2xx reuses the INVITE's Via"
    );
    assert_eq!(message::to_tag(&ack_msg).as_deref(), Some("rt"));

    // 200: the TU ACKs; a retransmitted 200 gets the same ACK again.
    let req = request(rsip::Method::Invite, raw.addr());
    let tx = a.request(req, udp(raw.addr()));
    let (msg, from) = raw.recv_msg().await;
    let invite = as_request(msg);
    let ok = to_bytes(&response(&invite, 200, "OK", Some("rt2")).into());
    raw.send(&ok, from).await;
    within("200", tx.final_response()).await.expect("200");
    let mut ack = invite.clone();
    ack.method = rsip::Method::Ack;
    ack.headers
        .retain(|h| !matches!(h, rsip::Header::Via(_) | rsip::Header::CSeq(_)));
    ack.headers
        .push(rsip::Header::CSeq(rsip::headers::CSeq::from(
            rsip::typed::CSeq {
                seq: 1,
                method: rsip::Method::Ack,
            },
        )));
    a.ack(ack, udp(raw.addr())).await.expect("ack sent");
    let (first_ack, _) = raw.recv().await;
    raw.send(&ok, from).await;
    let (second_ack, _) = raw.recv().await;
    assert_eq!(first_ack, second_ack);
}

#[tokio::test]
async fn garbage_gets_400_and_noise_is_dropped() {
    let (b, mut b_in) = endpoint().await;
    let raw = RawPeer::new().await;
    let bad = format!(
        "OPTIONS sip:bob@{0} SIP/2.0\r\nVia: SIP/2.0/UDP {1};branch=z9hG4bKbad\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:bob@{0}>\r\nCall-ID: c-bad\r\nCSeq: banana OPTIONS\r\nContent-Length: 0\r\n\r\n",
        b.local_addr(),
        raw.addr()
    );
    raw.send(bad.as_bytes(), b.local_addr()).await;
    let (reply, _) = raw.recv().await;
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.starts_with("SIP/2.0 400 Malformed CSeq header\r\n"),
        "{text}"
    );
    assert!(text.contains("Call-ID: c-bad"), "{text}");

    let no_callid = bad.replace("Call-ID: c-bad\r\n", "").replace("banana", "1");
    raw.send(no_callid.as_bytes(), b.local_addr()).await;
    let (reply, _) = raw.recv().await;
    assert!(String::from_utf8_lossy(&reply).starts_with("SIP/2.0 400 Missing Call-ID header\r\n"));

    let unknown = bad.replace("OPTIONS", "FROB").replace("banana", "1");
    raw.send(unknown.as_bytes(), b.local_addr()).await;
    let (reply, _) = raw.recv().await;
    assert!(String::from_utf8_lossy(&reply).starts_with("SIP/2.0 501 "));

    raw.send(b"\x16\x03\x01 definitely not sip", b.local_addr())
        .await;
    raw.send(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bKstray\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: stray\r\nCSeq: 1 OPTIONS\r\n\r\n", b.local_addr()).await;
    assert!(
        raw.recv_within(Duration::from_millis(200)).await.is_none(),
        "no reply to noise or stray responses"
    );

    // Still alive.
    raw.send(
        &raw_request(
            "OPTIONS",
            b.local_addr(),
            raw.addr(),
            "z9hG4bKok",
            "c-ok",
            1,
        ),
        b.local_addr(),
    )
    .await;
    let server = within("valid request", b_in.recv())
        .await
        .expect("incoming");
    assert_eq!(server.request.method, rsip::Method::Options);
}

#[tokio::test]
async fn dropped_server_transaction_answers_500() {
    let (b, mut b_in) = endpoint().await;
    let raw = RawPeer::new().await;
    raw.send(
        &raw_request(
            "OPTIONS",
            b.local_addr(),
            raw.addr(),
            "z9hG4bKdrop",
            "c-drop",
            1,
        ),
        b.local_addr(),
    )
    .await;
    drop(within("options", b_in.recv()).await.expect("incoming"));
    let (msg, _) = raw.recv_msg().await;
    assert_eq!(as_response(msg).status_code.code(), 500);
}

/// An endpoint whose TU queue holds 64 requests and whose readers pause above 16 held ones.
async fn small_queue_endpoint() -> (Endpoint, tokio::sync::mpsc::Receiver<ServerTransaction>) {
    let config = EndpointConfig {
        timers: fast_timers(),
        incoming_queue: 64,
        tu_backlog: 16,
        ..EndpointConfig::default()
    };
    Endpoint::bind_with("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("bind")
}

/// Send `count` requests `method` (new branches and Call-IDs) and count the 503s that come back.
async fn flood(raw: &RawPeer, to: SocketAddr, method: &str, from: usize, count: usize) -> usize {
    for i in from..from + count {
        let branch = format!("z9hG4bKflood{i}");
        let call_id = format!("c-flood-{i}");
        raw.send(
            &raw_request(method, to, raw.addr(), &branch, &call_id, 1),
            to,
        )
        .await;
        if i % 20 == 0 {
            tokio::task::yield_now().await;
        }
    }
    // Readers pause up to 20 ms at a time while the TU holds too much: wait long enough.
    let mut busy = 0;
    while let Some((bytes, _)) = raw.recv_within(Duration::from_millis(1000)).await {
        if String::from_utf8_lossy(&bytes).starts_with("SIP/2.0 503 ") {
            busy += 1;
        }
    }
    busy
}

#[tokio::test]
async fn overloaded_tu_queue_answers_503() {
    let (b, _b_in_not_read) = small_queue_endpoint().await;
    let raw = RawPeer::new().await;
    // The TU never reads: the readers pause a moment, then go on; past the queue, 503.
    let busy = flood(&raw, b.local_addr(), "INVITE", 0, 100).await;
    assert_eq!(busy, 100 - 64, "answered 503 with a queue of 64");
}

#[tokio::test]
async fn register_flood_is_shed_before_calls() {
    let (b, mut b_in) = small_queue_endpoint().await;
    let raw = RawPeer::new().await;
    // REGISTERs may fill only half of the TU queue: 32 get in, the other 68 get 503 …
    let busy = flood(&raw, b.local_addr(), "REGISTER", 0, 100).await;
    assert_eq!(busy, 100 - 32, "REGISTERs past half the queue");
    // … and an INVITE still gets into the other half.
    assert_eq!(flood(&raw, b.local_addr(), "INVITE", 100, 1).await, 0);
    let mut methods = Vec::new();
    while let Ok(tx) = b_in.try_recv() {
        methods.push(tx.request.method.to_string());
    }
    assert_eq!(methods.len(), 33, "{methods:?}");
    assert_eq!(methods.last().map(String::as_str), Some("INVITE"));
}

#[tokio::test]
async fn cancelled_invite_without_487_times_out() {
    let (a, _a_in) = endpoint().await;
    let raw = RawPeer::new().await;
    let mut invite = a.request(request(rsip::Method::Invite, raw.addr()), udp(raw.addr()));
    let (msg, from) = raw.recv_msg().await;
    let req = as_request(msg);
    raw.send(
        &to_bytes(&response(&req, 180, "Ringing", Some("rt")).into()),
        from,
    )
    .await;
    assert_eq!(
        within("180", invite.next())
            .await
            .expect("some")
            .expect("ok")
            .status_code
            .code(),
        180
    );
    let cancel = a.cancel(&invite);
    let (msg, from) = raw.recv_msg().await;
    let cancel_req = as_request(msg);
    assert_eq!(cancel_req.method, rsip::Method::Cancel);
    assert_eq!(
        agentphone_sip::message::header_value(&cancel_req.clone().into(), "Via"),
        agentphone_sip::message::header_value(&req.clone().into(), "Via"),
        "CANCEL carries the INVITE's Via (same branch)"
    );
    raw.send(
        &to_bytes(&response(&cancel_req, 200, "OK", None).into()),
        from,
    )
    .await;
    assert_eq!(
        within("CANCEL 200", cancel.final_response())
            .await
            .expect("200")
            .status_code
            .code(),
        200
    );
    // The peer never sends 487: 64*T1 after the CANCEL the INVITE transaction gives up.
    let result = within("INVITE end", invite.next()).await;
    assert!(matches!(result, Some(Err(TxError::Timeout))), "{result:?}");
}

#[test]
fn handles_can_move_between_tasks() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<agentphone_sip::endpoint::Endpoint>();
    send_sync::<agentphone_sip::endpoint::ServerTransaction>();
    send::<agentphone_sip::endpoint::ClientTransaction>();
}

/// A burst from one client socket (one of our sockets gets all of it, several receive workers
/// read it) is read and answered whole, each request once, and a lone request after it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_one_socket_is_read_whole_and_a_trickle_after_it() {
    const BURST: usize = 300;
    let config = EndpointConfig {
        timers: fast_timers(),
        shards: 2,
        receive_workers: 2,
        ..EndpointConfig::default()
    };
    let (b, mut b_in) = Endpoint::bind_with("127.0.0.1:0".parse().expect("addr"), config)
        .await
        .expect("bind");
    let answering = tokio::spawn(async move {
        while let Some(server) = b_in.recv().await {
            let _ = server
                .respond(response(&server.request, 200, "OK", Some("b-tag")))
                .await;
        }
    });
    let raw = RawPeer::new().await;
    // Room for all the 200s at once: what is tested is the endpoint's reading, not ours.
    socket2::SockRef::from(&raw.socket)
        .set_recv_buffer_size(4 * 1024 * 1024)
        .expect("receive buffer");
    let to = b.local_addr();
    for i in 0..BURST {
        let (branch, call_id) = (format!("z9hG4bKburst{i}"), format!("c-burst-{i}"));
        raw.send(
            &raw_request("OPTIONS", to, raw.addr(), &branch, &call_id, 1),
            to,
        )
        .await;
    }
    let mut answered = std::collections::BTreeSet::new();
    while answered.len() < BURST {
        let Some((bytes, _)) = raw.recv_within(Duration::from_secs(5)).await else {
            break;
        };
        let text = String::from_utf8_lossy(&bytes).to_string();
        assert!(text.starts_with("SIP/2.0 200 "), "{text}");
        let call_id = text
            .lines()
            .find_map(|l| l.strip_prefix("Call-ID: "))
            .expect("Call-ID")
            .to_string();
        assert!(answered.insert(call_id.clone()), "{call_id} answered twice");
    }
    assert_eq!(answered.len(), BURST, "requests of the burst answered");
    let lone = raw_request("OPTIONS", to, raw.addr(), "z9hG4bKlone", "c-lone", 1);
    raw.send(&lone, to).await;
    let (bytes, _) = raw.recv().await;
    let text = String::from_utf8_lossy(&bytes).to_string();
    assert!(
        text.starts_with("SIP/2.0 200 ") && text.contains("Call-ID: c-lone"),
        "{text}"
    );
    answering.abort();
}
