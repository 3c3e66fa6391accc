//! The agents' answers, as a plain function of the request (no I/O): INVITE → 200 with an SDP
//! answer and the agent's Contact; BYE, NOTIFY, CANCEL, OPTIONS, INFO, UPDATE, PUBLISH → 200;
//! ACK → nothing; anything else → 405.

use std::net::{IpAddr, SocketAddr, UdpSocket};

use agentphone_sip::message;
use agentphone_sip::sdp::{self, Direction, Sdp};
use rsip::prelude::*;

use crate::sip_socket::Received;

/// A response to send and where.
pub struct Reply {
    pub bytes: Vec<u8>,
    pub to: SocketAddr,
}

/// What was answered so far.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct Counters {
    pub invites: u64,
    pub byes: u64,
    pub notifies: u64,
}

/// Answers requests for every agent of the socket.
pub struct AutoAnswer {
    local: SocketAddr,
    rtp_port: u16,
    /// Encoding name answered (the offer's other codecs are ignored).
    codec: String,
    tag: u64,
    pub counters: Counters,
}

impl AutoAnswer {
    /// Agents reachable at `local` whose SDP announces `rtp_port` on the same IP and who answer
    /// with `codec` only.
    pub fn new(local: SocketAddr, rtp_port: u16, codec: String) -> AutoAnswer {
        AutoAnswer {
            local,
            rtp_port,
            codec,
            tag: 0,
            counters: Counters::default(),
        }
    }

    /// The reply to a received request (None for responses and ACKs).
    pub fn handle(&mut self, got: &Received) -> Option<Reply> {
        let rsip::SipMessage::Request(req) = &got.msg else {
            return None;
        };
        let resp = match req.method {
            rsip::Method::Ack => return None,
            rsip::Method::Invite => {
                self.counters.invites += 1;
                self.answer_invite(req)
            }
            rsip::Method::Bye => {
                self.counters.byes += 1;
                message::response(req, 200, "OK", None)
            }
            rsip::Method::Notify => {
                self.counters.notifies += 1;
                message::response(req, 200, "OK", None)
            }
            rsip::Method::Cancel
            | rsip::Method::Options
            | rsip::Method::Info
            | rsip::Method::Update
            | rsip::Method::Publish => message::response(req, 200, "OK", None),
            _ => message::response(req, 405, "Method Not Allowed", None),
        };
        Some(Reply {
            bytes: message::to_bytes(&resp.into()),
            to: got.from,
        })
    }

    fn answer_invite(&mut self, req: &rsip::Request) -> rsip::Response {
        self.tag += 1;
        let tag = format!("lg{}", self.tag);
        let offer = std::str::from_utf8(&req.body)
            .ok()
            .and_then(|text| Sdp::parse(text).ok());
        let Some(mut offer) = offer else {
            return message::response(req, 488, "Not Acceptable Here", Some(&tag));
        };
        let codec = &self.codec;
        offer.formats.retain(|f| {
            f.name.eq_ignore_ascii_case(codec) || f.name.eq_ignore_ascii_case("telephone-event")
        });
        let ip: IpAddr = self.local.ip();
        let Ok(negotiated) = sdp::answer(&offer, ip, self.rtp_port, self.tag, Direction::SendRecv)
        else {
            return message::response(req, 488, "Not Acceptable Here", Some(&tag));
        };
        let mut resp = message::response(req, 200, "OK", Some(&tag));
        let user = req.uri.user().unwrap_or("agent");
        resp.headers.push(message::make_header(
            "Contact",
            &format!("<sip:{user}@{}>", self.local),
        ));
        resp.headers
            .push(rsip::headers::ContentType::new("application/sdp").into());
        resp.body = negotiated.answer.to_string().into_bytes();
        resp
    }
}

/// A UDP socket on 127.0.0.1 that swallows the RTP the server sends to the agents; its port.
pub fn start_rtp_sink() -> std::io::Result<u16> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let port = socket.local_addr()?.port();
    std::thread::Builder::new()
        .name("rtp-sink".into())
        .spawn(move || {
            let mut buf = [0u8; 2048];
            while socket.recv_from(&mut buf).is_ok() {}
        })?;
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(text: &str) -> Received {
        let msg = message::parse(text.replace('\n', "\r\n").as_bytes())
            .unwrap_or_else(|e| panic!("{e:?}"));
        Received {
            msg,
            from: SocketAddr::from(([127, 0, 0, 1], 5060)),
        }
    }

    fn response_of(reply: Option<Reply>) -> rsip::Response {
        let reply = reply.unwrap_or_else(|| panic!("no reply"));
        match message::parse(&reply.bytes) {
            Ok(rsip::SipMessage::Response(r)) => r,
            other => panic!("not a response: {other:?}"),
        }
    }

    const HEAD: &str = "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\nFrom: <sip:customer@127.0.0.1>;tag=f\nTo: <sip:agent001@127.0.0.1>\nCall-ID: c1\n";

    #[test]
    fn an_invite_is_answered_with_sdp_and_the_agents_contact() {
        let offer = Sdp::offer(IpAddr::from([127, 0, 0, 1]), 4000, 1, Direction::SendRecv);
        let body = offer.to_string();
        let text = format!(
            "INVITE sip:agent001@127.0.0.1:7000 SIP/2.0\n{HEAD}CSeq: 1 INVITE\nContent-Type: application/sdp\nContent-Length: {}\n\n{body}",
            body.len()
        );
        let mut aa = AutoAnswer::new(
            SocketAddr::from(([127, 0, 0, 1], 7000)),
            7002,
            "PCMU".into(),
        );
        let resp = response_of(aa.handle(&received(&text)));
        assert_eq!(resp.status_code.code(), 200);
        let msg: rsip::SipMessage = resp.clone().into();
        assert_eq!(
            message::contact_uri(&msg).map(|u| u.to_string()).as_deref(),
            Some("sip:agent001@127.0.0.1:7000")
        );
        assert!(message::to_tag(&msg).is_some());
        let answer = Sdp::parse(std::str::from_utf8(&resp.body).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(answer.port, 7002);
        let codecs: Vec<&str> = answer.formats.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(codecs.first().copied(), Some("PCMU"), "{codecs:?}");
        assert_eq!(aa.counters.invites, 1);

        let mut opus = AutoAnswer::new(
            SocketAddr::from(([127, 0, 0, 1], 7000)),
            7002,
            "opus".into(),
        );
        let resp = response_of(opus.handle(&received(&text)));
        let answer = Sdp::parse(std::str::from_utf8(&resp.body).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(answer
            .formats
            .iter()
            .any(|f| f.name.eq_ignore_ascii_case("opus")));
    }

    #[test]
    fn bye_and_notify_get_200_ack_gets_nothing() {
        let mut aa = AutoAnswer::new(
            SocketAddr::from(([127, 0, 0, 1], 7000)),
            7002,
            "PCMU".into(),
        );
        for method in ["BYE", "NOTIFY"] {
            let text = format!("{method} sip:agent001@127.0.0.1:7000 SIP/2.0\n{HEAD}CSeq: 2 {method}\nContent-Length: 0\n\n");
            assert_eq!(
                response_of(aa.handle(&received(&text))).status_code.code(),
                200
            );
        }
        let ack = format!(
            "ACK sip:agent001@127.0.0.1:7000 SIP/2.0\n{HEAD}CSeq: 1 ACK\nContent-Length: 0\n\n"
        );
        assert!(aa.handle(&received(&ack)).is_none());
        assert_eq!(
            aa.counters,
            Counters {
                invites: 0,
                byes: 1,
                notifies: 1
            }
        );
    }
}
