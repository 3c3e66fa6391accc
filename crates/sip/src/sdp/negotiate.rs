//! Offer/answer (RFC 3264).

use super::{Direction, Format, Sdp, SdpError};
use std::net::{IpAddr, SocketAddr};

/// Result of an offer/answer exchange.
#[derive(Clone, Debug)]
pub struct Negotiated {
    /// The answer (ours when answering, the remote one when accepting).
    pub answer: Sdp,
    /// The chosen audio codec (payload type as the remote side numbers it).
    pub codec: Format,
    /// The telephone-event format both sides have at the codec's clock (RFC 4733 §2.1: events
    /// use the audio stream's timestamps), if any.
    pub telephone_event: Option<Format>,
    /// Where to send RTP.
    pub remote_addr: SocketAddr,
    /// The remote side's direction.
    pub remote_direction: Direction,
}

/// Whether we can encode/decode this format.
fn supported(f: &Format) -> bool {
    let name = f.name.to_ascii_lowercase();
    matches!(
        (name.as_str(), f.clock),
        ("opus", 48_000) | ("pcmu", 8000) | ("pcma", 8000)
    )
}

fn is_telephone_event(f: &Format) -> bool {
    f.name.eq_ignore_ascii_case("telephone-event")
}

/// The first telephone-event of `formats` whose clock is `clock` (a telephone-event at another
/// clock than the audio's would get our 48 kHz or 8 kHz event timestamps wrong).
fn telephone_event_at(formats: &[Format], clock: u32) -> Option<&Format> {
    formats
        .iter()
        .find(|f| is_telephone_event(f) && f.clock == clock)
}

impl Direction {
    /// What the answerer says for this offered direction (sendonly ↔ recvonly).
    pub fn mirror(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    fn from_flags(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

/// Answer an offer: pick the first of the offer's codecs we support (Opus, PCMU, PCMA), keep
/// the offered telephone-event whose clock is that codec's (its pt; none when no offered one
/// has that clock), mirror the direction (restricted by `local_direction`).
pub fn answer(
    offer: &Sdp,
    address: IpAddr,
    port: u16,
    session_id: u64,
    local_direction: Direction,
) -> Result<Negotiated, SdpError> {
    if offer.port == 0 {
        return Err(SdpError(
            "audio stream rejected in the offer (port 0)".into(),
        ));
    }
    let offered = offer
        .formats
        .iter()
        .find(|f| supported(f))
        .ok_or_else(|| SdpError("no common codec".into()))?;
    let mut codec = offered.clone();
    if codec.name.eq_ignore_ascii_case("opus") {
        // Our receive preferences for Opus, in the offerer's payload type.
        codec.fmtp = Some(super::write::OPUS_FMTP.into());
    }
    let telephone_event = telephone_event_at(&offer.formats, offered.clock)
        .map(|f| Format::telephone_event(f.pt, f.clock));
    let mirrored = offer.direction.mirror();
    let direction = Direction::from_flags(
        mirrored.sends() && local_direction.sends(),
        mirrored.receives() && local_direction.receives(),
    );
    let mut formats = vec![codec.clone()];
    formats.extend(telephone_event.clone());
    let answer = Sdp {
        session_id,
        version: session_id,
        address,
        port,
        formats,
        direction,
        rtcp_mux: offer.rtcp_mux,
        ptime: Some(20),
        // Plain until the caller adds its key (`Sdp::set_crypto`) for an offer it secures.
        profile: super::RTP_AVP.into(),
        crypto: Vec::new(),
    };
    Ok(Negotiated {
        answer,
        codec: offered.clone(),
        telephone_event,
        remote_addr: SocketAddr::new(offer.address, offer.port),
        remote_direction: offer.direction,
    })
}

/// The offerer's view of an answer: chosen codec = first codec of the answer; telephone-event
/// = the answer's one at that codec's clock, when we offered one at that clock.
pub fn accept_answer(offer: &Sdp, answer: &Sdp) -> Result<Negotiated, SdpError> {
    if answer.port == 0 {
        return Err(SdpError(
            "audio stream rejected in the answer (port 0)".into(),
        ));
    }
    let codec = answer
        .formats
        .iter()
        .find(|f| !is_telephone_event(f))
        .ok_or_else(|| SdpError("answer has no codec".into()))?;
    if !supported(codec) {
        return Err(SdpError(format!(
            "answer chose unsupported codec {}",
            codec.name
        )));
    }
    let telephone_event = telephone_event_at(&answer.formats, codec.clock)
        .filter(|_| telephone_event_at(&offer.formats, codec.clock).is_some())
        .cloned();
    Ok(Negotiated {
        answer: answer.clone(),
        codec: codec.clone(),
        telephone_event,
        remote_addr: SocketAddr::new(answer.address, answer.port),
        remote_direction: answer.direction,
    })
}
