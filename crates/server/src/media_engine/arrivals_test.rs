//! Relay on arrival through a real worker: a relayed packet leaves as soon as it arrives, not
//! at the worker's next 20 ms tick.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use agentphone_media::codec::CodecKind;
use agentphone_media::rtp::{self, RtpHeader};
use agentphone_media::session::{RtpSession, SessionConfig};

use super::{LegMode, MediaCmd, MediaHandle};
use crate::ids::{LegId, RoomId};

const PACKETS: usize = 60;

fn leg_towards(peer: &UdpSocket) -> RtpSession {
    let mut session = RtpSession::bind(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
    session
        .configure(SessionConfig {
            remote: peer.local_addr().unwrap(),
            codec: CodecKind::Pcmu,
            pt: 0,
            telephone_event_pt: None,
            rtcp_mux: true,
            srtp: None,
        })
        .unwrap();
    session
}

/// Packets sent at phases spread over the 20 ms tick: forwarded at the tick, their delays would
/// spread over 0–20 ms (a quarter under 5 ms); forwarded on arrival, nearly all are under it.
#[test]
fn relayed_packets_leave_when_they_arrive_not_at_the_tick() {
    relayed_on_arrival(false);
}

/// The same from the second leg to the first: each leg's socket wakes the worker under its own
/// token, and the relayed tick reads neither.
#[test]
fn the_other_direction_is_relayed_on_arrival_too() {
    relayed_on_arrival(true);
}

/// Relay [`PACKETS`] packets customer → agent (`reverse`: agent → customer) through a real
/// worker and check they left on arrival.
fn relayed_on_arrival(reverse: bool) {
    let missing = Path::new("/nonexistent.wav");
    let (media, threads) =
        MediaHandle::start_with_workers(missing, missing, 2, Duration::from_secs(10), 1).unwrap();
    let customer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let agent = UdpSocket::bind("127.0.0.1:0").unwrap();
    agent
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let room = RoomId(1);
    media.send(MediaCmd::AddRoom { room, events });
    let (customer_leg, agent_leg) = (leg_towards(&customer), leg_towards(&agent));
    let (customer_port, agent_port) = (customer_leg.local_addr(), agent_leg.local_addr());
    for (leg, session) in [(1 as LegId, customer_leg), (2, agent_leg)] {
        media.send(MediaCmd::AddLeg {
            room,
            leg,
            session: Box::new(session),
            mode: LegMode::Mixed,
            watch_timeout: false,
        });
    }
    let (talker, listener, to_server) = match reverse {
        false => (&customer, &agent, customer_port),
        true => (&agent, &customer, agent_port),
    };
    listener
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // Let the room start relaying (its first tick).
    std::thread::sleep(Duration::from_millis(60));
    let payload = [0xFFu8; 160];
    let (mut packet, mut heard) = ([0u8; 256], [0u8; 256]);
    let mut delays = Vec::with_capacity(PACKETS);
    for i in 0..PACKETS {
        let h = RtpHeader {
            marker: i == 0,
            pt: 0,
            seq: i as u16,
            ts: i as u32 * 160,
            ssrc: 0x1234,
        };
        let n = rtp::write(&h, &payload, &mut packet);
        // 20 ms apart plus a phase stepping through the tick (7 ms steps, mod 20).
        std::thread::sleep(Duration::from_millis(20 + (i as u64 * 7) % 20));
        let sent = Instant::now();
        talker.send_to(&packet[..n], to_server).unwrap();
        // Skip anything that is not RTP (RTCP reports).
        while let Ok((len, _)) = listener.recv_from(&mut heard) {
            if len > 0 && !rtp::is_rtcp(&heard[..len]) {
                delays.push(sent.elapsed());
                break;
            }
        }
    }
    media.send(MediaCmd::Stop);
    for t in threads {
        assert!(t.join().is_ok());
    }
    // The first two packets latch the source (probation); after that every one is relayed.
    assert!(
        delays.len() >= PACKETS - 2,
        "relayed {} of {PACKETS}",
        delays.len()
    );
    let quick = delays
        .iter()
        .filter(|d| **d < Duration::from_millis(5))
        .count();
    assert!(
        quick * 10 >= delays.len() * 8,
        "only {quick} of {} relayed within 5 ms: {delays:?}",
        delays.len()
    );
}
