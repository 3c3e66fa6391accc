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
    /// The m-line's transport protocol: `RTP/AVP`, or `RTP/SAVP` when SRTP is mandatory.
    pub profile: String,
    /// a=crypto lines (SDES, RFC 4568), in order.
    pub crypto: Vec<Crypto>,
}

/// One `a=crypto:<tag> <suite> <key params>` line (session parameters dropped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crypto {
    /// Its tag (the answer echoes the tag of the line it accepts).
    pub tag: u32,
    /// Crypto suite, e.g. `AES_CM_128_HMAC_SHA1_80`.
    pub suite: String,
    /// Key params, e.g. `inline:BASE64`.
    pub key_params: String,
}

/// The plain RTP profile.
pub const RTP_AVP: &str = "RTP/AVP";
/// The SRTP profile (RFC 3711 §12).
pub const RTP_SAVP: &str = "RTP/SAVP";

impl Sdp {
    /// The first a=crypto line of `suite`.
    pub fn crypto_of(&self, suite: &str) -> Option<&Crypto> {
        self.crypto.iter().find(|c| c.suite == suite)
    }

    /// Does the m-line demand SRTP (`RTP/SAVP`, `RTP/SAVPF`)?
    pub fn requires_srtp(&self) -> bool {
        self.profile.contains("SAVP")
    }

    /// Carry one crypto line (SRTP on) or none (plain RTP, `RTP/AVP`). With a line, the profile
    /// is `profile` (an answer keeps the offer's: `RTP/AVP` with a=crypto is "best-effort" SRTP).
    pub fn set_crypto(&mut self, crypto: Option<Crypto>, profile: &str) {
        match crypto {
            Some(c) => {
                self.profile = profile.to_string();
                self.crypto = vec![c];
            }
            None => {
                self.profile = RTP_AVP.to_string();
                self.crypto.clear();
            }
        }
    }
}

/// An SDP that cannot be parsed or negotiated.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SdpError(pub String);
