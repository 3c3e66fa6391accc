//! Decoded audio waiting to be played: the FIFO between packets of any duration and the 20 ms
//! frames the caller takes. Fixed capacity, allocated once.

use super::FrameStatus;
use crate::codec::MAX_PACKET_SAMPLES;
use crate::{Frame, FRAME};

/// Room for the longest packet on top of almost a frame: the player only decodes while less
/// than a frame is buffered.
pub(super) const CAPACITY: usize = MAX_PACKET_SAMPLES + FRAME;

pub(super) struct PcmFifo {
    pcm: Box<[i16; CAPACITY]>,
    /// Which buffered samples were concealed rather than decoded.
    concealed: Box<[bool; CAPACITY]>,
    len: usize,
}

impl PcmFifo {
    pub fn new() -> Self {
        PcmFifo {
            pcm: Box::new([0; CAPACITY]),
            concealed: Box::new([false; CAPACITY]),
            len: 0,
        }
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Buffered samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The free space after the buffered samples: decode into it, then `commit`.
    pub fn room(&mut self) -> &mut [i16] {
        &mut self.pcm[self.len..]
    }

    /// Make the first `n` samples of `room()` part of the buffer.
    pub fn commit(&mut self, n: usize, concealed: bool) {
        let n = n.min(CAPACITY - self.len);
        self.concealed[self.len..self.len + n].fill(concealed);
        self.len += n;
    }

    /// Append `n` samples of silence (as concealment).
    pub fn push_silence(&mut self, n: usize) {
        let n = n.min(CAPACITY - self.len);
        self.pcm[self.len..self.len + n].fill(0);
        self.commit(n, true);
    }

    /// Move one frame out (zero-padded when less is buffered). Concealed when any of its
    /// samples was; Silence when nothing was buffered.
    pub fn take_frame(&mut self, out: &mut Frame) -> FrameStatus {
        let n = self.len.min(FRAME);
        if n == 0 {
            out.fill(0);
            return FrameStatus::Silence;
        }
        out[..n].copy_from_slice(&self.pcm[..n]);
        out[n..].fill(0);
        // An OR over the whole span (no early exit) compiles to a few vector instructions; the
        // early-exit `contains` was a byte loop (a third of a mixed leg's playout time).
        let status = if self.concealed[..n].iter().fold(false, |any, &c| any | c) {
            FrameStatus::Concealed
        } else {
            FrameStatus::Audio
        };
        self.pcm.copy_within(n..self.len, 0);
        self.concealed.copy_within(n..self.len, 0);
        self.len -= n;
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_in_order_across_packet_boundaries() {
        let mut f = PcmFifo::new();
        // A 30 ms packet, then 10 ms concealed.
        for (i, s) in f.room()[..1440].iter_mut().enumerate() {
            *s = i as i16;
        }
        f.commit(1440, false);
        f.push_silence(480);
        let mut out = [0i16; FRAME];
        assert_eq!(f.take_frame(&mut out), FrameStatus::Audio);
        assert_eq!((out[0], out[959]), (0, 959));
        assert_eq!(f.take_frame(&mut out), FrameStatus::Concealed);
        assert_eq!((out[0], out[479], out[480]), (960, 1439, 0));
        assert_eq!(f.len(), 0);
        assert_eq!(f.take_frame(&mut out), FrameStatus::Silence);
        assert!(out.iter().all(|&s| s == 0));
    }

    #[test]
    fn commit_never_overflows() {
        let mut f = PcmFifo::new();
        f.commit(CAPACITY + 5, false);
        assert_eq!(f.len(), CAPACITY);
        assert!(f.room().is_empty());
        f.push_silence(10);
        assert_eq!(f.len(), CAPACITY);
    }
}
