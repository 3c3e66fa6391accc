//! Interoperability with a real SIP tool: sipp's built-in UAC scenario (INVITE, 200, ACK, BYE)
//! against our endpoint, over UDP and over TCP. Skipped when sipp is not installed.

use agentphone_sip::endpoint::{Endpoint, ServerTransaction, Timers};
use agentphone_sip::message::response;
use agentphone_sip::rsip;
use agentphone_sip::rsip::headers::UntypedHeader;
use agentphone_sip::sdp::{answer, Direction, Sdp};
use std::process::Stdio;
use std::time::Duration;
use tokio::sync::mpsc::Receiver;

fn sipp_available() -> bool {
    std::process::Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A minimal UAS: ring, answer with SDP, accept BYE. Returns the methods it saw.
async fn uas(endpoint: Endpoint, mut incoming: Receiver<ServerTransaction>) -> Vec<rsip::Method> {
    let mut seen = Vec::new();
    while let Some(tx) = incoming.recv().await {
        seen.push(tx.request.method);
        match tx.request.method {
            rsip::Method::Invite => {
                let offer =
                    Sdp::parse(&String::from_utf8_lossy(&tx.request.body)).expect("sipp SDP");
                let ip = endpoint.local_addr().ip();
                let n = answer(&offer, ip, 40_000, 1, Direction::SendRecv).expect("answer");
                tx.respond(response(&tx.request, 180, "Ringing", Some("uas")))
                    .await
                    .expect("180");
                let mut ok = response(&tx.request, 200, "OK", Some("uas"));
                ok.headers.push(
                    rsip::headers::Contact::new(format!("<sip:uas@{}>", endpoint.local_addr()))
                        .into(),
                );
                ok.headers
                    .push(rsip::headers::ContentType::new("application/sdp").into());
                ok.body = n.answer.to_string().into_bytes();
                tx.respond(ok).await.expect("200");
            }
            rsip::Method::Bye => {
                tx.respond(response(&tx.request, 200, "OK", None))
                    .await
                    .expect("200");
                return seen;
            }
            _ => {}
        }
    }
    seen
}

async fn run_sipp(transport: &str) {
    if !sipp_available() {
        eprintln!("sipp not installed: skipping");
        return;
    }
    let (endpoint, incoming) =
        Endpoint::bind("127.0.0.1:0".parse().expect("addr"), Timers::default())
            .await
            .expect("bind");
    let target = endpoint.local_addr().to_string();
    let sipp_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port();
    let uas_task = tokio::spawn(uas(endpoint.clone(), incoming));
    let status = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new("sipp")
            .args(["-sn", "uac", &target, "-m", "1", "-l", "1", "-t", transport])
            .args(["-i", "127.0.0.1", "-p", &sipp_port.to_string(), "-d", "100"])
            .args(["-timeout", "20", "-timeout_error", "-nostdin"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .status(),
    )
    .await
    .expect("sipp finished in time")
    .expect("sipp ran");
    assert!(status.success(), "sipp reported a failed call: {status}");
    let seen = tokio::time::timeout(Duration::from_secs(5), uas_task)
        .await
        .expect("uas finished")
        .expect("uas task");
    assert_eq!(
        seen,
        [rsip::Method::Invite, rsip::Method::Ack, rsip::Method::Bye]
    );
    endpoint.shutdown();
}

#[tokio::test]
async fn sipp_uac_call_over_udp() {
    run_sipp("u1").await;
}

#[tokio::test]
async fn sipp_uac_call_over_tcp() {
    run_sipp("t1").await;
}
