//! Helpers for the directory / room state packages, room commands (INFO) and REFER, as an agent's
//! phone would send them over its call dialog.

use std::time::{Duration, Instant};

use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use serde_json::Value;

use super::call::{send, Party};
use super::peer::{code, SipPeer};

/// The Warning text of a response ("" without one).
pub fn warning(resp: &rsip::Response) -> String {
    message::header_value(&rsip::SipMessage::Response(resp.clone()), "Warning").unwrap_or_default()
}

/// A header of a request ("" without it).
pub fn header(req: &rsip::Request, name: &str) -> String {
    super::script::header(req, name).unwrap_or_default()
}

async fn in_dialog(ua: &SipPeer, req: rsip::Request) -> rsip::Response {
    let tx = ua.ep.request(req, ua.server);
    tokio::time::timeout(Duration::from_secs(10), tx.final_response())
        .await
        .unwrap_or_else(|_| panic!("no final response"))
        .unwrap_or_else(|e| panic!("transaction: {e}"))
}

/// REFER in the call dialog to `refer_to` (a full URI with parameters / `?Subject=`).
pub async fn refer(ua: &SipPeer, party: &mut Party, refer_to: &str) -> rsip::Response {
    let mut req = party.dialog.request(rsip::Method::Refer, None);
    req.headers.push(rsip::Header::Other(
        "Refer-To".into(),
        format!("<{refer_to}>"),
    ));
    req.headers.push(rsip::Header::Other(
        "Referred-By".into(),
        format!("<{}>", ua.aor()),
    ));
    in_dialog(ua, req).await
}

/// A room command (INFO, Info-Package agentphone-room).
pub async fn command(ua: &SipPeer, party: &mut Party, json: &str) -> rsip::Response {
    let mut req = party.dialog.request(
        rsip::Method::Info,
        Some((
            "application/vnd.agentphone.command+json",
            json.as_bytes().to_vec(),
        )),
    );
    req.headers.push(rsip::Header::Other(
        "Info-Package".into(),
        "agentphone-room".into(),
    ));
    in_dialog(ua, req).await
}

/// The room URI of a call (the server's Contact in the dialog).
pub fn room_uri(dialog: &Dialog) -> String {
    dialog.remote_target.to_string()
}

/// An authenticated SUBSCRIBE to `uri` for `event`; the final response.
pub async fn subscribe(ua: &mut SipPeer, uri: &str, event: &str, expires: u32) -> rsip::Response {
    let aor = ua.aor();
    let contact = ua.contact();
    let call_id = message::new_call_id();
    let uri = uri.to_string();
    let event = event.to_string();
    ua.send_authenticated("SUBSCRIBE", &uri.clone(), |cseq, auth| {
        let mut b = RequestBuilder::new(rsip::Method::Subscribe, &uri)
            .unwrap_or_else(|e| panic!("{e}"))
            .from(None, &aor, "subtag")
            .to(None, &uri, None)
            .call_id(&call_id)
            .cseq(cseq)
            .contact(&contact)
            .header("Event", &event)
            .header("Expires", &expires.to_string());
        if let Some(a) = auth {
            b = b.header("Authorization", &a);
        }
        b.build().unwrap_or_else(|e| panic!("{e}"))
    })
    .await
}

/// Wait for a request matching `pred` (other requests are put aside in `ua.stash`, except NOTIFYs
/// of other events, which are answered 200 and dropped).
pub async fn wait_request(
    ua: &mut SipPeer,
    secs: u64,
    pred: impl Fn(&rsip::Request) -> bool,
) -> Option<ServerTransaction> {
    if let Some(pos) = ua.stash.iter().position(|tx| pred(&tx.request)) {
        return ua.stash.remove(pos);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let tx = tokio::time::timeout_at(deadline, ua.incoming.recv())
            .await
            .ok()
            .flatten()?;
        if pred(&tx.request) {
            return Some(tx);
        }
        match tx.request.method {
            rsip::Method::Ack => {}
            rsip::Method::Notify => {
                send(&tx, message::response(&tx.request, 200, "OK", None)).await;
            }
            _ => ua.stash.push_back(tx),
        }
    }
}

/// One NOTIFY received.
pub struct Notified {
    /// The body (JSON packages) or Null.
    pub json: Value,
    /// The raw body.
    pub body: String,
    /// Subscription-State.
    pub state: String,
    /// When it arrived.
    pub at: Instant,
}

/// The next NOTIFY of `event` (answered 200).
pub async fn next_notify(ua: &mut SipPeer, event: &str, secs: u64) -> Option<Notified> {
    let tx = wait_request(ua, secs, |r| {
        r.method == rsip::Method::Notify && header(r, "Event").starts_with(event)
    })
    .await?;
    let at = Instant::now();
    send(&tx, message::response(&tx.request, 200, "OK", None)).await;
    let body = String::from_utf8_lossy(&tx.request.body).into_owned();
    Some(Notified {
        json: serde_json::from_str(&body).unwrap_or(Value::Null),
        body,
        state: header(&tx.request, "Subscription-State"),
        at,
    })
}

/// NOTIFYs of `event` until one satisfies `pred` (within `secs`).
pub async fn notify_until(
    ua: &mut SipPeer,
    event: &str,
    secs: u64,
    pred: impl Fn(&Notified) -> bool,
) -> Notified {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .as_secs()
            .max(1);
        let n = next_notify(ua, event, left)
            .await
            .unwrap_or_else(|| panic!("{}: no matching {event} NOTIFY within {secs} s", ua.user));
        if pred(&n) {
            return n;
        }
        if Instant::now() > deadline {
            panic!("{}: no matching {event} NOTIFY within {secs} s", ua.user);
        }
    }
}

/// The status of `user` in a directory NOTIFY body.
pub fn agent_status(dir: &Value, user: &str) -> String {
    dir["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["username"] == user))
        .and_then(|x| x["status"].as_str())
        .unwrap_or("?")
        .to_string()
}

/// The code of a response (re-export for tests).
pub fn status(resp: &rsip::Response) -> u16 {
    code(resp)
}

/// SUBSCRIBE (answering one 401) and the subscription's dialog when it was accepted.
pub async fn subscribe_dialog(
    ua: &mut SipPeer,
    uri: &str,
    event: &str,
    expires: u32,
) -> (rsip::Response, Option<Dialog>) {
    let aor = ua.aor();
    let contact = ua.contact();
    let call_id = message::new_call_id();
    let tag = message::new_tag();
    let build = |cseq: u32, auth: Option<String>| {
        let mut b = RequestBuilder::new(rsip::Method::Subscribe, uri)
            .unwrap_or_else(|e| panic!("{e}"))
            .from(None, &aor, &tag)
            .to(None, uri, None)
            .call_id(&call_id)
            .cseq(cseq)
            .contact(&contact)
            .header("Event", event)
            .header("Expires", &expires.to_string());
        if let Some(a) = auth {
            b = b.header("Authorization", &a);
        }
        b.build().unwrap_or_else(|e| panic!("{e}"))
    };
    let c = ua.next_cseq();
    let mut req = build(c, None);
    let mut resp = ua.send(req.clone()).await;
    if code(&resp) == 401 {
        let ch = ua.pick_challenge(&resp);
        let auth = ua.answer(&ch, "SUBSCRIBE", uri);
        let c = ua.next_cseq();
        req = build(c, Some(auth));
        resp = ua.send(req.clone()).await;
    }
    let dialog = (code(&resp) == 200)
        .then(|| Dialog::from_uac(&req, &resp, ua.server))
        .flatten();
    (resp, dialog)
}

/// An in-dialog SUBSCRIBE (refresh, or end with 0).
pub async fn resubscribe(
    ua: &SipPeer,
    dialog: &mut Dialog,
    event: &str,
    expires: u32,
) -> rsip::Response {
    let mut req = dialog.request(rsip::Method::Subscribe, None);
    req.headers
        .push(rsip::Header::Other("Event".into(), event.into()));
    req.headers
        .push(rsip::Header::Other("Expires".into(), expires.to_string()));
    in_dialog(ua, req).await
}
