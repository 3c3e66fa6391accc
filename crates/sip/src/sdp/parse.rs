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
}

impl Sdp {
    /// Parse an SDP body (the first audio m-line; error if none). CRLF or LF line ends; unknown
    /// lines are ignored.
    pub fn parse(text: &str) -> Result<Sdp, SdpError> {
        let mut session_id = 0;
        let mut version = 0;
        let mut session_addr = None;
        let mut session_dir = None;
        let mut audio: Option<Audio> = None;
        let mut in_audio = false;
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            let Some((kind, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim();
            match kind {
                "o" if audio.is_none() => {
                    let parts: Vec<&str> = value.split_whitespace().collect();
                    session_id = parts.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                    version = parts.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
                }
                "c" if !in_audio && audio.is_none() => {
                    session_addr = Some(connection_address(value)?)
                }
                "m" => {
                    in_audio = false;
                    if audio.is_some() {
                        continue; // only the first audio stream counts
                    }
                    let mut parts = value.split_whitespace();
                    if parts.next() != Some("audio") {
                        continue;
                    }
                    let port = parts
                        .next()
                        .and_then(|p| p.split('/').next())
                        .and_then(|p| p.parse::<u16>().ok())
                        .ok_or_else(|| err("malformed audio port"))?;
                    let _proto = parts.next().ok_or_else(|| err("missing media protocol"))?;
                    let pts = parts
                        .map(|p| {
                            p.parse::<u8>()
                                .map_err(|_| err(format!("bad payload type {p}")))
                        })
                        .collect::<Result<Vec<u8>, _>>()?;
                    in_audio = true;
                    audio = Some(Audio {
                        port,
                        pts,
                        rtpmap: Vec::new(),
                        fmtp: Vec::new(),
                        address: None,
                        direction: None,
                        rtcp_mux: false,
                        ptime: None,
                    });
                }
                "c" if in_audio => {
                    if let Some(a) = audio.as_mut() {
                        a.address = Some(connection_address(value)?);
                    }
                }
                "a" => {
                    let (name, arg) = value.split_once(':').unwrap_or((value, ""));
                    if !in_audio {
                        if let Some(d) = Direction::from_attr(name) {
                            session_dir = Some(d);
                        }
                        continue;
                    }
                    let Some(a) = audio.as_mut() else { continue };
                    match name {
                        "rtpmap" => {
                            if let Some(entry) = parse_rtpmap(arg) {
                                a.rtpmap.push(entry);
                            }
                        }
                        "fmtp" => {
                            if let Some((pt, params)) = arg.split_once(' ') {
                                if let Ok(pt) = pt.trim().parse() {
                                    a.fmtp.push((pt, params.trim().to_string()));
                                }
                            }
                        }
                        "ptime" => a.ptime = arg.trim().parse().ok(),
                        "rtcp-mux" => a.rtcp_mux = true,
                        other => {
                            if let Some(d) = Direction::from_attr(other) {
                                a.direction = Some(d);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        let a = audio.ok_or_else(|| err("no audio stream"))?;
        let address = a
            .address
            .or(session_addr)
            .ok_or_else(|| err("no connection address"))?;
        let formats = a
            .pts
            .iter()
            .map(|&pt| {
                let fmtp = a
                    .fmtp
                    .iter()
                    .find(|(p, _)| *p == pt)
                    .map(|(_, f)| f.clone());
                match a.rtpmap.iter().find(|(p, ..)| *p == pt) {
                    Some((_, name, clock, channels)) => Format {
                        pt,
                        name: name.clone(),
                        clock: *clock,
                        channels: *channels,
                        fmtp,
                    },
                    None => {
                        let (name, clock) = static_format(pt).unwrap_or(("", 0));
                        Format {
                            pt,
                            name: name.to_string(),
                            clock,
                            channels: 1,
                            fmtp,
                        }
                    }
                }
            })
            .collect();
        Ok(Sdp {
            session_id,
            version,
            address,
            port: a.port,
            formats,
            direction: a.direction.or(session_dir).unwrap_or(Direction::SendRecv),
            rtcp_mux: a.rtcp_mux,
            ptime: a.ptime,
        })
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
