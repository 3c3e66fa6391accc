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
