//! Parsing and writing SDP text.

use super::{Direction, Sdp, SdpError};
use std::net::IpAddr;

impl Sdp {
    /// Parse an SDP body (the first audio m-line; error if none).
    pub fn parse(text: &str) -> Result<Sdp, SdpError> {
        let _ = text;
        todo!()
    }

    /// Our offer: Opus/48000/2 pt 111, PCMU 0, PCMA 8, telephone-event/8000 101.
    pub fn offer(address: IpAddr, port: u16, session_id: u64, direction: Direction) -> Sdp {
        let _ = (address, port, session_id, direction);
        todo!()
    }
}

impl std::fmt::Display for Sdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = f;
        todo!()
    }
}
