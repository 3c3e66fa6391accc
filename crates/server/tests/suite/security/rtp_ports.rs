//! §5 RTP port range (`[media] rtp_ports`): every RTP socket of a call is bound to an even port of
//! the range; when the range is used up the next caller gets 503 at once; the ports of a call
//! that ended are used again.

use std::net::UdpSocket;
use std::ops::RangeInclusive;
use std::time::Duration;

use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial, expect_bye, expect_invite, Party};
use agentphone_testkit::sip::{code, SipPeer};
use agentphone_testkit::wait::wait_until_async;

const CUSTOMER_HZ: f32 = 440.0;
const ALICE_HZ: f32 = 1000.0;

/// Four free consecutive UDP ports on 127.0.0.1 from an even one (the server binds the two even
/// ones), below the kernel's ephemeral range (nothing binds there without asking for the port),
/// tried from a start that differs between runs.
fn free_range() -> RangeInclusive<u16> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id();
    for i in 0..2_000u32 {
        let first = 20_000 + 2 * u16::try_from((seed.wrapping_add(i * 7)) % 6_000).unwrap_or(0);
        let range = first..=first + 3;
        if range
            .clone()
            .all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok())
        {
            return range;
        }
    }
    panic!("no four free consecutive ports in 20000-32000");
}

/// A customer calls support and alice answers: both parties, checked to hear each other.
async fn call(server: &TestServer, alice: &mut SipPeer, customer: &SipPeer) -> (Party, Party) {
    let dialing = dial(customer, &server.uri("support"), CUSTOMER_HZ);
    let offer = expect_invite(alice).await;
    let a = answer(alice, &offer, ALICE_HZ).await;
    let (_, c) = dialing.finish(customer).await;
    let c = c.unwrap_or_else(|r| panic!("customer: {r}"));
    c.media.assert_hears("customer", &[(ALICE_HZ, true)]).await;
    (c, a)
}

#[tokio::test]
async fn rtp_ports_stay_in_the_range_and_a_used_up_range_answers_503() {
    let range = free_range();
    let media = format!(
        "\n[media]\nrtp_ports = \"{}-{}\"\n",
        range.start(),
        range.end()
    );
    let server = TestServer::start_with("", &media).await;
    let mut alice = SipPeer::agent(server.addr(), "alice").await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    let (mut c, a) = call(&server, &mut alice, &customer).await;
    let ports = [c.server_rtp.port(), a.server_rtp.port()];
    assert!(
        ports.iter().all(|p| range.contains(p)),
        "{ports:?} in {range:?}"
    );

    // Both ports are taken: the next caller gets 503 without waiting.
    let other = SipPeer::new(server.addr(), "other", "").await;
    let (_, refused) = dial(&other, &server.uri("support"), CUSTOMER_HZ)
        .finish(&other)
        .await;
    let refused = refused
        .err()
        .unwrap_or_else(|| panic!("a call without RTP ports"));
    assert_eq!(code(&refused), 503, "{refused}");

    // The first call ends: its ports serve the next one.
    assert_eq!(c.bye(&customer, customer.server).await, 200);
    assert!(expect_bye(&mut alice, 5).await, "alice gets BYE");
    // The media engine lets go of the call's sockets once the room is gone.
    wait_until_async(
        "the call's RTP ports are free",
        Duration::from_secs(5),
        || {
            let free = range
                .clone()
                .all(|p| UdpSocket::bind(("127.0.0.1", p)).is_ok());
            std::future::ready(if free {
                Ok(())
            } else {
                Err("in use".to_string())
            })
        },
    )
    .await;
    let (c, a) = call(&server, &mut alice, &other).await;
    let ports = [c.server_rtp.port(), a.server_rtp.port()];
    assert!(
        ports.iter().all(|p| range.contains(p)),
        "{ports:?} in {range:?}"
    );
}
