//! Shared encodes (issue 9 point 1): when several sessions of a mixing room send the same frame
//! with encoders set alike, one of them encodes it ([`RtpSession::send_frame`]) and the others
//! send that payload under their own SSRC, sequence and timestamp
//! ([`RtpSession::send_encoded`]). Which legs hear the same frame is the room's business
//! (`agentphone_server::media_engine::tick`); here: what must match, and the sending.

use super::RtpSession;
use crate::codec::CodecKind;
use crate::rtp::RtpHeader;

/// What decides the bytes a session's encoder makes of a frame, besides its state: the codec
/// and, for Opus, the loss hint (which sets the bitrate and in-band FEC; see
/// `Encoder::set_loss_hint`). Two sessions with equal keys may share one encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderKey {
    codec: CodecKind,
    loss_hint: u8,
}

impl EncoderKey {
    /// The codec.
    pub fn codec(&self) -> CodecKind {
        self.codec
    }

    /// The Opus loss hint (percent; 0 for G.711): an encoder set with
    /// `Encoder::set_loss_hint(key.loss_hint())` encodes as every session with this key does.
    pub fn loss_hint(&self) -> u8 {
        self.loss_hint
    }
}

impl RtpSession {
    /// This session's [`EncoderKey`] (None before `configure`).
    pub fn encoder_key(&self) -> Option<EncoderKey> {
        let codec = self.active.as_ref()?.cfg.codec;
        let loss_hint = match codec {
            CodecKind::Opus => self.loss_hint,
            CodecKind::Pcmu | CodecKind::Pcma => 0,
        };
        Some(EncoderKey { codec, loss_hint })
    }

    /// The audio payload the last [`RtpSession::send_frame`] encoded (None when that call sent
    /// a DTMF event, nothing, or failed to encode).
    pub fn last_encoded(&self) -> Option<&[u8]> {
        self.payload_buf.get(..self.last_encoded?)
    }

    /// Send `payload` — another session's encode of the frame we would have encoded, with an
    /// equal [`EncoderKey`] — as our next 20 ms frame. Our encoder is left alone: before it
    /// encodes again, prime it with the last frame we sent ([`RtpSession::prime_encoder`]).
    /// Does nothing before `configure`; a payload too large for a packet is not sent.
    pub fn send_encoded(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.last_encoded = None;
        let (Some(active), Some(_)) = (self.active.as_ref(), self.remote) else {
            return Ok(());
        };
        let Some(dst) = self.payload_buf.get_mut(..payload.len()) else {
            return Ok(());
        };
        dst.copy_from_slice(payload);
        let header = RtpHeader {
            marker: self.packets_sent == 0,
            pt: active.cfg.pt,
            seq: self.seq,
            ts: self.ts,
            ssrc: self.ssrc,
        };
        self.ts = self.ts.wrapping_add(active.encoder.timestamp_step());
        if let Some(active) = self.active.as_mut() {
            active.encoder.note_foreign_packet(payload);
        }
        self.send_payload_buf(&header, payload.len())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, UdpSocket};

    use super::*;
    use crate::rtp;
    use crate::session::SessionConfig;
    use crate::tone::ToneGenerator;
    use crate::FRAME;

    fn session(codec: CodecKind, to: &UdpSocket) -> RtpSession {
        let mut s =
            RtpSession::bind(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap_or_else(|e| panic!("{e}"));
        let remote = to.local_addr().unwrap_or_else(|e| panic!("{e}"));
        s.configure(SessionConfig {
            remote,
            codec,
            pt: codec.default_pt(),
            telephone_event_pt: Some(101),
            rtcp_mux: true,
            srtp: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
        s
    }

    fn receive(sock: &UdpSocket) -> (RtpHeader, Vec<u8>) {
        let mut buf = [0u8; 2048];
        let n = sock.recv(&mut buf).unwrap_or_else(|e| panic!("{e}"));
        let (h, p) = rtp::parse(&buf[..n]).unwrap_or_else(|e| panic!("{e:?}"));
        (h, p.to_vec())
    }

    /// The follower sends the leader's payload byte for byte, on its own continuous stream
    /// (SSRC, sequence +1, timestamp +960 per frame, whether it encoded or followed).
    #[test]
    fn a_follower_sends_the_leaders_payload_on_its_own_stream() {
        let sink = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap_or_else(|e| panic!("{e}"));
        let (mut leader, mut follower) = (
            session(CodecKind::Opus, &sink),
            session(CodecKind::Opus, &sink),
        );
        assert_eq!(leader.encoder_key(), follower.encoder_key());
        assert_ne!(
            leader.encoder_key(),
            session(CodecKind::Pcmu, &sink).encoder_key()
        );
        let mut tone = ToneGenerator::new(440.0, -12.0);
        let mut frame = [0i16; FRAME];
        let mut last: Option<RtpHeader> = None;
        for tick in 0..6 {
            tone.fill(&mut frame);
            leader.send_frame(&frame).unwrap_or_else(|e| panic!("{e}"));
            let (_, from_leader) = receive(&sink);
            let follows = tick % 2 == 1;
            if follows {
                let payload = leader
                    .last_encoded()
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
                assert_eq!(payload, from_leader);
                follower
                    .send_encoded(&payload)
                    .unwrap_or_else(|e| panic!("{e}"));
            } else {
                follower
                    .send_frame(&frame)
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let (h, p) = receive(&sink);
            assert_eq!(h.ssrc, follower.ssrc());
            assert_eq!(h.pt, 111);
            if follows {
                assert_eq!(p, from_leader, "tick {tick}: the leader's bytes");
            }
            if let Some(prev) = last {
                assert_eq!(h.seq, prev.seq.wrapping_add(1), "tick {tick}");
                assert_eq!(h.ts, prev.ts.wrapping_add(960), "tick {tick}");
            }
            last = Some(h);
        }
    }
}
