//! Shared encodes in a mixing room (issue 9 point 1): legs that hear the same frame on the same
//! codec, with encoders set alike, get one encode.
//!
//! Which legs hear the same frame: with N-1 mixing a leg hears the sum of every heard input
//! minus its own, so every leg that adds nothing to the sum hears the same frame — the whole
//! sum. That is a listen-only trainee or supervisor, a whispering supervisor (it hears the room;
//! only the agent hears it), and a party whose phone sent nothing this tick or exact digital
//! silence (muted, DTX, not started yet). A party that speaks hears a mix of its own; a leg a
//! supervisor whispers to hears the mix plus the whisper; a held leg hears music on hold from
//! its own position in the loop; a leg whose source switches this tick hears a crossfade; a leg
//! sending a DTMF event sends that instead of audio — each of these encodes alone.
//!
//! Encoders set alike: the same codec and, for Opus, the same loss hint (which sets bitrate and
//! FEC from that leg's RTCP reports; `agentphone_media::session::EncoderKey`). A leg on a lossy
//! path keeps its own FEC-carrying encode rather than sharing a clean leg's: each path gets the
//! protection its own receiver reports, and legs on clean paths (all at hint 0) share.
//!
//! Of each group of two or more, the first leg (join order) encodes with its own encoder and
//! the others send its payload under their own SSRC, sequence and timestamp. A leg that stops
//! following encodes with its own encoder again, primed first with the frame it heard last
//! tick, so that encoder continues from the audio the phone was hearing (as on the switch back
//! from relaying).

use super::{Hearing, MediaLeg, MAX_LEGS};
use crate::media_engine::LegMode;
use agentphone_media::Frame;

/// For each leg, whose encode it sends this tick: `None` its own, `Some(j)` leg `j`'s (an
/// earlier leg, so its payload is ready when this leg sends).
pub(super) type Leaders = [Option<usize>; MAX_LEGS];

/// Which legs send another leg's encode this tick. `contributes[i]`: leg `i`'s input is in the
/// mix others hear (heard, received and not exact silence).
pub(super) fn plan(legs: &[MediaLeg], contributes: &[bool]) -> Leaders {
    let mut leaders: Leaders = [None; MAX_LEGS];
    let mut leads = [false; MAX_LEGS];
    for (i, leg) in legs.iter().enumerate().take(MAX_LEGS) {
        if !hears_the_whole_mix(legs, i, contributes) {
            continue;
        }
        let Some(key) = leg.session.encoder_key() else {
            continue;
        };
        // The first earlier leg of this key hearing the whole mix leads; else this leg would.
        let leader = (0..i).find(|&j| {
            leads.get(j).copied().unwrap_or(false)
                && legs.get(j).and_then(|l| l.session.encoder_key()) == Some(key)
        });
        match leader {
            Some(j) => {
                if let Some(slot) = leaders.get_mut(i) {
                    *slot = Some(j);
                }
            }
            None => {
                if let Some(slot) = leads.get_mut(i) {
                    *slot = true;
                }
            }
        }
    }
    leaders
}

/// Does leg `i` hear exactly the sum of all heard inputs, and send it as audio?
fn hears_the_whole_mix(legs: &[MediaLeg], i: usize, contributes: &[bool]) -> bool {
    let Some(leg) = legs.get(i) else {
        return false;
    };
    let whispered_to = legs
        .iter()
        .any(|l| matches!(l.mode, LegMode::Whisper { to } if to == leg.id));
    Hearing::from(leg.mode) == Hearing::Mix
        && leg.hearing == Hearing::Mix
        && !contributes.get(i).copied().unwrap_or(true)
        && !whispered_to
        && !leg.session.sending_dtmf()
}

/// Is `frame` exact digital silence (subtracting it changes nothing)?
pub(super) fn is_silent(frame: &Frame) -> bool {
    frame.iter().all(|&s| s == 0)
}

/// Send leg `i`'s frame: the payload of its leader when it has one (and that leader encoded),
/// else its own encode of `pcm` — after priming its encoder with `heard_last` if it followed
/// last tick. Returns whether it followed.
pub(super) fn send(
    legs: &mut [MediaLeg],
    i: usize,
    leader: Option<usize>,
    pcm: &Frame,
    heard_last: &Frame,
) -> bool {
    if let Some(j) = leader.filter(|&j| j < i) {
        let (before, from_i) = legs.split_at_mut(i);
        if let (Some(lead), Some(leg)) = (before.get(j), from_i.first_mut()) {
            if let Some(payload) = lead.session.last_encoded() {
                if let Err(e) = leg.session.send_encoded(payload) {
                    tracing::trace!(error = %e, "RTP send failed");
                }
                leg.following = true;
                return true;
            }
        }
    }
    let Some(leg) = legs.get_mut(i) else {
        return false;
    };
    if std::mem::replace(&mut leg.following, false) {
        leg.session.prime_encoder(heard_last);
    }
    if let Err(e) = leg.session.send_frame(pcm) {
        tracing::trace!(error = %e, "RTP send failed");
    }
    false
}
