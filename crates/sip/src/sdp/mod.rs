//! SDP (RFC 4566) for one audio stream and offer/answer (RFC 3264).

mod negotiate;
mod parse;
mod types;
mod write;

pub use negotiate::{accept_answer, answer, Negotiated};
pub use types::{Crypto, Direction, Format, Sdp, SdpError, RTP_AVP, RTP_SAVP};
