//! Hold and resume through the real tick path, heard by a phone over loopback RTP (Opus): the
//! energy above 9 kHz around each switch must stay near that of the frames around it. A hard cut
//! (the "before" figure, measured in the same run) is a broadband click far above them.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use agentphone_media::codec::CodecKind;
use agentphone_media::session::{RtpSession, SessionConfig};
use agentphone_media::tone::ToneGenerator;
use agentphone_media::{Frame, FRAME, SAMPLE_RATE};

use super::moh::{fallback_music, fallback_ringback, LoopedAudio};
use super::tick::{tick_room, MediaLeg, MediaRoom, Sources};
use super::LegMode;

const HOLD_AT: usize = 60;
const RESUME_AT: usize = 120;
const TICKS: usize = 180;
/// Analysis window: 5 ms.
const WINDOW: usize = 240;
const WINDOWS_PER_FRAME: usize = FRAME / WINDOW;

fn configure(s: &mut RtpSession, remote: std::net::SocketAddr) {
    s.configure(SessionConfig {
        remote,
        codec: CodecKind::Opus,
        pt: 111,
        telephone_event_pt: None,
        rtcp_mux: true,
        srtp: None,
    })
    .unwrap_or_else(|e| panic!("configure: {e}"));
}

/// The switch a scenario makes at [`HOLD_AT`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Switch {
    /// The agent is put on hold (hears music, is no longer heard), resumed at [`RESUME_AT`].
    Hold,
    /// A silent third party joins (a relayed call switches to mixing for good).
    ThirdJoins,
}

/// An RTP session bound on `ip`, not yet configured.
fn session(ip: IpAddr) -> RtpSession {
    RtpSession::bind(ip).unwrap_or_else(|e| panic!("bind: {e}"))
}

/// A server leg and the phone it talks to, each sending Opus to the other.
fn leg_and_phone(ip: IpAddr) -> (RtpSession, RtpSession) {
    let (mut leg, mut phone) = (session(ip), session(ip));
    configure(&mut leg, phone.local_addr());
    configure(&mut phone, leg.local_addr());
    (leg, phone)
}

/// What the agent's and the customer's phones hear while the customer sends a 1 kHz tone, the
/// agent a 1.5 kHz tone, and `switch` happens at [`HOLD_AT`]. Virtual time: one tick per 20 ms
/// step. With `relay` the two-party room relays until then (relay → mix at the switch, mix →
/// relay after the resume); without, it transcodes throughout.
fn both_hear(switch: Switch, hard_cut: bool, relay: bool) -> (Vec<i16>, Vec<i16>) {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let (events, _events_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut room = MediaRoom::new(3, Duration::from_secs(3600), events);
    if hard_cut {
        room.set_hard_cut();
    }
    room.set_relay(relay);
    let (agent_leg, mut agent_phone) = leg_and_phone(ip);
    let (customer_leg, mut customer_phone) = leg_and_phone(ip);
    let (third_leg, mut third_phone) = leg_and_phone(ip);
    let start = Instant::now();
    room.add_leg(MediaLeg::new(0, agent_leg, LegMode::Mixed, false, start));
    room.add_leg(MediaLeg::new(1, customer_leg, LegMode::Mixed, false, start));
    let mut third = Some(MediaLeg::new(2, third_leg, LegMode::Mixed, false, start));
    let mut sources = Sources::new(
        LoopedAudio::new(fallback_music()),
        LoopedAudio::new(fallback_ringback()),
    );
    let mut tone = ToneGenerator::new(1000.0, -12.0);
    let mut agent_tone = ToneGenerator::new(1500.0, -12.0);
    let (mut frame, mut heard): (Frame, Frame) = ([0; FRAME], [0; FRAME]);
    let mut digits = Vec::new();
    let mut agent_out = Vec::with_capacity(TICKS * FRAME);
    let mut customer_out = Vec::with_capacity(TICKS * FRAME);
    let joined = |t: usize| switch == Switch::ThirdJoins && t >= HOLD_AT;
    for t in 0..TICKS {
        let now = start + Duration::from_millis(20 * t as u64);
        match switch {
            Switch::Hold if t == HOLD_AT || t == RESUME_AT => {
                let mode = if t == HOLD_AT {
                    LegMode::Held
                } else {
                    LegMode::Mixed
                };
                if let Some(leg) = room.leg_mut(0) {
                    leg.set_mode(mode);
                }
            }
            Switch::ThirdJoins if t == HOLD_AT => {
                if let Some(leg) = third.take() {
                    room.add_leg(leg);
                }
            }
            _ => {}
        }
        tone.fill(&mut frame);
        let _ = customer_phone.send_frame(&frame);
        agent_tone.fill(&mut frame);
        let _ = agent_phone.send_frame(&frame);
        if joined(t) {
            let _ = third_phone.send_frame(&[0; FRAME]);
        }
        tick_room(&mut room, &mut sources, now);
        let relays_again = switch == Switch::Hold && t == RESUME_AT + 2;
        if relay && (t == HOLD_AT - 1 || relays_again) {
            assert!(room.is_relaying(), "two parties relay at tick {t}");
        }
        if t == HOLD_AT {
            assert!(!room.is_relaying(), "the switch mixes");
        }
        for phone in [&mut agent_phone, &mut customer_phone, &mut third_phone] {
            phone.poll_receive(now, &mut digits);
        }
        agent_phone.next_frame(&mut heard);
        agent_out.extend_from_slice(&heard);
        customer_phone.next_frame(&mut heard);
        customer_out.extend_from_slice(&heard);
        if joined(t) {
            third_phone.next_frame(&mut heard);
        }
    }
    (agent_out, customer_out)
}

/// A 4th-order Butterworth high-pass at `cutoff` Hz (two RBJ biquads).
fn high_pass(samples: &[i16], cutoff: f64) -> Vec<f64> {
    let mut x: Vec<f64> = samples.iter().map(|&s| f64::from(s) / 32768.0).collect();
    for q in [0.541_196_1, 1.306_563] {
        let w = std::f64::consts::TAU * cutoff / f64::from(SAMPLE_RATE);
        let alpha = w.sin() / (2.0 * q);
        let cos = w.cos();
        let a0 = 1.0 + alpha;
        let b = [(1.0 + cos) / 2.0, -(1.0 + cos), (1.0 + cos) / 2.0].map(|v| v / a0);
        let a = [-2.0 * cos / a0, (1.0 - alpha) / a0];
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in x.iter_mut() {
            let y = b[0] * *v + b[1] * x1 + b[2] * x2 - a[0] * y1 - a[1] * y2;
            (x2, x1, y2, y1) = (x1, *v, y1, y);
            *v = y;
        }
    }
    x
}

/// Energy (dBFS, floor -100) above 9 kHz per 5 ms window.
pub(super) fn hf_energy_db(samples: &[i16]) -> Vec<f64> {
    high_pass(samples, 9_000.0)
        .chunks(WINDOW)
        .map(|w| {
            let mean = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
            10.0 * (mean + 1e-10).log10()
        })
        .collect()
}

/// How far (dB) the loudest high-frequency window within 8 frames after the switch at tick `at`
/// rises above its louder side: the mean of the windows 12–40 frames before it, or after it (a
/// switch between a loud and a quiet source may be as loud as the loud one, no louder).
pub(super) fn click_db(hf: &[f64], at: usize) -> f64 {
    let frames = |a: usize, b: usize| hf.get(a * WINDOWS_PER_FRAME..b * WINDOWS_PER_FRAME);
    let peak = frames(at, at + 8)
        .unwrap_or_default()
        .iter()
        .copied()
        .fold(f64::MIN, f64::max);
    let mean_db = |side: Option<&[f64]>| {
        let side = side.unwrap_or_default();
        let sum: f64 = side.iter().map(|db| 10f64.powf(db / 10.0)).sum();
        10.0 * (sum / side.len().max(1) as f64 + 1e-10).log10()
    };
    let louder_side = mean_db(frames(at - 40, at - 12)).max(mean_db(frames(at + 12, at + 40)));
    peak - louder_side
}

/// The click figures (dB) at hold and resume, heard by the agent and by the customer.
fn clicks(hard_cut: bool, relay: bool) -> [f64; 4] {
    let (agent, customer) = both_hear(Switch::Hold, hard_cut, relay);
    let (agent, customer) = (hf_energy_db(&agent), hf_energy_db(&customer));
    [
        click_db(&agent, HOLD_AT),
        click_db(&agent, RESUME_AT),
        click_db(&customer, HOLD_AT),
        click_db(&customer, RESUME_AT),
    ]
}

#[test]
fn hold_and_resume_do_not_click() {
    let (before, after) = (clicks(true, false), clicks(false, false));
    let relayed = clicks(false, true);
    for (who, i) in [
        ("agent (tone ↔ music)", 0),
        ("customer (agent fades out/in)", 2),
    ] {
        println!(
            "{who}: energy > 9 kHz at the switch above its neighbours: hold {:.1} dB / resume \
             {:.1} dB with a hard cut, {:.1} dB / {:.1} dB with the crossfade",
            before[i],
            before[i + 1],
            after[i],
            after[i + 1]
        );
        println!(
            "{who}, relayed before the hold and after the resume: hold (relay → mix) {:.1} dB / \
             resume (mix → relay) {:.1} dB",
            relayed[i],
            relayed[i + 1]
        );
    }
    assert!(
        before.iter().all(|&db| db > 20.0),
        "the measurement must see the hard cut's click: {before:?}"
    );
    assert!(
        after.iter().all(|&db| db < 10.0),
        "crossfaded switches click: {after:?}"
    );
    assert!(
        relayed.iter().all(|&db| db < 10.0),
        "switches between relay and mix click: {relayed:?}"
    );
}

#[test]
fn a_third_party_joining_a_relayed_call_does_not_click() {
    let (agent, customer) = both_hear(Switch::ThirdJoins, false, true);
    let (agent, customer) = (
        click_db(&hf_energy_db(&agent), HOLD_AT),
        click_db(&hf_energy_db(&customer), HOLD_AT),
    );
    println!(
        "a third party joins a relayed call: energy > 9 kHz at the switch above its \
         neighbours: heard by the agent {agent:.1} dB, by the customer {customer:.1} dB"
    );
    assert!(
        agent < 10.0 && customer < 10.0,
        "relay → mix on a join clicks: agent {agent:.1} dB, customer {customer:.1} dB"
    );
}
