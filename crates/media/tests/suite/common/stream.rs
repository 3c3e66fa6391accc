//! A raw RTP stream (built here, not by an RtpSession) played through one RtpSession at
//! real-time pace, and what the session made of it.

use super::LOCALHOST;
use agentphone_media::codec::CodecKind;
use agentphone_media::rtp::{self, RtpHeader};
use agentphone_media::session::{FrameStatus, RtpSession, SessionConfig};
use agentphone_media::tone::{detect_tones, level_dbfs};
use agentphone_media::{Frame, FRAME, SAMPLE_RATE};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// Samples in a 100 ms analysis window at 48 kHz.
pub const WINDOW: usize = 4_800;

/// One datagram and when (ms after the start) the sender puts it on the wire.
pub struct Packet {
    pub send_at_ms: u64,
    pub datagram: Vec<u8>,
}

/// RTP packets for consecutive payloads lasting `durations_ms` each (at `clock`), each sent
/// as soon as its audio would have been captured (at the end of its span).
pub fn packetize(pt: u8, clock: u32, payloads: &[(Vec<u8>, u32)]) -> Vec<Packet> {
    let mut seq: u16 = 65_500; // wraps during the stream
    let mut ts: u32 = 4_294_960_000; // so does the timestamp
    let mut elapsed_ms = 0u64;
    let mut out = Vec::with_capacity(payloads.len());
    for (i, (payload, ms)) in payloads.iter().enumerate() {
        let h = RtpHeader {
            marker: i == 0,
            pt,
            seq,
            ts,
            ssrc: 0x5EED_0001,
        };
        let mut buf = vec![0u8; rtp::HEADER_LEN + payload.len()];
        let n = rtp::write(&h, payload, &mut buf);
        buf.truncate(n);
        elapsed_ms += u64::from(*ms);
        out.push(Packet {
            send_at_ms: elapsed_ms,
            datagram: buf,
        });
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(ms * clock / 1000);
    }
    out
}

/// What the session played, one entry per 20 ms tick.
pub struct Played {
    pub heard: Vec<i16>,
    pub statuses: Vec<FrameStatus>,
}

impl Played {
    pub fn count(&self, s: FrameStatus) -> usize {
        self.statuses.iter().filter(|&&x| x == s).count()
    }

    /// Index of the first frame that was not silence.
    pub fn first_sound(&self) -> Option<usize> {
        self.statuses
            .iter()
            .position(|&s| s != FrameStatus::Silence)
    }

    /// Concealed frames between the first and the last decoded frame (an underrun, a drift
    /// or a loss shows here; the dry tail after the stream ended does not).
    pub fn concealed_inside(&self) -> usize {
        let first = self.first_sound().unwrap_or(0);
        let last = self
            .statuses
            .iter()
            .rposition(|&s| s == FrameStatus::Audio)
            .unwrap_or(0);
        self.statuses[first..=last.max(first)]
            .iter()
            .filter(|&&s| s == FrameStatus::Concealed)
            .count()
    }

    /// `len` samples from the first sound on (fewer if the recording is shorter).
    pub fn samples_after_first_sound(&self, len: usize) -> &[i16] {
        let start = self.first_sound().unwrap_or(0) * FRAME;
        let end = (start + len).min(self.heard.len());
        &self.heard[start..end]
    }

    /// Share of the 100 ms windows of `len` samples from the first sound in which `freq` is
    /// present and `other` is not.
    pub fn tone_share(&self, len: usize, freq: f32, other: f32) -> f32 {
        let windows: Vec<bool> = self
            .samples_after_first_sound(len)
            .chunks_exact(WINDOW)
            .map(|w| detect_tones(w, SAMPLE_RATE, &[freq, other]) == [true, false])
            .collect();
        windows.iter().filter(|&&t| t).count() as f32 / windows.len().max(1) as f32
    }
}

/// Level per 100 ms window, dBFS.
pub fn window_levels(samples: &[i16], window: usize) -> Vec<f32> {
    samples.chunks_exact(window).map(level_dbfs).collect()
}

/// Send `packets` (except those `drop` picks) from a plain UDP socket to a fresh session set
/// up for `codec`/`pt`, at real-time pace: tick every 20 ms of wall clock, sending what is due
/// before the tick's `poll_receive`, then `next_frame`. Runs `tail_ms` past the last packet.
pub fn play_through_session(
    codec: CodecKind,
    pt: u8,
    packets: &[Packet],
    drop: &dyn Fn(usize) -> bool,
    tail_ms: u64,
) -> Played {
    let mut session = RtpSession::bind(LOCALHOST).expect("bind session");
    let sender = UdpSocket::bind((LOCALHOST, 0)).expect("bind sender");
    session
        .configure(SessionConfig {
            remote: sender.local_addr().expect("sender addr"),
            codec,
            pt,
            telephone_event_pt: None,
            rtcp_mux: true,
            srtp: None,
        })
        .expect("configure");
    let target = session.local_addr();
    let end_ms = packets.last().map_or(0, |p| p.send_at_ms) + tail_ms;
    let mut played = Played {
        heard: Vec::with_capacity((end_ms as usize / 20 + 1) * FRAME),
        statuses: Vec::new(),
    };
    let mut frame: Frame = [0; FRAME];
    let mut digits = Vec::new();
    let (mut next, mut delivered) = (0usize, 0u64);
    let start = Instant::now();
    for tick in 0..=end_ms / 20 {
        let t_ms = tick * 20;
        let due = start + Duration::from_millis(t_ms);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            // Real-time pacing of the stream (one tick per 20 ms), not a settle.
            std::thread::sleep(wait);
        }
        while let Some(p) = packets.get(next).filter(|p| p.send_at_ms <= t_ms) {
            if !drop(next) {
                sender.send_to(&p.datagram, target).expect("send");
                delivered += 1;
            }
            next += 1;
        }
        // Loopback is quick but not instant: wait for what was sent, at most 200 ms.
        let deadline = Instant::now() + Duration::from_millis(200);
        loop {
            session.poll_receive(Instant::now(), &mut digits);
            if session.quality().packets_received >= delivered || Instant::now() > deadline {
                break;
            }
            // The poll interval of this bounded wait for delivery, not a settle.
            std::thread::sleep(Duration::from_micros(200));
        }
        played.statuses.push(session.next_frame(&mut frame));
        played.heard.extend_from_slice(&frame);
    }
    played
}
