//! Taking a phone's Opus stream over from another encoder without a click (issue 9 point 4).
//!
//! When our encoder continues a stream the phone was decoding from another encoder — the peer
//! phone's, relayed, or a shared encode — the phone's decoder is in that encoder's coding mode.
//! Our encoder decides its mode (CELT-only, or SILK/hybrid) from its own history, which may be
//! seconds old or a few frames long. When the modes differ, the decoder switches mode without
//! the redundancy frame an encoder sends for its own switches, and the first frame carries a
//! burst above 8 kHz: `bench/voice-quality` measured 13.9 and 18.5 dB above its neighbours at
//! hold (limit 10) where the relayed phone was in CELT-only mode (a steady tone) and the
//! server's encoder, used for two frames at the call's start, chose hybrid.
//!
//! So the newest packet of the other stream that went out on ours is remembered, and priming
//! sets our encoder's signal hint to that packet's mode (music → CELT-only, voice →
//! SILK/hybrid) for [`HINTED_FRAMES`]. The priming frame itself (dropped) absorbs our encoder's
//! own switch into that mode; the first frame sent continues the decoder's mode. After
//! [`HINTED_FRAMES`] the hint is back to auto, the encoder's analysis warmed on what it encoded,
//! and any later switch is the encoder's own (with its redundancy).

/// Frames encoded with the hint before it returns to auto: 0.5 s. In a libopus 1.3.1 table
/// (tone then the same tone through a second encoder) a second encoder with no or little
/// history clicked until it had encoded ≈ 25 frames before the switch.
pub(crate) const HINTED_FRAMES: u8 = 25;

/// The coding mode an Opus packet's TOC byte names (RFC 6716 §3.1: configurations 0–11
/// SILK-only, 12–15 hybrid, 16–31 CELT-only), as the signal hint that makes an encoder choose it.
fn signal_for(toc: u8) -> opus::Signal {
    if toc >> 3 >= 16 {
        opus::Signal::Music
    } else {
        opus::Signal::Voice
    }
}

/// Per encoder: the other stream's newest packet mode, and the hint in force.
#[derive(Debug, Default)]
pub(crate) struct Takeover {
    /// TOC byte of the newest packet another encoder made that went out on our stream since
    /// our own last encode.
    foreign_toc: Option<u8>,
    /// Frames left with the hint set by [`Takeover::before_prime`].
    hinted: u8,
}

impl Takeover {
    /// Another encoder's `payload` went out on our stream.
    pub(crate) fn note_foreign(&mut self, payload: &[u8]) {
        if let Some(&toc) = payload.first() {
            self.foreign_toc = Some(toc);
        }
    }

    /// Before a priming encode: when the phone last decoded another encoder's packet, hint
    /// `enc` into that packet's mode.
    pub(crate) fn before_prime(&mut self, enc: &mut opus::Encoder) {
        let Some(toc) = self.foreign_toc.take() else {
            return;
        };
        if enc.set_signal(signal_for(toc)).is_ok() {
            self.hinted = HINTED_FRAMES;
        }
    }

    /// After each encode (priming included): our stream is ours again; the hint runs out.
    pub(crate) fn after_encode(&mut self, enc: &mut opus::Encoder) {
        self.foreign_toc = None;
        if self.hinted == 0 {
            return;
        }
        self.hinted -= 1;
        if self.hinted == 0 {
            // Back to auto; failing that the hint stays, which only biases the mode.
            let _ = enc.set_signal(opus::Signal::Auto);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_toc_configuration_names_the_mode() {
        // Configuration 31 (CELT-only FB 20 ms), 15 (hybrid FB 20 ms), 9 (SILK WB 20 ms).
        assert_eq!(signal_for(31 << 3), opus::Signal::Music);
        assert_eq!(signal_for(16 << 3 | 0b011), opus::Signal::Music);
        assert_eq!(signal_for(15 << 3), opus::Signal::Voice);
        assert_eq!(signal_for(9 << 3), opus::Signal::Voice);
    }

    fn signal(enc: &mut opus::Encoder) -> opus::Signal {
        enc.get_signal()
            .unwrap_or_else(|e| panic!("get_signal: {e}"))
    }

    #[test]
    fn the_hint_is_set_by_priming_after_a_foreign_packet_and_runs_out() {
        let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Audio)
            .unwrap_or_else(|e| panic!("encoder: {e}"));
        let mut t = Takeover::default();
        // No foreign packet since our own last encode: priming leaves the hint alone.
        t.note_foreign(&[31 << 3]);
        t.after_encode(&mut enc);
        t.before_prime(&mut enc);
        assert_eq!(signal(&mut enc), opus::Signal::Auto);
        // The newest foreign packet decides.
        t.note_foreign(&[31 << 3]);
        t.note_foreign(&[15 << 3]);
        t.before_prime(&mut enc);
        assert_eq!(signal(&mut enc), opus::Signal::Voice);
        for _ in 1..HINTED_FRAMES {
            t.after_encode(&mut enc);
        }
        assert_eq!(signal(&mut enc), opus::Signal::Voice);
        t.after_encode(&mut enc);
        assert_eq!(signal(&mut enc), opus::Signal::Auto);
    }
}
