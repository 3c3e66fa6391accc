//! Two-party relay (issue 9 point 1): a room with exactly two legs that hear each other on the
//! same codec forwards payloads instead of decoding, mixing and encoding them (see
//! `agentphone_media::session` for the rewriting). The room switches to mixing the moment that
//! stops being true — a third leg, hold or ringback, listen-only, a codec change, a DTMF digit
//! the server sends — and back once the switch has settled (crossfades done).
//!
//! Relayed audio is decoded for the speaking level only in the level windows that may show a
//! change (see [`relay_level`](super::relay_level)); the switch back to mixing warms the decoder
//! on the last relayed packet anyway.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;

use super::{check_timeout, MediaLeg, MediaRoom};
use crate::media_engine::{LegMode, MediaEvent, MediaEventKind};

/// Can the room relay this tick?
pub(super) fn can_relay(legs: &[MediaLeg]) -> bool {
    let [a, b] = legs else {
        return false;
    };
    let hears_other = |l: &MediaLeg| l.mode == LegMode::Mixed && l.settled();
    hears_other(a)
        && hears_other(b)
        && a.session.codec().is_some()
        && a.session.codec() == b.session.codec()
        && !a.session.sending_dtmf()
        && !b.session.sending_dtmf()
}

/// Start (`on`) or stop relaying between the room's two legs.
pub(super) fn switch(room: &mut MediaRoom, on: bool, now: Instant) {
    room.relaying = on;
    // Switching either way primes the encoders that need it (below); no shared encode is
    // followed across a relay.
    for leg in room.legs.iter_mut() {
        leg.following = false;
        leg.level_gate.restart();
    }
    // The pair that relayed is the first two legs: a leg that joins is added after them, and
    // its joining is a switch to mixing like any other (without the priming below both phones
    // clicked, 23 and 36 dB above 9 kHz in `click_test.rs`).
    let pair_relayed = matches!(
        room.legs.as_slice(),
        [a, b, ..] if a.session.is_relaying() && b.session.is_relaying()
    );
    let mut primed = false;
    if let [a, b, ..] = room.legs.as_mut_slice() {
        if on {
            a.session.start_relay_to(&mut b.session, now);
            b.session.start_relay_to(&mut a.session, now);
            return;
        }
        if pair_relayed {
            // Warm the decoders first: that yields the tails the encoders are primed with.
            a.session.stop_relay();
            b.session.stop_relay();
            a.session.prime_encoder(b.session.relayed_tail());
            b.session.prime_encoder(a.session.relayed_tail());
            primed = true;
        }
    }
    // Whatever relayed, decoding resumes.
    for (i, leg) in room.legs.iter_mut().enumerate() {
        if !(primed && i < 2) {
            leg.session.stop_relay();
        }
        leg.session.set_downstream_loss(0);
        leg.session.end_relay_from(now);
    }
}

/// One relayed tick: forward what each leg received to the other; levels, DTMF reports, RTP
/// timeouts and RTCP as in a mixed tick.
pub(super) fn tick(room: &mut MediaRoom, now: Instant) {
    let (events, timeout) = (&room.events, room.rtp_timeout);
    let [a, b] = room.legs.as_mut_slice() else {
        return;
    };
    let ctx = Ctx {
        events,
        timeout,
        level_every: room.relay_level_every,
        read: !room.arrivals_watched,
        now,
    };
    relay_leg(a, b, &ctx);
    relay_leg(b, a, &ctx);
}

/// Between ticks: forward what arrived on the leg at index `leg` now (relay on arrival: a
/// packet waits for no tick). Levels, timeouts and RTCP stay with the tick.
pub(super) fn forward_arrivals(room: &mut MediaRoom, leg: usize, now: Instant) {
    let [a, b] = room.legs.as_mut_slice() else {
        return;
    };
    match leg {
        0 => forward(a, b, &room.events, now),
        1 => forward(b, a, &room.events, now),
        _ => {}
    }
}

/// Forward what `from` received to `to`, and tell the room actor of DTMF digits (the event
/// packets themselves were relayed).
fn forward(
    from: &mut MediaLeg,
    to: &mut MediaLeg,
    events: &UnboundedSender<MediaEvent>,
    now: Instant,
) {
    from.dtmf.clear();
    from.session
        .poll_relay(now, &mut from.dtmf, &mut to.session);
    for &digit in from.dtmf.iter() {
        let _ = events.send(MediaEvent {
            leg: from.id,
            kind: MediaEventKind::Dtmf(digit),
        });
    }
}

/// What relaying one leg needs from its room.
struct Ctx<'a> {
    events: &'a UnboundedSender<MediaEvent>,
    timeout: Duration,
    /// Decode at least one level window in this many (see [`super::relay_level`]).
    level_every: u32,
    /// Read the sockets (false: the worker's arrival wait reads them as packets arrive).
    read: bool,
    now: Instant,
}

fn relay_leg(from: &mut MediaLeg, to: &mut MediaLeg, ctx: &Ctx) {
    let (events, now) = (ctx.events, ctx.now);
    let cheap = from.session.relayed_level_is_cheap();
    let measuring = from.level_gate.measuring(ctx.level_every, cheap);
    // Decoding for the level applies to what arrives until the next tick, too.
    from.session.set_relay_decode(measuring);
    if ctx.read {
        forward(from, to, events, now);
    }
    let energy = from.session.take_relayed_energy();
    let (bytes, packets) = from.session.take_relayed_bytes();
    let level = from
        .level_gate
        .relayed(bytes, packets, energy)
        .and_then(|(sum_squares, samples)| from.level.whole_window(sum_squares, samples));
    if let Some(level) = level {
        let _ = events.send(MediaEvent {
            leg: from.id,
            kind: MediaEventKind::Level(level),
        });
    }
    check_timeout(from, now, ctx.timeout, events);
    from.session
        .set_downstream_loss(to.session.peer_reported_fraction_lost());
    from.session.maybe_send_rtcp(now);
}
