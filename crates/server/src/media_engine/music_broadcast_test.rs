//! Music on hold encoded once per codec, through the real tick path over loopback UDP (the
//! phones are raw sockets): callers on hold in separate rooms hear the music, each on its own
//! continuous stream, and legs on the same codec get the same bytes — one encode — including a
//! caller who joins later (whose own encoder, with another history, would make other bytes).

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use agentphone_media::codec::{CodecKind, Decoder};
use agentphone_media::rtp::{self, RtpHeader};
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_media::tone::{detect_tones, level_dbfs, ToneGenerator};
use agentphone_media::{Frame, FRAME, SAMPLE_RATE};

use super::moh::{fallback_ringback, LoopedAudio};
use super::tick::{tick_room, MediaLeg, MediaRoom, Sources};
use super::LegMode;

const MUSIC_HZ: f32 = 600.0;
const TICKS: usize = 100;
/// When the late caller is put on hold.
const LATE_JOIN: usize = 30;

/// A caller's phone: its socket, codec and every packet it received, per tick.
struct Phone {
    socket: UdpSocket,
    codec: CodecKind,
    heard: Vec<Option<(RtpHeader, Vec<u8>)>>,
}

impl Phone {
    fn receive(&mut self) {
        let mut buf = [0u8; 2048];
        let mut got = None;
        while let Ok(n) = self.socket.recv(&mut buf) {
            if rtp::is_rtcp(&buf[..n]) {
                continue;
            }
            if let Ok((h, p)) = rtp::parse(&buf[..n]) {
                got = Some((h, p.to_vec()));
            }
        }
        self.heard.push(got);
    }

    fn payload(&self, t: usize) -> &[u8] {
        match self.heard.get(t) {
            Some(Some((_, p))) => p,
            _ => panic!("tick {t}: no packet"),
        }
    }

    /// The audio of ticks `from..`, decoded as the phone would.
    fn audio(&self, from: usize) -> Vec<i16> {
        let mut decoder = Decoder::new(self.codec).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        let mut frame: Frame = [0; FRAME];
        for (h, p) in self.heard.iter().skip(from).flatten() {
            assert_eq!(h.pt, self.codec.default_pt());
            decoder
                .decode(p, &mut frame)
                .unwrap_or_else(|e| panic!("{e}"));
            out.extend_from_slice(&frame);
        }
        out
    }

    /// Every packet after the first of `from..` continues the stream (sequence +1, timestamp
    /// +1 frame) on one SSRC; that SSRC.
    fn continuous_ssrc(&self, from: usize) -> u32 {
        let step = self.codec.clock() / 50;
        let packets: Vec<&RtpHeader> = self
            .heard
            .iter()
            .skip(from)
            .flatten()
            .map(|(h, _)| h)
            .collect();
        for pair in packets.windows(2) {
            let [a, b] = pair else { continue };
            assert_eq!(b.ssrc, a.ssrc);
            assert_eq!(b.seq, a.seq.wrapping_add(1));
            assert_eq!(b.ts, a.ts.wrapping_add(step));
        }
        packets.first().map_or(0, |h| h.ssrc)
    }
}

/// A room with one leg on hold (a queued caller) on `codec`, and its phone.
fn queued_caller(codec: CodecKind, now: Instant) -> (MediaRoom, Phone) {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let socket = UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("{e}"));
    socket
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{e}"));
    // A caller's phone without telephone-event: the queue hears no digits here.
    let config = SessionConfig {
        remote: socket.local_addr().unwrap_or_else(|e| panic!("{e}")),
        pt: codec.default_pt(),
        codec,
        rtcp_mux: true,
        telephone_event_pt: None,
        srtp: None,
    };
    let mut session = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
    if let Err(e) = session.configure(config) {
        panic!("configure: {e}");
    }
    let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(2, Duration::from_secs(3600), events);
    assert!(room.add_leg(MediaLeg::new(0, session, LegMode::Held, false, now)));
    let phone = Phone {
        socket,
        codec,
        heard: Vec::new(),
    };
    (room, phone)
}

/// Three callers on hold from the start (PCMU, PCMU, Opus) and one (PCMU) from [`LATE_JOIN`],
/// each in its own room, ticked [`TICKS`] times; their phones, and how many shared encoders
/// served.
fn callers_on_hold(shared: bool) -> (Vec<Phone>, usize) {
    let mut music = Vec::with_capacity(SAMPLE_RATE as usize);
    let mut tone = ToneGenerator::new(MUSIC_HZ, -12.0);
    let mut frame: Frame = [0; FRAME];
    // 1 s of a 600 Hz tone: a whole number of periods, so the loop is seamless.
    for _ in 0..50 {
        tone.fill(&mut frame);
        music.extend_from_slice(&frame);
    }
    let mut sources = Sources::new(
        LoopedAudio::new(music),
        LoopedAudio::new(fallback_ringback()),
    );
    sources.set_shared_music(shared);
    let start = Instant::now();
    let mut callers: Vec<(MediaRoom, Phone)> = [CodecKind::Pcmu, CodecKind::Pcmu, CodecKind::Opus]
        .into_iter()
        .map(|codec| queued_caller(codec, start))
        .collect();
    for t in 0..TICKS {
        let now = start + Duration::from_millis(20 * t as u64);
        if t == LATE_JOIN {
            let (room, mut phone) = queued_caller(CodecKind::Pcmu, now);
            phone.heard.resize(LATE_JOIN, None);
            callers.push((room, phone));
        }
        for (room, _) in callers.iter_mut() {
            tick_room(room, &mut sources, now);
        }
        for (_, phone) in callers.iter_mut() {
            phone.receive();
        }
    }
    let encoders = sources.music_encoders();
    (callers.into_iter().map(|(_, p)| p).collect(), encoders)
}

#[test]
fn g711_callers_on_hold_hear_the_music_from_one_encode() {
    let (phones, encoders) = callers_on_hold(true);
    let [pcmu_a, pcmu_b, opus, late] = phones.as_slice() else {
        panic!("four phones");
    };
    assert_eq!(
        encoders, 1,
        "one shared encoder for PCMU; the Opus leg encodes alone"
    );
    // Everyone hears the music: the tone, at its level.
    for (who, phone, from) in [
        ("pcmu caller", pcmu_a, 10),
        ("second pcmu caller", pcmu_b, 10),
        ("opus caller", opus, 10),
        ("late pcmu caller", late, LATE_JOIN + 10),
    ] {
        let audio = phone.audio(from);
        assert!(audio.len() >= 50 * FRAME, "{who}: {} samples", audio.len());
        assert_eq!(
            detect_tones(&audio, SAMPLE_RATE, &[MUSIC_HZ]),
            vec![true],
            "{who} hears the music"
        );
        let level = level_dbfs(&audio);
        assert!(
            (-18.0..-12.0).contains(&level),
            "{who}: music at {level:.1} dBFS"
        );
    }
    // Each on its own continuous stream.
    let ssrcs = [
        pcmu_a.continuous_ssrc(0),
        pcmu_b.continuous_ssrc(0),
        opus.continuous_ssrc(0),
        late.continuous_ssrc(LATE_JOIN),
    ];
    for (i, a) in ssrcs.iter().enumerate() {
        for b in ssrcs.iter().skip(i + 1) {
            assert_ne!(a, b, "every leg has its own SSRC");
        }
    }
    // The late caller, after its first ticks on its own encoder, sends the very bytes the first
    // caller does (the same music frame each tick).
    for t in LATE_JOIN + 4..TICKS {
        assert_eq!(pcmu_a.payload(t), pcmu_b.payload(t), "tick {t}");
        assert_eq!(
            pcmu_a.payload(t),
            late.payload(t),
            "tick {t}: the late caller joins the loop where it is"
        );
    }
}

/// The control: without sharing no shared encoder serves, and every caller still hears the music.
#[test]
fn without_sharing_every_caller_encodes_the_music_itself() {
    let (phones, encoders) = callers_on_hold(false);
    assert_eq!(encoders, 0);
    for phone in &phones {
        let audio = phone.audio(LATE_JOIN + 10);
        assert_eq!(detect_tones(&audio, SAMPLE_RATE, &[MUSIC_HZ]), vec![true]);
    }
}
