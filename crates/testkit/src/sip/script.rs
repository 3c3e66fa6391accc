//! Messages a scripted server sends to the phone under test: digest challenges, SDP answers,
//! 2xx with SDP, NOTIFYs, an accepted SUBSCRIBE; and reading what the phone sent.

use std::net::UdpSocket;

use agentphone_sip::auth::{Algorithm, Challenge, NonceIssuer};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::rsip;
use agentphone_sip::sdp::{self, Direction, Sdp};

use super::peer::SipPeer;

/// A header of a request, if present.
pub fn header(req: &rsip::Request, name: &str) -> Option<String> {
    message::header_value(&rsip::SipMessage::Request(req.clone()), name)
}

/// The To tag of a request, if present.
pub fn to_tag(req: &rsip::Request) -> Option<String> {
    message::to_tag(&rsip::SipMessage::Request(req.clone()))
}

/// The body of a request as text.
pub fn body_text(req: &rsip::Request) -> String {
    String::from_utf8_lossy(&req.body).to_string()
}

/// The JSON body of a request.
pub fn json_body(req: &rsip::Request) -> serde_json::Value {
    serde_json::from_slice(&req.body)
        .unwrap_or_else(|e| panic!("a JSON body expected ({e}): {}", body_text(req)))
}

/// A fresh SHA-256 digest challenge for realm `agentphone`.
pub fn challenge(issuer: &NonceIssuer) -> Challenge {
    Challenge {
        realm: "agentphone".into(),
        nonce: issuer.issue(),
        algorithm: Algorithm::Sha256,
        opaque: None,
        qop_auth: true,
        stale: false,
    }
}

/// A 401 to `req` carrying a fresh challenge.
pub fn with_challenge(req: &rsip::Request, issuer: &NonceIssuer) -> rsip::Response {
    let mut resp = message::response(req, 401, "Unauthorized", Some("srv"));
    resp.headers.push(rsip::Header::WwwAuthenticate(
        rsip::headers::WwwAuthenticate::from(challenge(issuer).to_header_value()),
    ));
    resp
}

/// An SDP answer to the request's offer, with RTP going to `rtp`.
pub fn answer_for(req: &rsip::Request, rtp: &UdpSocket, dir: Direction) -> Sdp {
    let offer = Sdp::parse(&body_text(req)).expect("the request carries an SDP offer");
    let local = rtp.local_addr().expect("RTP socket address");
    sdp::answer(&offer, local.ip(), local.port(), 42, dir)
        .expect("offer has a codec we speak")
        .answer
}

/// `resp` with `Contact: <contact>` and `sdp` as its body.
pub fn with_sdp(mut resp: rsip::Response, contact: &str, sdp: &Sdp) -> rsip::Response {
    resp.headers
        .push(rsip::Header::Contact(rsip::headers::Contact::from(
            format!("<{contact}>"),
        )));
    resp.headers
        .push(rsip::Header::ContentType(rsip::headers::ContentType::from(
            "application/sdp".to_string(),
        )));
    resp.body = sdp.to_string().into_bytes();
    resp
}

/// A 2xx with SDP and the given raw Contact header value (and any extra headers).
pub fn ok_with(
    req: &rsip::Request,
    tag: &str,
    contact: &str,
    extra: &[(&str, &str)],
    sdp: &Sdp,
) -> rsip::Response {
    let mut resp = message::response(req, 200, "OK", Some(tag));
    resp.headers
        .push(rsip::Header::Other("Contact".into(), contact.into()));
    for (n, v) in extra {
        resp.headers
            .push(rsip::Header::Other(n.to_string(), v.to_string()));
    }
    resp.headers
        .push(rsip::Header::ContentType(rsip::headers::ContentType::from(
            "application/sdp".to_string(),
        )));
    resp.body = sdp.to_string().into_bytes();
    resp
}

/// A NOTIFY in `dialog` with `Event`, `Subscription-State` and a body.
pub fn notify(
    dialog: &mut Dialog,
    event: &str,
    state: &str,
    ctype: &str,
    body: &str,
) -> rsip::Request {
    let mut req = dialog.request(
        rsip::Method::Notify,
        Some((ctype, body.as_bytes().to_vec())),
    );
    req.headers
        .push(rsip::Header::Other("Event".into(), event.into()));
    req.headers.push(rsip::Header::Other(
        "Subscription-State".into(),
        state.into(),
    ));
    req
}

/// Accept a SUBSCRIBE: 200 with a tag, Contact and Expires; returns the notifier's dialog.
pub async fn accept_subscribe(server: &SipPeer, st: &ServerTransaction, expires: u32) -> Dialog {
    let tag = message::new_tag();
    let contact = format!("sip:notifier@{}", server.addr());
    let mut ok = message::response(&st.request, 200, "OK", Some(&tag));
    ok.headers.push(rsip::Header::Other(
        "Contact".into(),
        format!("<{contact}>"),
    ));
    ok.headers
        .push(rsip::Header::Other("Expires".into(), expires.to_string()));
    st.respond(ok)
        .await
        .unwrap_or_else(|e| panic!("respond to SUBSCRIBE: {e}"));
    let contact_uri = rsip::Uri::try_from(contact.as_str()).expect("notifier contact URI");
    Dialog::from_uas(&st.request, &tag, &contact_uri, st.peer).expect("a SUBSCRIBE dialog")
}
