//! Offer/answer (RFC 3264).

use super::{Direction, Format, Sdp, SdpError};
use std::net::{IpAddr, SocketAddr};

/// Result of an offer/answer exchange.
#[derive(Clone, Debug)]
pub struct Negotiated {
    /// Our answer (or the remote answer for the offerer).
    pub answer: Sdp,
    /// The chosen audio codec.
    pub codec: Format,
    /// telephone-event format when both sides have it.
    pub telephone_event: Option<Format>,
    /// Where to send RTP.
    pub remote_addr: SocketAddr,
    /// The remote side's direction.
    pub remote_direction: Direction,
}

/// Answer an offer: pick the first of the offer's codecs we support (Opus, PCMU, PCMA), keep
/// telephone-event if offered, mirror the direction.
pub fn answer(
    offer: &Sdp,
    address: IpAddr,
    port: u16,
    session_id: u64,
    local_direction: Direction,
) -> Result<Negotiated, SdpError> {
    let _ = (offer, address, port, session_id, local_direction);
    todo!()
}

/// The offerer's view of an answer: chosen codec = first codec of the answer.
pub fn accept_answer(offer: &Sdp, answer: &Sdp) -> Result<Negotiated, SdpError> {
    let _ = (offer, answer);
    todo!()
}
