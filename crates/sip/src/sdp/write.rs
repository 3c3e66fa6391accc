//! Writing SDP: our offer, payload formats, and the text form.

use super::{Direction, Format, Sdp};
use std::fmt::Write as _;
use std::net::IpAddr;

/// Our Opus parameters (RFC 7587): mono, in-band FEC, up to 64 kb/s (we send 48 kb/s on a
/// clean path, 64 kb/s with FEC when the peer reports loss).
pub(crate) const OPUS_FMTP: &str = "useinbandfec=1;maxaveragebitrate=64000;stereo=0;sprop-stereo=0";
/// DTMF events 0–15 (RFC 4733).
pub(crate) const TELEPHONE_EVENT_FMTP: &str = "0-15";

impl Sdp {
    /// Our offer: Opus/48000/2 pt 111 (fmtp useinbandfec=1;maxaveragebitrate=64000;stereo=0;
    /// sprop-stereo=0), PCMU 0, PCMA 8, telephone-event/48000 101 and telephone-event/8000 100;
    /// ptime 20, rtcp-mux. Two telephone-events because RFC 4733 §2.1 gives events the audio
    /// stream's clock: 101 goes with Opus, 100 with G.711.
    pub fn offer(address: IpAddr, port: u16, session_id: u64, direction: Direction) -> Sdp {
        Sdp {
            session_id,
            version: session_id,
            address,
            port,
            formats: vec![
                Format::opus(111),
                Format::simple(0, "PCMU", 8000),
                Format::simple(8, "PCMA", 8000),
                Format::telephone_event(101, 48_000),
                Format::telephone_event(100, 8000),
            ],
            direction,
            rtcp_mux: true,
            ptime: Some(20),
            profile: super::RTP_AVP.into(),
            crypto: Vec::new(),
        }
    }
}

impl Format {
    pub(crate) fn opus(pt: u8) -> Format {
        Format {
            pt,
            name: "opus".into(),
            clock: 48_000,
            channels: 2,
            fmtp: Some(OPUS_FMTP.into()),
        }
    }

    pub(crate) fn simple(pt: u8, name: &str, clock: u32) -> Format {
        Format {
            pt,
            name: name.into(),
            clock,
            channels: 1,
            fmtp: None,
        }
    }

    pub(crate) fn telephone_event(pt: u8, clock: u32) -> Format {
        Format {
            pt,
            name: "telephone-event".into(),
            clock,
            channels: 1,
            fmtp: Some(TELEPHONE_EVENT_FMTP.into()),
        }
    }
}

impl std::fmt::Display for Sdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ip = match self.address {
            IpAddr::V4(_) => "IP4",
            IpAddr::V6(_) => "IP6",
        };
        let mut out = String::with_capacity(400);
        let _ = write!(
            out,
            "v=0\r\no=- {} {} IN {ip} {}\r\ns=-\r\n",
            self.session_id, self.version, self.address
        );
        let _ = write!(out, "c=IN {ip} {}\r\nt=0 0\r\n", self.address);
        let pts: Vec<String> = self.formats.iter().map(|f| f.pt.to_string()).collect();
        let _ = write!(
            out,
            "m=audio {} {} {}\r\n",
            self.port,
            self.profile,
            pts.join(" ")
        );
        for fmt in &self.formats {
            if fmt.channels > 1 {
                let _ = write!(
                    out,
                    "a=rtpmap:{} {}/{}/{}\r\n",
                    fmt.pt, fmt.name, fmt.clock, fmt.channels
                );
            } else {
                let _ = write!(out, "a=rtpmap:{} {}/{}\r\n", fmt.pt, fmt.name, fmt.clock);
            }
            if let Some(fmtp) = &fmt.fmtp {
                let _ = write!(out, "a=fmtp:{} {fmtp}\r\n", fmt.pt);
            }
        }
        if let Some(ptime) = self.ptime {
            let _ = write!(out, "a=ptime:{ptime}\r\n");
        }
        if self.rtcp_mux {
            out.push_str("a=rtcp-mux\r\n");
        }
        for c in &self.crypto {
            let _ = write!(out, "a=crypto:{} {} {}\r\n", c.tag, c.suite, c.key_params);
        }
        let _ = write!(out, "a={}\r\n", self.direction.as_str());
        f.write_str(&out)
    }
}
