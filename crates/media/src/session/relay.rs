//! Relay without transcoding (issue 9 point 1): two sessions on the same codec forward each
//! other's payloads as they arrive instead of decoding, mixing and encoding them.
//!
//! Each sending session keeps its own SSRC and continues its own sequence numbers and timestamps
//! through a fixed offset from the source's, anchored where the decoded stream stopped — so a
//! phone sees one continuous stream across relay ↔ mix switches; loss and reordering on the way
//! in stay visible (the offset keeps gaps). RTCP stays per leg: each session still reports on
//! what it receives and sends its own SRs.
//!
//! Switching to relay sends what the jitter buffer held (in order, right away: the phone's own
//! buffer absorbs the burst), so no audio is skipped. Switching back primes the jitter buffer
//! right after the last relayed packet and warms the decoder on the last [`WARM_PACKETS`]
//! (unless it decoded them as they went through): the first mixed frame is the decoder's
//! concealment continuing the voice (one frame at most while packets keep flowing), never a
//! gap.

use std::time::Instant;

use super::RtpSession;
use crate::codec::{CodecKind, Decoder};
use crate::g711;
use crate::jitter::MAX_PAYLOAD;
use crate::rtp::{self, RtpHeader};
use crate::{Frame, FRAME};

/// Source → relayed sequence/timestamp offsets of one sending session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RelayMap {
    /// The source stream mapped (a new SSRC re-anchors: our stream stays continuous).
    ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
}

/// Relayed packets decoded before the decoder counts as warm: at the switch back to mixing,
/// the decoder is reset and run over this many of the last relayed packets (80 ms) when it did
/// not decode them as they went through. One packet on a stale decoder was not enough: its
/// state (band energies predicted from the previous frame, the overlap) came from audio long
/// gone, and the first mixed frame clicked (`click_test.rs`, 35 dB).
pub(crate) const WARM_PACKETS: usize = 4;

/// The last packets relayed from a session's peer: where the stream continues when decoding
/// resumes (the newest), and what warms the decoder (all of them, oldest first). Preallocated
/// (switching allocates nothing).
pub(super) struct LastRelayed {
    valid: bool,
    ssrc: u32,
    seq: u16,
    ts: u32,
    duration: u32,
    /// Payloads, a ring: `newest` is the index of the newest, `count` how many are held.
    lens: [usize; WARM_PACKETS],
    data: [[u8; MAX_PAYLOAD]; WARM_PACKETS],
    newest: usize,
    count: usize,
}

impl LastRelayed {
    pub(super) fn new() -> Box<Self> {
        Box::new(LastRelayed {
            valid: false,
            ssrc: 0,
            seq: 0,
            ts: 0,
            duration: 0,
            lens: [0; WARM_PACKETS],
            data: [[0; MAX_PAYLOAD]; WARM_PACKETS],
            newest: 0,
            count: 0,
        })
    }

    /// Remember `h`/`payload` when it is the newest packet of the stream so far (a new SSRC
    /// starts over).
    pub(super) fn remember(&mut self, h: &RtpHeader, payload: &[u8], duration: u32) {
        if payload.len() > MAX_PAYLOAD {
            return;
        }
        if self.valid && self.ssrc != h.ssrc {
            self.count = 0;
        }
        let newer = !self.valid || self.ssrc != h.ssrc || (h.seq.wrapping_sub(self.seq) as i16) > 0;
        if !newer {
            return;
        }
        let at = (self.newest + 1) % WARM_PACKETS;
        if let (Some(dst), Some(len)) = (self.data.get_mut(at), self.lens.get_mut(at)) {
            dst[..payload.len()].copy_from_slice(payload);
            *len = payload.len();
        }
        self.newest = at;
        self.count = (self.count + 1).min(WARM_PACKETS);
        (self.valid, self.ssrc, self.seq, self.ts) = (true, h.ssrc, h.seq, h.ts);
        self.duration = duration;
    }

    /// The payloads held, oldest first.
    fn payloads(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.count).filter_map(move |back| {
            let i = (self.newest + WARM_PACKETS - (self.count - 1 - back)) % WARM_PACKETS;
            let len = *self.lens.get(i)?;
            self.data.get(i)?.get(..len)
        })
    }
}

/// What kind of packet is relayed (it decides the payload type it goes out with).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Relayed {
    Audio,
    Event,
}

impl RtpSession {
    /// Is this session's received audio relayed (not decoded)?
    pub fn is_relaying(&self) -> bool {
        self.relaying
    }

    /// Whether relayed audio is decoded as it arrives (default on): the decoder stays warm
    /// and [`RtpSession::take_relayed_energy`] gives its level, at the cost of one decode per
    /// Opus packet (no encode, no mix). The media engine turns it on for the level windows it
    /// measures; off, the last [`WARM_PACKETS`] relayed packets are decoded when mixing
    /// resumes.
    pub fn set_relay_decode(&mut self, on: bool) {
        self.relay_decode = on;
    }

    /// Fraction lost (/256) in the peer's last RTCP report on our stream.
    pub fn peer_reported_fraction_lost(&self) -> u8 {
        self.peer_fraction_lost
    }

    /// While our received audio is relayed to another leg, the loss that leg's phone reports
    /// (`peer_reported_fraction_lost` of the other session): our reports to our peer say at
    /// least that much was lost, so the sending phone's encoder turns FEC on for loss it cannot
    /// otherwise see (RTCP is terminated per leg). 0 when not relaying.
    pub fn set_downstream_loss(&mut self, fraction_lost: u8) {
        self.downstream_fraction_lost = fraction_lost;
    }

    /// Sum of squared samples and sample count decoded from relayed audio since the last call.
    pub fn take_relayed_energy(&mut self) -> (f64, u64) {
        std::mem::take(&mut self.relay_energy)
    }

    /// Payload bytes and audio packets relayed since the last call: what tells, without
    /// decoding, that the talk may have changed (an Opus pause costs half the bytes of speech).
    pub fn take_relayed_bytes(&mut self) -> (u64, u32) {
        std::mem::take(&mut self.relay_bytes)
    }

    /// Is measuring relayed audio cheap (G.711: the level is read from the 8 kHz samples, no
    /// decoder runs)? Opus audio costs a decode per packet.
    pub fn relayed_level_is_cheap(&self) -> bool {
        self.codec().and_then(CodecKind::law).is_some()
    }

    /// Decode the relayed packet in `recv_buf[..len]` for its level (output not played).
    pub(super) fn decode_relayed(&mut self, len: usize) {
        let (Some(active), Some(datagram)) = (self.active.as_mut(), self.recv_buf.get(..len))
        else {
            return;
        };
        let Ok((_, payload)) = rtp::parse(datagram) else {
            return;
        };
        if let Some(law) = active.cfg.codec.law() {
            // G.711: the energy of the 8 kHz samples stands for the 48 kHz stream's (six
            // samples each); the decoder (and its upsampler) stays for the switch back.
            let scratch = self.fifo.room();
            let n = g711::decode(law, payload, scratch);
            let narrow = scratch.get(..n).unwrap_or_default();
            self.relay_energy.0 += 6.0 * crate::energy::sum_squares(narrow) as f64;
            self.relay_energy.1 += 6 * n as u64;
            self.relay_decoded_run = 0;
            return;
        }
        let decoded = decode_measured(
            &mut active.decoder,
            payload,
            self.fifo.room(),
            &mut self.relay_energy,
            &mut self.relay_tail,
        );
        self.relay_decoded_run = if decoded {
            self.relay_decoded_run.saturating_add(1)
        } else {
            0
        };
    }

    /// The last 20 ms decoded from relayed audio (zeros when relayed audio is not decoded).
    pub fn relayed_tail(&self) -> &Frame {
        &self.relay_tail
    }

    /// Run the encoder over `pcm` and drop the packet: after relaying, our encoder's history
    /// (lookahead, overlap, predictors) is the audio the phone just heard, so the first frame
    /// we encode continues it instead of starting from stale or silent state (a click). It
    /// also takes over the Opus coding mode of the last relayed or shared packet we sent
    /// (`Encoder::prime`).
    pub fn prime_encoder(&mut self, pcm: &Frame) {
        if let Some(active) = self.active.as_mut() {
            active.encoder.prime(pcm, &mut self.payload_buf);
        }
    }

    /// Start relaying what this session receives to `to` (same codec): what the jitter buffer
    /// holds goes out now, in order, mapped onto `to`'s stream where its last encoded frame
    /// ended; later packets go out as they arrive ([`RtpSession::poll_relay`]).
    pub fn start_relay_to(&mut self, to: &mut RtpSession, now: Instant) {
        let ssrc = self.remote_ssrc.unwrap_or(0);
        to.relay_map = self.jitter.position().map(|(seq, ts)| RelayMap {
            ssrc,
            seq_offset: to.seq.wrapping_sub(seq),
            ts_offset: to.ts.wrapping_sub(ts),
        });
        while let Some(p) = self.jitter.take_stored() {
            let h = RtpHeader {
                marker: false,
                pt: 0,
                seq: p.seq,
                ts: p.ts,
                ssrc,
            };
            to.send_relayed(&h, p.payload, p.duration, Relayed::Audio, now);
            self.last_relayed.remember(&h, p.payload, p.duration);
        }
        self.fifo.clear();
        self.relaying = true;
    }

    /// Stop relaying: decoding resumes right after the last relayed packet, the decoder warm
    /// on the last [`WARM_PACKETS`] (their output was already heard through the relay).
    pub fn stop_relay(&mut self) {
        self.relaying = false;
        self.fifo.clear();
        let last = &self.last_relayed;
        if !last.valid {
            return;
        }
        self.jitter
            .resume_after(last.ssrc, last.seq, last.ts, last.duration);
        if self.relay_decoded_run as usize >= WARM_PACKETS {
            return; // Already warm: it decoded the last relayed packets.
        }
        let Some(active) = self.active.as_mut() else {
            return;
        };
        // Warm-up (and the tail that primes the other leg's encoder) from a clean state: the
        // samples land in the FIFO's free space and are not committed.
        active.decoder.reset();
        let mut energy = (0.0, 0);
        for payload in last.payloads() {
            decode_measured(
                &mut active.decoder,
                payload,
                self.fifo.room(),
                &mut energy,
                &mut self.relay_tail,
            );
        }
    }

    /// The send side leaves relay: our encoder continues the stream. When the relayed source
    /// went quiet for a while, the timestamp catches up with the time that passed, as if the
    /// frames in between had been sent (they were silence).
    pub fn end_relay_from(&mut self, now: Instant) {
        self.relay_map = None;
        let (Some(at), Some(active)) = (self.relay_sent_at.take(), self.active.as_ref()) else {
            return;
        };
        let step = active.encoder.timestamp_step();
        let frames = (now.saturating_duration_since(at).as_millis() / 20) as u32;
        if frames > 1 {
            self.ts = self.ts.wrapping_add((frames - 1) * step);
        }
    }

    /// Send one packet of the peer's stream on ours: our SSRC, the mapped sequence number and
    /// timestamp, our payload type. The first packet without a mapping anchors it.
    pub(super) fn send_relayed(
        &mut self,
        h: &RtpHeader,
        payload: &[u8],
        duration: u32,
        kind: Relayed,
        now: Instant,
    ) {
        let (Some(active), Some(remote)) = (self.active.as_ref(), self.remote) else {
            return;
        };
        let pt = match kind {
            Relayed::Audio => active.cfg.pt,
            Relayed::Event => match active.cfg.telephone_event_pt {
                Some(pt) => pt,
                None => return,
            },
        };
        let map = match self.relay_map {
            Some(m) if m.ssrc == h.ssrc => m,
            _ => {
                let m = RelayMap {
                    ssrc: h.ssrc,
                    seq_offset: self.seq.wrapping_sub(h.seq),
                    ts_offset: self.ts.wrapping_sub(h.ts),
                };
                self.relay_map = Some(m);
                m
            }
        };
        let out = RtpHeader {
            marker: h.marker,
            pt,
            seq: h.seq.wrapping_add(map.seq_offset),
            ts: h.ts.wrapping_add(map.ts_offset),
            ssrc: self.ssrc,
        };
        let n = rtp::write(&out, payload, &mut self.send_buf);
        let Some(datagram) = self.send_buf.get(..n) else {
            return;
        };
        // Best effort, like an encoded frame: a full socket buffer drops the packet.
        let sent = super::send_datagram(
            &self.socket,
            self.srtp.as_mut(),
            &mut self.wire_buf[..],
            datagram,
            false,
            remote,
        );
        if sent.is_ok() {
            self.packets_sent += 1;
            self.octets_sent += payload.len() as u64;
        }
        if kind == Relayed::Audio {
            if let Some(active) = self.active.as_mut() {
                active.encoder.note_foreign_packet(payload);
            }
        }
        // Our stream continues after the newest packet relayed.
        if (out.seq.wrapping_sub(self.seq) as i16) >= 0 {
            self.seq = out.seq.wrapping_add(1);
        }
        let end = out.ts.wrapping_add(duration);
        if kind == Relayed::Audio && (end.wrapping_sub(self.ts) as i32) > 0 {
            self.ts = end;
        }
        self.relay_sent_at = Some(now);
    }
}

/// Decode `payload` into `scratch` (not played); add its energy to `energy` and keep its newest
/// 20 ms in `tail`. False when it does not decode.
fn decode_measured(
    decoder: &mut Decoder,
    payload: &[u8],
    scratch: &mut [i16],
    energy: &mut (f64, u64),
    tail: &mut Frame,
) -> bool {
    let Ok(n) = decoder.decode_into(payload, scratch) else {
        return false;
    };
    let decoded = scratch.get(..n).unwrap_or_default();
    energy.0 += crate::energy::sum_squares(decoded) as f64;
    energy.1 += n as u64;
    // Keep the newest FRAME samples.
    let keep = FRAME.saturating_sub(decoded.len());
    tail.copy_within(FRAME - keep.., 0);
    tail[keep..].copy_from_slice(&decoded[decoded.len().saturating_sub(FRAME)..]);
    true
}
