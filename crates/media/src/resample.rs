//! Resampling: fixed 48k↔8k polyphase FIR for G.711, and a general-ratio resampler for devices.
