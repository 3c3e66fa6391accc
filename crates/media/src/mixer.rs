//! N-1 mixing for one room.

use crate::Frame;

/// N-1 mixing for one room without allocation after construction.
pub struct Mixer {}

impl Mixer {
    /// A mixer for up to `max_participants`.
    pub fn new(max_participants: usize) -> Self {
        let _ = max_participants;
        todo!()
    }
    /// inputs[i] = the frame participant i sends (None = nothing this tick); heard[i] = may others hear i;
    /// outputs[i] receives the sum of every other heard input (saturating).
    pub fn mix(&mut self, inputs: &[Option<&Frame>], heard: &[bool], outputs: &mut [Frame]) {
        let _ = (inputs, heard, outputs);
        todo!()
    }
}
