//! Call flows for tests: a caller that dials and ends up with a dialog and media, an agent that
//! answers an incoming INVITE, re-INVITEs for hold/resume, BYE.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{ClientTransaction, Peer, ServerTransaction};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use agentphone_sip::sdp::{self, Direction, Sdp};

use super::media_peer::{MediaPeer, Unstarted};
use super::peer::{code, SipPeer};

pub const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// One side of an established call.
pub struct Party {
    pub dialog: Dialog,
    pub media: MediaPeer,
    pub rtp_port: u16,
    pub sdp_version: u64,
    /// The server's RTP address for this party.
    pub server_rtp: std::net::SocketAddr,
}

/// A dial in progress.
pub struct Dialing {
    pub tx: ClientTransaction,
    pub offer: Sdp,
    pub media: Option<Unstarted>,
    pub tone: f32,
    pub early: Option<MediaPeer>,
    pub rtp_port: u16,
}

/// Build an INVITE from `ua` to `uri` with an SDP offer (authorization optional).
pub fn invite_request(
    ua: &SipPeer,
    uri: &str,
    call_id: &str,
    cseq: u32,
    offer: &Sdp,
    auth: Option<String>,
) -> rsip::Request {
    invite_request_with(ua, uri, call_id, cseq, offer, auth, &[])
}

/// [`invite_request`] with extra headers (e.g. `Supervise: whisper`).
pub fn invite_request_with(
    ua: &SipPeer,
    uri: &str,
    call_id: &str,
    cseq: u32,
    offer: &Sdp,
    auth: Option<String>,
    headers: &[(&str, &str)],
) -> rsip::Request {
    let mut b = RequestBuilder::new(rsip::Method::Invite, uri)
        .unwrap_or_else(|e| panic!("{e}"))
        .from(Some("Test Caller"), &ua.aor(), &message::new_tag())
        .to(None, uri, None)
        .call_id(call_id)
        .cseq(cseq)
        .contact(&ua.contact());
    if let Some(a) = auth {
        b = b.header("Authorization", &a);
    }
    for (name, value) in headers {
        b = b.header(name, value);
    }
    b.body("application/sdp", offer.to_string().into_bytes())
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Start dialling (no authentication: customers).
pub fn dial(ua: &SipPeer, uri: &str, tone: f32) -> Dialing {
    dial_with(ua, uri, tone, |_| {})
}

/// Start dialling with an offer changed by `edit` (e.g. only G.711).
pub fn dial_with(ua: &SipPeer, uri: &str, tone: f32, edit: impl FnOnce(&mut Sdp)) -> Dialing {
    let media = Unstarted::bind();
    let rtp_port = media.port();
    let mut offer = Sdp::offer(LOCAL, rtp_port, 1, Direction::SendRecv);
    edit(&mut offer);
    let req = invite_request(ua, uri, &message::new_call_id(), 1, &offer, None);
    let tx = ua.ep.request(req, ua.server);
    Dialing {
        tx,
        offer,
        media: Some(media),
        tone,
        early: None,
        rtp_port,
    }
}

/// Dial as an authenticated agent: the first INVITE is challenged, the second carries credentials.
pub async fn dial_authenticated(
    ua: &mut SipPeer,
    uri: &str,
    tone: f32,
) -> Result<Dialing, rsip::Response> {
    dial_authenticated_with(ua, uri, tone, &[]).await
}

/// [`dial_authenticated`] with extra headers on both INVITEs.
pub async fn dial_authenticated_with(
    ua: &mut SipPeer,
    uri: &str,
    tone: f32,
    headers: &[(&str, &str)],
) -> Result<Dialing, rsip::Response> {
    let media = Unstarted::bind();
    let rtp_port = media.port();
    let offer = Sdp::offer(LOCAL, rtp_port, 1, Direction::SendRecv);
    let call_id = message::new_call_id();
    let c = ua.next_cseq();
    let first = ua
        .send(invite_request_with(
            ua, uri, &call_id, c, &offer, None, headers,
        ))
        .await;
    if code(&first) != 401 {
        return Err(first);
    }
    let ch = ua.pick_challenge(&first);
    let auth = ua.answer(&ch, "INVITE", uri);
    let c = ua.next_cseq();
    let req = invite_request_with(ua, uri, &call_id, c, &offer, Some(auth), headers);
    let tx = ua.ep.request(req, ua.server);
    Ok(Dialing {
        tx,
        offer,
        media: Some(media),
        tone,
        early: None,
        rtp_port,
    })
}

impl Dialing {
    /// Wait for the final response. On 2xx: ACK, media running (started at the 183 if there was one).
    /// Every provisional code seen is returned too.
    pub async fn finish(mut self, ua: &SipPeer) -> (Vec<u16>, Result<Party, rsip::Response>) {
        let mut provisional = Vec::new();
        loop {
            let next = tokio::time::timeout(Duration::from_secs(40), self.tx.next()).await;
            let resp = match next {
                Ok(Some(Ok(r))) => r,
                other => panic!(
                    "dial: no final response ({:?})",
                    other.map(|o| o.map(|r| r.map(|x| x.status_code.to_string())))
                ),
            };
            let c = code(&resp);
            if c < 200 {
                provisional.push(c);
                if c == 183 && !resp.body.is_empty() && self.early.is_none() {
                    let n = accept(&self.offer, &resp);
                    if let Some(m) = self.media.take() {
                        self.early = Some(m.start(&n, self.tone));
                    }
                }
                continue;
            }
            if c >= 300 {
                return (provisional, Err(resp));
            }
            let dialog = Dialog::from_uac(self.tx.request(), &resp, ua.server)
                .unwrap_or_else(|| panic!("no dialog from {resp}"));
            ua.ep
                .ack(
                    dialog.ack(
                        message::cseq(&rsip::SipMessage::Request(self.tx.request().clone()))
                            .map(|c| c.0)
                            .unwrap_or(1),
                        None,
                    ),
                    ua.server,
                )
                .await
                .unwrap_or_else(|e| panic!("ACK: {e}"));
            let negotiated = accept(&self.offer, &resp);
            let server_rtp = negotiated.remote_addr;
            let media = match (self.early.take(), self.media.take()) {
                (Some(m), _) => m,
                (None, Some(m)) => m.start(&negotiated, self.tone),
                (None, None) => panic!("no media"),
            };
            return (
                provisional,
                Ok(Party {
                    dialog,
                    media,
                    rtp_port: self.rtp_port,
                    sdp_version: 1,
                    server_rtp,
                }),
            );
        }
    }
}

fn accept(offer: &Sdp, resp: &rsip::Response) -> sdp::Negotiated {
    let text = std::str::from_utf8(&resp.body).unwrap_or_else(|e| panic!("{e}"));
    let answer = Sdp::parse(text).unwrap_or_else(|e| panic!("answer SDP: {}", e.0));
    sdp::accept_answer(offer, &answer).unwrap_or_else(|e| panic!("accept answer: {}", e.0))
}

/// Wait for an INVITE at `ua` (skipping nothing else: panics on another method).
pub async fn expect_invite(ua: &mut SipPeer) -> ServerTransaction {
    let tx = ua
        .next_request(10)
        .await
        .unwrap_or_else(|| panic!("{}: no INVITE", ua.user));
    assert_eq!(
        tx.request.method,
        rsip::Method::Invite,
        "{}: expected INVITE, got {}",
        ua.user,
        tx.request.method
    );
    tx
}

/// `caller` dials `uri` sending `caller_tone`, the server offers the call to `callee`, who
/// answers sending `callee_tone`: the caller's party and the callee's, media running on both.
pub async fn connect(
    caller: &SipPeer,
    uri: &str,
    caller_tone: f32,
    callee: &mut SipPeer,
    callee_tone: f32,
) -> (Party, Party) {
    let dialing = dial(caller, uri, caller_tone);
    let offer = expect_invite(callee).await;
    let answered = answer(callee, &offer, callee_tone).await;
    let (_, result) = dialing.finish(caller).await;
    let caller_party = result.unwrap_or_else(|r| panic!("{} calling {uri}: {r}", caller.user));
    (caller_party, answered)
}

/// The 200 (To tag `tag`, our Contact) answering the SDP offer of `tx` with RTP at `rtp_port`,
/// and the negotiation.
pub fn ok_with_answer(
    ua: &SipPeer,
    tx: &ServerTransaction,
    tag: &str,
    rtp_port: u16,
) -> (rsip::Response, sdp::Negotiated) {
    let offer_text = std::str::from_utf8(&tx.request.body).unwrap_or_else(|e| panic!("{e}"));
    let offer = Sdp::parse(offer_text).unwrap_or_else(|e| panic!("offer: {}", e.0));
    let n = sdp::answer(&offer, LOCAL, rtp_port, 7, Direction::SendRecv)
        .unwrap_or_else(|e| panic!("answer: {}", e.0));
    let mut ok = message::response(&tx.request, 200, "OK", Some(tag));
    ok.headers.push(rsip::Header::Other(
        "Contact".into(),
        format!("<{}>", ua.contact()),
    ));
    ok.headers.push(rsip::Header::Other(
        "Content-Type".into(),
        "application/sdp".into(),
    ));
    ok.body = n.answer.to_string().into_bytes();
    (ok, n)
}

/// Answer an incoming INVITE with 180 then 200 + SDP; media sends `tone`.
pub async fn answer(ua: &SipPeer, tx: &ServerTransaction, tone: f32) -> Party {
    let tag = message::new_tag();
    send(
        tx,
        message::response(&tx.request, 180, "Ringing", Some(&tag)),
    )
    .await;
    let media = Unstarted::bind();
    let rtp_port = media.port();
    let (ok, n) = ok_with_answer(ua, tx, &tag, rtp_port);
    send(tx, ok).await;
    let contact = rsip::Uri::try_from(ua.contact()).unwrap_or_else(|e| panic!("{e}"));
    let dialog = Dialog::from_uas(&tx.request, &tag, &contact, tx.peer)
        .unwrap_or_else(|| panic!("no UAS dialog"));
    Party {
        dialog,
        server_rtp: n.remote_addr,
        media: media.start(&n, tone),
        rtp_port,
        sdp_version: 1,
    }
}

pub async fn send(tx: &ServerTransaction, resp: rsip::Response) {
    tx.respond(resp)
        .await
        .unwrap_or_else(|e| panic!("respond: {e}"));
}

impl Party {
    /// re-INVITE with `direction` (sendonly = hold, sendrecv = resume); returns the final code.
    pub async fn reinvite(&mut self, ua: &SipPeer, direction: Direction, server: Peer) -> u16 {
        self.sdp_version += 1;
        let mut offer = Sdp::offer(LOCAL, self.rtp_port, 1, direction);
        offer.version = self.sdp_version;
        let req = self.dialog.request(
            rsip::Method::Invite,
            Some(("application/sdp", offer.to_string().into_bytes())),
        );
        let cseq = self.dialog.local_cseq;
        let resp = ua
            .ep
            .request(req, server)
            .final_response()
            .await
            .unwrap_or_else(|e| panic!("re-INVITE: {e}"));
        if code(&resp) < 300 {
            ua.ep
                .ack(self.dialog.ack(cseq, None), server)
                .await
                .unwrap_or_else(|e| panic!("ACK: {e}"));
        }
        code(&resp)
    }

    /// Hang up; the final code of the BYE.
    pub async fn bye(&mut self, ua: &SipPeer, server: Peer) -> u16 {
        let req = self.dialog.request(rsip::Method::Bye, None);
        let resp = ua
            .ep
            .request(req, server)
            .final_response()
            .await
            .unwrap_or_else(|e| panic!("BYE: {e}"));
        code(&resp)
    }
}

/// Wait for a BYE at `ua` within `secs` and answer it 200. Other requests are answered 200 too.
pub async fn expect_bye(ua: &mut SipPeer, secs: u64) -> bool {
    let stashed: Vec<_> = ua.stash.drain(..).collect();
    let mut found = false;
    for tx in stashed {
        if tx.request.method == rsip::Method::Bye && !found {
            send(&tx, message::response(&tx.request, 200, "OK", None)).await;
            found = true;
        } else {
            ua.stash.push_back(tx);
        }
    }
    if found {
        return true;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while let Ok(Some(tx)) = tokio::time::timeout_at(deadline, ua.incoming.recv()).await {
        let method = tx.request.method;
        if method != rsip::Method::Ack {
            send(&tx, message::response(&tx.request, 200, "OK", None)).await;
        }
        if method == rsip::Method::Bye {
            return true;
        }
    }
    false
}
