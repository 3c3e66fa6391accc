//! One RTP stream over a non-blocking std UDP socket with RTCP mux.

use crate::codec::CodecKind;
use crate::{Frame, MediaError};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

/// What the session negotiated with the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    pub remote: SocketAddr,
    pub codec: CodecKind,
    pub pt: u8,
    pub telephone_event_pt: Option<u8>,
}

/// Receive-side quality figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Quality {
    pub jitter_ms: f32,
    pub loss_pct: f32,
    pub rtt_ms: Option<f32>,
    pub packets_received: u64,
    pub packets_sent: u64,
}

/// What `next_frame` produced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameStatus {
    /// Decoded from a received packet.
    Audio,
    /// Synthesised for a lost packet (FEC or PLC).
    Concealed,
    /// Nothing to play (no stream yet, or buffer empty): zeros.
    Silence,
}

/// One RTP stream over a non-blocking std UDP socket with RTCP mux. Driven by a 20 ms tick:
/// no tasks, no locks; steady state allocates nothing.
pub struct RtpSession {}

impl RtpSession {
    /// Bind an ephemeral UDP port on `ip`.
    pub fn bind(ip: IpAddr) -> std::io::Result<RtpSession> {
        let _ = ip;
        todo!()
    }
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        todo!()
    }
    /// Set (or change, on re-INVITE) the remote address and codec.
    pub fn configure(&mut self, cfg: SessionConfig) -> Result<(), MediaError> {
        let _ = cfg;
        todo!()
    }
    /// Drain the socket into the jitter buffer (symmetric RTP: latch to the source), handle RTCP;
    /// returns the DTMF digits that ended since the last call (into `dtmf_out`).
    pub fn poll_receive(&mut self, now: Instant, dtmf_out: &mut Vec<char>) {
        let _ = (now, dtmf_out);
        todo!()
    }
    /// The next 20 ms of received audio.
    pub fn next_frame(&mut self, out: &mut Frame) -> FrameStatus {
        let _ = out;
        todo!()
    }
    /// Encode and send one frame (or a DTMF event packet while one is queued).
    pub fn send_frame(&mut self, pcm: &Frame) -> std::io::Result<()> {
        let _ = pcm;
        todo!()
    }
    /// Queue an RFC 4733 event, sent over the next frames instead of audio.
    pub fn send_dtmf(&mut self, digit: char) -> std::io::Result<()> {
        let _ = digit;
        todo!()
    }
    /// Send an RTCP SR when the interval has passed.
    pub fn maybe_send_rtcp(&mut self, now: Instant) {
        let _ = now;
        todo!()
    }
    /// Current quality figures.
    pub fn quality(&self) -> Quality {
        todo!()
    }
    /// When the last valid RTP packet arrived.
    pub fn last_received(&self) -> Option<Instant> {
        todo!()
    }
}
