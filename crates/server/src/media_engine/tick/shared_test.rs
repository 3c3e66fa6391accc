//! Shared encodes through the real tick path over loopback UDP (the phones are raw sockets): two
//! legs hearing the whole mix get the same bytes — one encode — each on its own continuous
//! stream; a listener on a lossy path keeps its own (FEC-carrying) encode.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use agentphone_media::codec::CodecKind;
use agentphone_media::rtcp::{write_rr, ReportBlock};
use agentphone_media::rtp::RtpHeader;
use agentphone_media::session::{RtpSession, SessionConfig};

use super::{relay_test, tick_room, MediaLeg, MediaRoom, Sources};
use crate::media_engine::moh::{fallback_music, fallback_ringback, LoopedAudio};
use crate::media_engine::LegMode;

/// A phone (relay_test's) and what it heard, tick by tick.
struct Phone {
    phone: relay_test::Phone,
    /// The leg this phone talks to and its SSRC.
    leg: SocketAddr,
    leg_ssrc: u32,
    /// The audio packets received in each tick.
    heard: Vec<Vec<(RtpHeader, Vec<u8>)>>,
}

impl Phone {
    fn send(&mut self) {
        self.phone.send_to(self.leg);
    }

    /// Tell the leg its stream loses `fraction` / 256.
    fn report_loss(&self, fraction: u8) {
        let mut buf = [0u8; 128];
        let n = write_rr(
            0xB0B,
            &[ReportBlock::loss_only(self.leg_ssrc, fraction)],
            &mut buf,
        );
        let _ = self.phone.socket.send_to(&buf[..n], self.leg);
    }

    /// Loopback delivers within the sending call: what the tick sent is queued now.
    fn receive(&mut self) {
        self.phone.receive();
        self.heard.push(std::mem::take(&mut self.phone.heard));
    }

    /// The payload heard in tick `t` (exactly one packet expected).
    fn payload(&self, t: usize) -> &[u8] {
        match self.heard.get(t).map(Vec::as_slice) {
            Some([(_, p)]) => p,
            other => panic!("tick {t}: {:?} packets", other.map(<[_]>::len)),
        }
    }
}

/// A room of four Opus legs (ids 0..4) with their phones, tones 500, 700, 900, 1100 Hz.
fn room(shared: bool) -> (MediaRoom, Vec<Phone>) {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(4, Duration::from_secs(3600), events);
    room.set_shared_encodes(shared);
    let mut phones = Vec::new();
    for id in 0..4u32 {
        let phone = relay_test::Phone::new(ip, 500.0 + 200.0 * id as f32);
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
        phones.push(Phone {
            phone,
            leg: session.local_addr(),
            leg_ssrc: session.ssrc(),
            heard: Vec::new(),
        });
        assert!(room.add_leg(MediaLeg::new(
            id,
            session,
            LegMode::Mixed,
            false,
            Instant::now()
        )));
    }
    (room, phones)
}

fn sources() -> Sources {
    Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    )
}

/// Run `ticks` ticks from `first`; `talks(leg, tick)` says whether that leg's phone sends.
fn run(
    room: &mut MediaRoom,
    phones: &mut [Phone],
    ticks: std::ops::Range<usize>,
    talks: impl Fn(usize, usize) -> bool,
) {
    let mut sources = sources();
    let start = Instant::now();
    for t in ticks {
        for (i, phone) in phones.iter_mut().enumerate() {
            if talks(i, t) {
                phone.send();
            }
        }
        tick_room(
            room,
            &mut sources,
            start + Duration::from_millis(20 * t as u64),
        );
        phones.iter_mut().for_each(Phone::receive);
    }
}

const SWITCH: usize = 30;
const BACK: usize = 80;
const END: usize = 110;

/// The customer (0) and the agent (1) talk; the supervisor (2) whispers to the agent; the
/// trainee (3) talks until [`SWITCH`], then listens only until [`BACK`], then talks again.
/// Returns the phones.
fn whisper_and_trainee(shared: bool) -> Vec<Phone> {
    let (mut room, mut phones) = room(shared);
    if let Some(l) = room.leg_mut(2) {
        l.set_mode(LegMode::Whisper { to: 1 });
    }
    let trainee_talks = |t: usize| !(SWITCH..BACK).contains(&t);
    let talks = |i: usize, t: usize| i != 3 || trainee_talks(t);
    for (from, to, mode) in [
        (0, SWITCH, LegMode::Mixed),
        (SWITCH, BACK, LegMode::ListenOnly),
        (BACK, END, LegMode::Mixed),
    ] {
        if let Some(l) = room.leg_mut(3) {
            l.set_mode(mode);
        }
        run(&mut room, &mut phones, from..to, talks);
    }
    phones
}

#[test]
fn legs_hearing_the_whole_mix_share_one_encode_on_their_own_streams() {
    let phones = whisper_and_trainee(true);
    let (supervisor, trainee) = (&phones[2], &phones[3]);
    // The switch tick fades the trainee out (it still adds to the mix); from the next, the
    // supervisor and the trainee hear the same frame and get the same bytes.
    for t in SWITCH + 1..BACK {
        assert_eq!(supervisor.payload(t), trainee.payload(t), "tick {t}");
    }
    // Before, and once its packets come again after, the trainee hears a mix without itself:
    // its own encode.
    for t in (5..SWITCH).chain(BACK + 5..END) {
        assert_ne!(supervisor.payload(t), trainee.payload(t), "tick {t}");
    }
    // Whoever hears a mix of their own never gets another's bytes.
    for t in 5..END {
        let (customer, agent) = (phones[0].payload(t), phones[1].payload(t));
        assert_ne!(customer, agent, "tick {t}");
        assert_ne!(
            agent,
            supervisor.payload(t),
            "tick {t}: the agent hears the whisper"
        );
    }
    // Every phone sees one continuous stream from its own leg.
    for (i, phone) in phones.iter().enumerate() {
        let headers: Vec<&RtpHeader> = phone.heard.iter().flatten().map(|(h, _)| h).collect();
        assert_eq!(headers.len(), END, "phone {i}: one packet a tick");
        assert!(
            headers.iter().all(|h| h.ssrc == phone.leg_ssrc),
            "phone {i}"
        );
        for w in headers.windows(2) {
            assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "phone {i}: sequence");
            assert_eq!(w[1].ts, w[0].ts.wrapping_add(960), "phone {i}: timestamp");
        }
    }
}

/// The control: without sharing the trainee's own encoder, whose history differs from the
/// supervisor's, makes other bytes of the same frame (so equal bytes above mean one encode).
#[test]
fn without_sharing_the_same_frame_is_encoded_twice() {
    let phones = whisper_and_trainee(false);
    let same = (SWITCH + 1..BACK)
        .filter(|&t| phones[2].payload(t) == phones[3].payload(t))
        .count();
    assert!(same < BACK - SWITCH - 1, "{same} ticks alike");
}

/// Two listen-only legs, one of whose phones reports 10 % loss: that leg's encoder turns FEC on
/// at 64 kb/s and it stops sharing the clean listener's 48 kb/s encode.
#[test]
fn a_listener_on_a_lossy_path_keeps_its_own_encode() {
    let (mut room, mut phones) = room(true);
    for id in [2, 3] {
        if let Some(l) = room.leg_mut(id) {
            l.set_mode(LegMode::ListenOnly);
        }
    }
    let talks = |i: usize, _| i < 2;
    // Both phones report first (a clean path): the start-of-stream loss hint gives way to 0.
    phones[2].report_loss(0);
    phones[3].report_loss(0);
    run(&mut room, &mut phones, 0..20, talks);
    phones[3].report_loss(26);
    run(&mut room, &mut phones, 20..40, talks);
    let (clean, lossy) = (&phones[2], &phones[3]);
    for t in 2..20 {
        assert_eq!(clean.payload(t), lossy.payload(t), "tick {t}: shared");
    }
    for t in 22..40 {
        let (c, l) = (clean.payload(t), lossy.payload(t));
        assert!(
            l.len() > c.len() + 20,
            "tick {t}: {} vs {} bytes",
            l.len(),
            c.len()
        );
    }
}
