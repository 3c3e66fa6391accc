//! Speaking levels of relayed parties through the real tick over loopback UDP: a talking party
//! gets a level at once, and its silence is reported within a few windows — long before the
//! refresh — because the payload sizes tell the gate that the talk changed.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::relay_level::LEVEL_REFRESH_EVERY;
use super::relay_test::{leg, Phone};
use super::{tick_room, MediaRoom, Sources};
use crate::media_engine::level::WINDOW_FRAMES;
use crate::media_engine::moh::{fallback_music, fallback_ringback, LoopedAudio};
use crate::media_engine::MediaEventKind;

#[test]
fn relayed_talk_and_silence_are_reported_without_waiting_for_the_refresh() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(2, Duration::from_secs(3600), events);
    let (mut alice, mut bob) = (Phone::new(ip, 600.0), Phone::new(ip, 900.0));
    let start = Instant::now();
    let (a_leg, a_addr, _) = leg(ip, 0, &alice, start);
    let (b_leg, b_addr, _) = leg(ip, 1, &bob, start);
    room.add_leg(a_leg);
    room.add_leg(b_leg);
    let mut sources = Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    );
    // Alice talks for 3 s, is silent for 3 s, talks again; bob talks throughout.
    let (silent_at, talk_again_at, ticks) = (150u32, 300u32, 450u32);
    let mut alice_levels: Vec<(u32, u8)> = Vec::new();
    for t in 0..ticks {
        alice.talking = !(silent_at..talk_again_at).contains(&t);
        let now = start + Duration::from_millis(20 * u64::from(t));
        alice.send_to(a_addr);
        bob.send_to(b_addr);
        // Loopback queues both packets during the sends (one arriving a tick late only makes
        // the gate measure more, never less).
        tick_room(&mut room, &mut sources, now);
        assert!(room.is_relaying() || t == 0, "tick {t}: relaying");
        alice.receive();
        bob.receive();
        while let Ok(ev) = rx.try_recv() {
            if let (0, MediaEventKind::Level(l)) = (ev.leg, ev.kind) {
                alice_levels.push((t, l));
            }
        }
    }
    let first_talk = alice_levels.iter().find(|&&(_, l)| l > 0);
    assert!(
        first_talk.is_some_and(|&(t, _)| t < 3 * WINDOW_FRAMES),
        "talking shows within the first windows: {alice_levels:?}"
    );
    let silent = alice_levels
        .iter()
        .find(|&&(t, l)| t >= silent_at && l == 0)
        .map(|&(t, _)| t);
    let refresh = WINDOW_FRAMES * LEVEL_REFRESH_EVERY;
    assert!(
        silent.is_some_and(|t| t - silent_at <= 4 * WINDOW_FRAMES && t - silent_at < refresh),
        "silence is reported within 4 windows: {alice_levels:?}"
    );
    let again = alice_levels
        .iter()
        .find(|&&(t, l)| t >= talk_again_at && l > 0)
        .map(|&(t, _)| t);
    assert!(
        again.is_some_and(|t| t - talk_again_at <= 4 * WINDOW_FRAMES),
        "talk again within 4 windows: {alice_levels:?}"
    );
}
