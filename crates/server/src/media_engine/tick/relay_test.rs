//! Relay through the real tick path over loopback UDP, the phones being raw sockets: what a
//! phone sends reaches the other byte for byte, on the leg's own SSRC, and each phone's stream
//! stays one continuous stream (sequence +1, timestamp +960 per packet) across relay → mix →
//! relay switches (a hold and a resume).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use agentphone_media::codec::{CodecKind, Encoder};
use agentphone_media::rtp::{self, RtpHeader};
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_media::tone::ToneGenerator;
use agentphone_media::FRAME;

use super::{tick_room, MediaLeg, MediaRoom, Sources};
use crate::media_engine::moh::{fallback_music, fallback_ringback, LoopedAudio};
use crate::media_engine::LegMode;

pub(super) struct Phone {
    pub(super) socket: UdpSocket,
    encoder: Encoder,
    tone: ToneGenerator,
    seq: u16,
    ts: u32,
    /// (header, payload) of every packet received.
    pub(super) heard: Vec<(RtpHeader, Vec<u8>)>,
    /// Payloads sent, in order.
    sent: Vec<Vec<u8>>,
    /// Sends its tone (else digital silence).
    pub(super) talking: bool,
}

impl Phone {
    pub(super) fn new(ip: IpAddr, freq: f32) -> Phone {
        let socket = UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("{e}"));
        socket
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{e}"));
        Phone {
            socket,
            encoder: Encoder::new(CodecKind::Opus).unwrap_or_else(|e| panic!("{e}")),
            tone: ToneGenerator::new(freq, -12.0),
            seq: 1000,
            ts: 5000,
            heard: Vec::new(),
            sent: Vec::new(),
            talking: true,
        }
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap_or_else(|e| panic!("{e}"))
    }

    pub(super) fn send_to(&mut self, to: SocketAddr) {
        let mut pcm = [0i16; FRAME];
        if self.talking {
            self.tone.fill(&mut pcm);
        }
        let mut payload = [0u8; 1500];
        let n = self
            .encoder
            .encode(&pcm, &mut payload)
            .unwrap_or_else(|e| panic!("{e}"));
        let h = RtpHeader {
            marker: false,
            pt: 111,
            seq: self.seq,
            ts: self.ts,
            ssrc: 0xABCD,
        };
        let mut buf = [0u8; 1600];
        let len = rtp::write(&h, &payload[..n], &mut buf);
        let _ = self.socket.send_to(&buf[..len], to);
        self.sent.push(payload[..n].to_vec());
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(960);
    }

    pub(super) fn receive(&mut self) {
        let mut buf = [0u8; 2048];
        while let Ok(n) = self.socket.recv(&mut buf) {
            if rtp::is_rtcp(&buf[..n]) {
                continue;
            }
            if let Ok((h, p)) = rtp::parse(&buf[..n]) {
                self.heard.push((h, p.to_vec()));
            }
        }
    }
}

pub(super) fn leg(ip: IpAddr, id: u32, phone: &Phone, now: Instant) -> (MediaLeg, SocketAddr, u32) {
    let mut session = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
    session
        .configure(SessionConfig {
            remote: phone.addr(),
            codec: CodecKind::Opus,
            pt: 111,
            telephone_event_pt: Some(101),
            rtcp_mux: true,
            srtp: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let (addr, ssrc) = (session.local_addr(), session.ssrc());
    (
        MediaLeg::new(id, session, LegMode::Mixed, false, now),
        addr,
        ssrc,
    )
}

const HOLD_AT: usize = 50;
const RESUME_AT: usize = 100;
const TICKS: usize = 150;

#[test]
fn two_parties_are_relayed_byte_for_byte_and_streams_stay_continuous() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(2, Duration::from_secs(3600), events);
    let (mut alice, mut bob) = (Phone::new(ip, 600.0), Phone::new(ip, 900.0));
    let start = Instant::now();
    let (a_leg, a_addr, a_ssrc) = leg(ip, 0, &alice, start);
    let (b_leg, b_addr, b_ssrc) = leg(ip, 1, &bob, start);
    room.add_leg(a_leg);
    room.add_leg(b_leg);
    let mut sources = Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    );
    let mut relayed_ticks = 0;
    for t in 0..TICKS {
        let now = start + Duration::from_millis(20 * t as u64);
        if t == HOLD_AT || t == RESUME_AT {
            let mode = [LegMode::Held, LegMode::Mixed][usize::from(t == RESUME_AT)];
            if let Some(l) = room.leg_mut(0) {
                l.set_mode(mode);
            }
        }
        alice.send_to(a_addr);
        bob.send_to(b_addr);
        // Let loopback deliver before the tick polls.
        std::thread::sleep(Duration::from_millis(1));
        tick_room(&mut room, &mut sources, now);
        relayed_ticks += usize::from(room.is_relaying());
        std::thread::sleep(Duration::from_millis(1));
        alice.receive();
        bob.receive();
    }
    // Relayed except from the hold until the tick after the resume settled.
    assert!(
        (TICKS - (RESUME_AT - HOLD_AT) - 3..TICKS - (RESUME_AT - HOLD_AT) + 3)
            .contains(&relayed_ticks),
        "{relayed_ticks} relayed ticks"
    );
    for (who, phone, ssrc, other) in [
        ("alice", &alice, a_ssrc, &bob),
        ("bob", &bob, b_ssrc, &alice),
    ] {
        assert!(
            phone.heard.len() >= TICKS - 4,
            "{who} heard {}",
            phone.heard.len()
        );
        assert!(
            phone.heard.iter().all(|(h, _)| h.ssrc == ssrc),
            "{who}: one SSRC"
        );
        for w in phone.heard.windows(2) {
            let (a, b) = (&w[0].0, &w[1].0);
            assert_eq!(b.seq, a.seq.wrapping_add(1), "{who}: sequence continuous");
            assert_eq!(
                b.ts,
                a.ts.wrapping_add(960),
                "{who}: timestamp continuous at {}",
                a.seq
            );
        }
        // Before the hold, what the other phone sent arrives unchanged (no transcoding).
        let early: Vec<&Vec<u8>> = phone
            .heard
            .iter()
            .take(HOLD_AT - 5)
            .map(|(_, p)| p)
            .collect();
        let relayed = early.iter().filter(|p| other.sent.contains(p)).count();
        assert_eq!(
            relayed,
            early.len(),
            "{who}: relayed payloads are the sent ones"
        );
    }
}

/// RTCP is terminated per leg, but loss after the relay still reaches the sender's encoder:
/// bob's phone reports 10 % lost on bob's leg, and the reports alice's leg sends alice's phone
/// about alice's stream carry at least that (so alice's encoder turns FEC on).
#[test]
fn loss_reported_downstream_reaches_the_relayed_sender() {
    use agentphone_media::rtcp::{ReportBlock, RtcpPacket};
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(2, Duration::from_secs(3600), events);
    let (mut alice, mut bob) = (Phone::new(ip, 600.0), Phone::new(ip, 900.0));
    let start = Instant::now();
    let (mut a_leg, a_addr, _) = leg(ip, 0, &alice, start);
    let (mut b_leg, b_addr, b_ssrc) = leg(ip, 1, &bob, start);
    for l in [&mut a_leg, &mut b_leg] {
        l.session.set_rtcp_interval(Duration::from_millis(100));
    }
    room.add_leg(a_leg);
    room.add_leg(b_leg);
    let mut sources = Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    );
    let mut reported_to_alice = Vec::new();
    for t in 0..40u64 {
        let now = start + Duration::from_millis(20 * t);
        alice.send_to(a_addr);
        bob.send_to(b_addr);
        if t % 5 == 0 {
            // Bob's phone: "26/256 lost of what bob's leg sends me".
            let block = ReportBlock::loss_only(b_ssrc, 26);
            let mut buf = [0u8; 128];
            let n = agentphone_media::rtcp::write_rr(0xB0B, &[block], &mut buf);
            let _ = bob.socket.send_to(&buf[..n], b_addr);
        }
        std::thread::sleep(Duration::from_millis(1));
        tick_room(&mut room, &mut sources, now);
        std::thread::sleep(Duration::from_millis(1));
        let mut buf = [0u8; 2048];
        while let Ok(n) = alice.socket.recv(&mut buf) {
            if !rtp::is_rtcp(&buf[..n]) {
                continue;
            }
            for p in agentphone_media::rtcp::packets(&buf[..n]).flatten() {
                if let RtcpPacket::SenderReport { blocks, .. }
                | RtcpPacket::ReceiverReport { blocks, .. } = p
                {
                    // Blocks about alice's phone's stream (SSRC 0xABCD).
                    reported_to_alice
                        .extend(blocks.filter(|b| b.ssrc == 0xABCD).map(|b| b.fraction_lost));
                }
            }
        }
        bob.receive();
    }
    assert!(room.is_relaying());
    assert!(
        reported_to_alice.iter().any(|&f| f >= 26),
        "alice's phone is told of bob's loss: {reported_to_alice:?}"
    );
}
