//! §5 Foreign RTP: packets with the customer leg's payload type sent to the server's port for
//! that leg from another socket (another host) do not reach the mix — alice does not hear their
//! tone — and that socket gets nothing back, RTCP included.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use agentphone_media::{g711, rtp};
use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial_with, expect_invite};
use agentphone_testkit::sip::SipPeer;

const CUSTOMER_HZ: f32 = 440.0;
const ALICE_HZ: f32 = 1000.0;
const ATTACK_HZ: f32 = 2000.0;

/// Send PCMU RTP with a tone from 127.0.0.2 to `to` every 20 ms until `stop`; count what comes
/// back to that socket.
fn inject(to: SocketAddr, stop: Arc<AtomicBool>, received: Arc<AtomicUsize>) {
    let socket = UdpSocket::bind("127.0.0.2:0").unwrap_or_else(|e| panic!("bind 127.0.0.2: {e}"));
    let _ = socket.set_read_timeout(Some(Duration::from_millis(20)));
    let (mut seq, mut ts, mut phase) = (0u16, 0u32, 0f32);
    let mut pcm = [0i16; 160];
    let mut payload = [0u8; 160];
    let mut packet = [0u8; 200];
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::Relaxed) {
        for s in &mut pcm {
            *s = (phase.sin() * 12_000.0) as i16;
            phase += 2.0 * std::f32::consts::PI * ATTACK_HZ / 8000.0;
        }
        let n = g711::encode(g711::Law::Mu, &pcm, &mut payload);
        let h = rtp::RtpHeader {
            marker: false,
            pt: 0,
            seq,
            ts,
            ssrc: 0x0bad_cafe,
        };
        let len = rtp::write(&h, &payload[..n], &mut packet);
        let _ = socket.send_to(&packet[..len], to);
        (seq, ts) = (seq.wrapping_add(1), ts.wrapping_add(160));
        if socket.recv_from(&mut buf).is_ok() {
            received.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::test]
async fn foreign_rtp_does_not_reach_the_mix_and_gets_no_rtcp() {
    let server = TestServer::start("").await;
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    alice.login().await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let dialing = dial_with(&customer, &server.uri("support"), CUSTOMER_HZ, |sdp| {
        sdp.formats.retain(|f| {
            f.name.eq_ignore_ascii_case("PCMU") || f.name.eq_ignore_ascii_case("telephone-event")
        });
    });
    let inv = expect_invite(&mut alice).await;
    let a = answer(&alice, &inv, ALICE_HZ).await;
    let (_, cust) = dialing.finish(&customer).await;
    let cust = cust.unwrap_or_else(|r| panic!("customer: {r}"));
    a.media
        .assert_hears("alice hears the customer", &[(CUSTOMER_HZ, true)])
        .await;

    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicUsize::new(0));
    let attacker = std::thread::spawn({
        let (to, stop, received) = (cust.server_rtp, stop.clone(), received.clone());
        move || inject(to, stop, received)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.media.clear();
    a.media
        .assert_hears(
            "alice hears the customer, not the injected tone",
            &[(CUSTOMER_HZ, true), (ATTACK_HZ, false)],
        )
        .await;
    // Long enough for an RTCP report (every 5 s at most) to have gone to a latched attacker.
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    let _ = attacker.join();
    assert_eq!(
        received.load(Ordering::Relaxed),
        0,
        "the attacker's socket got RTP or RTCP from the server"
    );
    cust.media
        .assert_hears("the customer still hears alice", &[(ALICE_HZ, true)])
        .await;
}
