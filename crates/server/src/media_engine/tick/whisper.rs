//! Whisper (SPEC V2): a supervisor's leg in [`LegMode::Whisper`] is not in the N-1 mix (the
//! mixer sees it as not heard, so it hears everyone) and its frame is added to the output of the
//! one leg it whispers to — the agent hears the supervisor, the customer does not.

use agentphone_media::Frame;

use super::MediaLeg;
use crate::media_engine::LegMode;

/// Add each whispering leg's input (`inputs[i]`, None: nothing this tick) to the output of the
/// leg it whispers to (saturating). A target that is not in the room gets nothing.
pub(super) fn add(legs: &[MediaLeg], inputs: &[Option<&Frame>], outputs: &mut [Frame]) {
    for (leg, input) in legs.iter().zip(inputs.iter()) {
        let (LegMode::Whisper { to }, Some(frame)) = (leg.mode, input) else {
            continue;
        };
        let Some(out) = legs
            .iter()
            .position(|l| l.id == to)
            .and_then(|j| outputs.get_mut(j))
        else {
            continue;
        };
        for (o, &s) in out.iter_mut().zip(frame.iter()) {
            *o = o.saturating_add(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Instant;

    use agentphone_media::mixer::Mixer;
    use agentphone_media::session::RtpSession;
    use agentphone_media::FRAME;

    use super::*;

    /// The customer (leg 1), the agent (leg 2) and the supervisor (leg 3) send constant frames
    /// of 1, 20 and 300 (the supervisor: `Some` or nothing this tick); what each of the three
    /// hears after the N-1 mix and the whisper step, as a tick does them.
    fn heard(supervisor: LegMode, sends: bool) -> [i16; 3] {
        let now = Instant::now();
        let modes = [LegMode::Mixed, LegMode::Mixed, supervisor];
        let legs: Vec<MediaLeg> = modes
            .iter()
            .zip(1u32..)
            .map(|(mode, id)| {
                let session = RtpSession::bind(IpAddr::V4(Ipv4Addr::LOCALHOST))
                    .unwrap_or_else(|e| panic!("{e}"));
                MediaLeg::new(id, session, *mode, false, now)
            })
            .collect();
        let frames = [[1i16; FRAME], [20; FRAME], [300; FRAME]];
        let inputs = [
            Some(&frames[0]),
            Some(&frames[1]),
            sends.then_some(&frames[2]),
        ];
        let is_heard = modes.map(LegMode::is_heard);
        let mut outputs = [[0i16; FRAME]; 3];
        Mixer::new(3).mix(&inputs, &is_heard, &mut outputs);
        add(&legs, &inputs, &mut outputs);
        outputs.map(|o| {
            assert!(o.iter().all(|s| *s == o[0]), "a whole frame alike");
            o[0]
        })
    }

    /// SPEC V2 at the mixer: whispering, the agent hears the customer and the supervisor, the
    /// customer hears the agent only; barge: everyone hears everyone; listen: nobody hears the
    /// supervisor. The supervisor hears both parties in every mode.
    #[test]
    fn a_whisper_reaches_the_agent_and_not_the_customer() {
        let cases: [(&str, LegMode, bool, [i16; 3]); 5] = [
            (
                "whisper to the agent",
                LegMode::Whisper { to: 2 },
                true,
                [20, 301, 21],
            ),
            ("barge", LegMode::Mixed, true, [320, 301, 21]),
            ("listen", LegMode::ListenOnly, true, [20, 1, 21]),
            (
                "whisper, nothing sent this tick",
                LegMode::Whisper { to: 2 },
                false,
                [20, 1, 21],
            ),
            (
                "whisper to a leg not in the room",
                LegMode::Whisper { to: 9 },
                true,
                [20, 1, 21],
            ),
        ];
        for (case, mode, sends, want) in cases {
            assert_eq!(
                heard(mode, sends),
                want,
                "{case}: customer, agent, supervisor hear"
            );
        }
    }
}
