//! SDP value types.

use std::net::IpAddr;

/// Media direction attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// a=sendrecv
    SendRecv,
    /// a=sendonly
    SendOnly,
    /// a=recvonly
    RecvOnly,
    /// a=inactive
    Inactive,
}

/// One payload format of the audio m-line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Format {
    /// RTP payload type.
    pub pt: u8,
    /// Encoding name as in rtpmap.
    pub name: String,
    /// Clock rate.
    pub clock: u32,
    /// Channels.
    pub channels: u8,
    /// fmtp parameters.
    pub fmtp: Option<String>,
}

/// A session description with one audio stream.
#[derive(Clone, Debug)]
pub struct Sdp {
    /// o= session id.
    pub session_id: u64,
    /// o= session version.
    pub version: u64,
    /// Connection address.
    pub address: IpAddr,
    /// Audio RTP port.
    pub port: u16,
    /// Payload formats in m-line order.
    pub formats: Vec<Format>,
    /// Media direction.
    pub direction: Direction,
    /// a=rtcp-mux present.
    pub rtcp_mux: bool,
    /// a=ptime.
    pub ptime: Option<u32>,
}

/// An SDP that cannot be parsed or negotiated.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SdpError(pub String);
