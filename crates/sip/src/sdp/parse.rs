//! Parsing SDP text (the first audio stream).

use super::{Direction, Format, Sdp, SdpError};
use std::net::IpAddr;

/// Encoding of the RFC 3551 static payload types that may come without an rtpmap.
fn static_format(pt: u8) -> Option<(&'static str, u32)> {
    match pt {
        0 => Some(("PCMU", 8000)),
        3 => Some(("GSM", 8000)),
        8 => Some(("PCMA", 8000)),
        9 => Some(("G722", 8000)),
        18 => Some(("G729", 8000)),
        _ => None,
    }
}

fn err(msg: impl Into<String>) -> SdpError {
    SdpError(msg.into())
}

impl Direction {
    fn from_attr(attr: &str) -> Option<Direction> {
        match attr {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The attribute name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// `IN IP4 1.2.3.4` → the address.
fn connection_address(value: &str) -> Result<IpAddr, SdpError> {
    let mut parts = value.split_whitespace();
    let (Some("IN"), Some(_), Some(addr)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(err(format!("malformed connection line: {value}")));
    };
    // Multicast TTL suffix (`/127`) is not for us, but must not break parsing.
    let addr = addr.split('/').next().unwrap_or(addr);
    addr.parse()
        .map_err(|_| err(format!("connection address is not an IP address: {addr}")))
}

/// Media-level state while reading the audio section.
struct Audio {
    port: u16,
    pts: Vec<u8>,
    rtpmap: Vec<(u8, String, u32, u8)>,
    fmtp: Vec<(u8, String)>,
    address: Option<IpAddr>,
    direction: Option<Direction>,
    rtcp_mux: bool,
    ptime: Option<u32>,
    profile: String,
    crypto: Vec<super::Crypto>,
}

/// Which part of the description the current line belongs to.
#[derive(PartialEq, Eq)]
enum Section {
    Session,
    /// The first audio m-line: the one we read.
    Audio,
    /// Any other media section (or a later audio one): ignored.
    Other,
}

/// Line-by-line reader state.
struct Reader {
    session_id: u64,
    version: u64,
    session_addr: Option<IpAddr>,
    session_dir: Option<Direction>,
    audio: Option<Audio>,
    section: Section,
}

impl Reader {
    fn line(&mut self, kind: &str, value: &str) -> Result<(), SdpError> {
        match (kind, &self.section) {
            ("m", _) => self.media(value)?,
            ("o", Section::Session) => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                self.session_id = parts.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                self.version = parts.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
            }
            ("c", Section::Session) => self.session_addr = Some(connection_address(value)?),
            ("c", Section::Audio) => {
                if let Some(a) = self.audio.as_mut() {
                    a.address = Some(connection_address(value)?);
                }
            }
            ("a", Section::Session) => {
                if let Some(d) = Direction::from_attr(value) {
                    self.session_dir = Some(d);
                }
            }
            ("a", Section::Audio) => {
                if let Some(a) = self.audio.as_mut() {
                    a.attribute(value);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn media(&mut self, value: &str) -> Result<(), SdpError> {
        self.section = Section::Other;
        let mut parts = value.split_whitespace();
        if self.audio.is_some() || parts.next() != Some("audio") {
            return Ok(()); // only the first audio stream counts
        }
        let port = parts
            .next()
            .and_then(|p| p.split('/').next())
            .and_then(|p| p.parse::<u16>().ok())
            .ok_or_else(|| err("malformed audio port"))?;
        let profile = parts.next().ok_or_else(|| err("missing media protocol"))?;
        let pts = parts
            .map(|p| {
                p.parse::<u8>()
                    .map_err(|_| err(format!("bad payload type {p}")))
            })
            .collect::<Result<Vec<u8>, _>>()?;
        self.section = Section::Audio;
        self.audio = Some(Audio {
            port,
            pts,
            rtpmap: Vec::new(),
            fmtp: Vec::new(),
            address: None,
            direction: None,
            rtcp_mux: false,
            ptime: None,
            profile: profile.to_string(),
            crypto: Vec::new(),
        });
        Ok(())
    }

    fn finish(self) -> Result<Sdp, SdpError> {
        let a = self.audio.ok_or_else(|| err("no audio stream"))?;
        let address = a
            .address
            .or(self.session_addr)
            .ok_or_else(|| err("no connection address"))?;
        Ok(Sdp {
            session_id: self.session_id,
            version: self.version,
            address,
            port: a.port,
            formats: a.formats(),
            direction: a
                .direction
                .or(self.session_dir)
                .unwrap_or(Direction::SendRecv),
            rtcp_mux: a.rtcp_mux,
            ptime: a.ptime,
            profile: a.profile,
            crypto: a.crypto,
        })
    }
}

impl Audio {
    fn attribute(&mut self, value: &str) {
        let (name, arg) = value.split_once(':').unwrap_or((value, ""));
        match name {
            "rtpmap" => {
                if let Some(entry) = parse_rtpmap(arg) {
                    self.rtpmap.push(entry);
                }
            }
            "fmtp" => {
                if let Some((pt, params)) = arg.split_once(' ') {
                    if let Ok(pt) = pt.trim().parse() {
                        self.fmtp.push((pt, params.trim().to_string()));
                    }
                }
            }
            "ptime" => self.ptime = arg.trim().parse().ok(),
            "rtcp-mux" => self.rtcp_mux = true,
            "crypto" => {
                let mut parts = arg.split_whitespace();
                let line = (parts.next(), parts.next(), parts.next());
                if let (Some(tag), Some(suite), Some(key_params)) = line {
                    if let Ok(tag) = tag.parse() {
                        self.crypto.push(super::Crypto {
                            tag,
                            suite: suite.to_string(),
                            key_params: key_params.to_string(),
                        });
                    }
                }
            }
            other => {
                if let Some(d) = Direction::from_attr(other) {
                    self.direction = Some(d);
                }
            }
        }
    }

    /// The m-line's payload types with their rtpmap/fmtp (static types may lack an rtpmap).
    fn formats(&self) -> Vec<Format> {
        self.pts
            .iter()
            .map(|&pt| {
                let fmtp = self
                    .fmtp
                    .iter()
                    .find(|(p, _)| *p == pt)
                    .map(|(_, f)| f.clone());
                let (name, clock, channels) = match self.rtpmap.iter().find(|(p, ..)| *p == pt) {
                    Some((_, name, clock, channels)) => (name.clone(), *clock, *channels),
                    None => {
                        let (name, clock) = static_format(pt).unwrap_or(("", 0));
                        (name.to_string(), clock, 1)
                    }
                };
                Format {
                    pt,
                    name,
                    clock,
                    channels,
                    fmtp,
                }
            })
            .collect()
    }
}

impl Sdp {
    /// Parse an SDP body (the first audio m-line; error if none). CRLF or LF line ends; unknown
    /// lines are ignored.
    pub fn parse(text: &str) -> Result<Sdp, SdpError> {
        let mut reader = Reader {
            session_id: 0,
            version: 0,
            session_addr: None,
            session_dir: None,
            audio: None,
            section: Section::Session,
        };
        for line in text.lines() {
            if let Some((kind, value)) = line.trim_end_matches('\r').split_once('=') {
                reader.line(kind.trim(), value.trim())?;
            }
        }
        reader.finish()
    }
}

/// `96 opus/48000/2` → (pt, name, clock, channels).
fn parse_rtpmap(arg: &str) -> Option<(u8, String, u32, u8)> {
    let (pt, enc) = arg.trim().split_once(' ')?;
    let mut parts = enc.trim().split('/');
    let name = parts.next()?.to_string();
    let clock = parts.next()?.trim().parse().ok()?;
    let channels = parts
        .next()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(1);
    Some((pt.trim().parse().ok()?, name, clock, channels))
}
