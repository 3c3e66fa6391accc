//! Bringing one agent up: REGISTER, PUBLISH (voice channel open), SUBSCRIBE to the directory —
//! each answered 401 first and sent again with digest credentials.

use agentphone_sip::auth::{Challenge, Credentials};
use agentphone_sip::message::{self, RequestBuilder};
use rsip::prelude::*;

use crate::auto_answer::AutoAnswer;
use crate::sip_socket::SipSocket;

/// An agent's account.
pub struct Agent<'a> {
    pub user: &'a str,
    pub password: &'a str,
}

const PIDF_OPEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:USER@HOST">
  <tuple id="voice"><status><basic>open</basic></status></tuple>
</presence>
"#;

/// Register `agent`, open its voice channel and (when `subscribe`) subscribe it to the directory.
pub fn set_up(
    sip: &mut SipSocket,
    answer: &mut AutoAnswer,
    agent: &Agent<'_>,
    subscribe: bool,
) -> anyhow::Result<()> {
    let host = sip.server().ip().to_string();
    let server = sip.server().to_string();
    let local = sip.local_addr();
    let aor = format!("sip:{}@{host}", agent.user);
    let contact = format!("sip:{}@{local}", agent.user);

    let register = RequestBuilder::new(rsip::Method::Register, &format!("sip:{server}"))?
        .contact(&contact)
        .header("Expires", "3600");
    authenticated(sip, |got| answer.handle(got), agent, register, &aor, &aor)?;

    let pidf = PIDF_OPEN.replace("USER", agent.user).replace("HOST", &host);
    let publish = RequestBuilder::new(rsip::Method::Publish, &aor)?
        .header("Event", "presence")
        .header("Expires", "3600")
        .body("application/pidf+xml", pidf.into_bytes());
    authenticated(sip, |got| answer.handle(got), agent, publish, &aor, &aor)?;

    if subscribe {
        let directory = format!("sip:directory@{host}");
        let subscribe = RequestBuilder::new(rsip::Method::Subscribe, &directory)?
            .contact(&contact)
            .header("Event", "agentphone-directory")
            .header("Accept", "application/vnd.agentphone.directory+json")
            .header("Expires", "3600");
        authenticated(
            sip,
            |got| answer.handle(got),
            agent,
            subscribe,
            &aor,
            &directory,
        )?;
    }
    Ok(())
}

/// Send the request; on 401 send it again (CSeq + 1) with credentials, and once more when the
/// server says the nonce went stale meanwhile (RFC 7616 §3.3: a new nonce, not a wrong
/// password; the server's nonce-count table gives a nonce's slot to a newer one). 2xx
/// expected. Requests arriving meanwhile go to `other`.
pub fn authenticated(
    sip: &mut SipSocket,
    mut other: impl FnMut(&crate::sip_socket::Received) -> Option<crate::auto_answer::Reply>,
    agent: &Agent<'_>,
    builder: RequestBuilder,
    from: &str,
    to: &str,
) -> anyhow::Result<()> {
    let call_id = message::new_call_id();
    let tag = message::new_tag();
    let base = builder
        .from(None, from, &tag)
        .to(None, to, None)
        .call_id(&call_id);
    let first = with_via(base.clone().cseq(1).build()?, sip);
    let mut resp = sip.transact(&first, &mut other)?;
    let (uri, method) = (first.uri.to_string(), first.method.to_string());
    let mut cseq = 1;
    while resp.status_code.code() == 401 {
        let challenge =
            challenge_of(&resp).ok_or_else(|| anyhow::anyhow!("401 without a usable challenge"))?;
        if cseq > 1 && !challenge.stale {
            break; // Our credentials were refused.
        }
        if cseq > 2 {
            break; // Stale twice in a row: something else is wrong.
        }
        cseq += 1;
        let creds = Credentials::answer(&challenge, agent.user, agent.password, &method, &uri, 1);
        let again = base
            .clone()
            .cseq(cseq)
            .header("Authorization", &creds.to_header_value())
            .build()?;
        resp = sip.transact(&with_via(again, sip), &mut other)?;
    }
    let code = resp.status_code.code();
    anyhow::ensure!(
        (200..300).contains(&code),
        "{} {} for {}: {code}",
        first.method,
        first.uri,
        agent.user
    );
    Ok(())
}

/// The response's first digest challenge it can answer.
fn challenge_of(resp: &rsip::Response) -> Option<Challenge> {
    resp.headers.iter().find_map(|h| match h {
        rsip::Header::WwwAuthenticate(w) => Challenge::parse(w.value()),
        _ => None,
    })
}

/// The request with our Via on top (new branch, rport).
fn with_via(mut req: rsip::Request, sip: &SipSocket) -> rsip::Request {
    let via = format!(
        "SIP/2.0/UDP {};branch={};rport",
        sip.local_addr(),
        message::new_branch()
    );
    req.headers.push(rsip::headers::Via::new(via).into());
    req
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::thread;

    use agentphone_sip::message::response;

    use super::*;

    /// A registrar over real UDP that answers the REGISTERs it receives with `script`'s
    /// statuses in turn (401s carry a challenge, stale=true when asked), and returns the nonce
    /// each request answered (None: no Authorization).
    fn registrar(script: Vec<(u16, bool)>) -> (SipSocket, thread::JoinHandle<Vec<Option<String>>>) {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = server.local_addr().unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sip = SipSocket::new(client, addr).unwrap();
        let handle = thread::spawn(move || {
            let mut answered = Vec::new();
            let mut buf = [0u8; 4096];
            for (i, (code, stale)) in script.into_iter().enumerate() {
                let (n, from) = server.recv_from(&mut buf).unwrap();
                let msg = rsip::SipMessage::try_from(&buf[..n]).unwrap();
                answered.push(
                    message::header_value(&msg, "Authorization")
                        .and_then(|a| a.split("nonce=\"").nth(1).map(str::to_string))
                        .and_then(|rest| rest.split('"').next().map(str::to_string)),
                );
                let rsip::SipMessage::Request(req) = msg else {
                    panic!("not a request");
                };
                let mut resp = response(&req, code, "Reply", Some("srv"));
                if code == 401 {
                    let challenge = Challenge {
                        realm: "test".into(),
                        nonce: format!("nonce-{i}"),
                        algorithm: agentphone_sip::auth::Algorithm::Md5,
                        opaque: None,
                        qop_auth: true,
                        stale,
                    };
                    resp.headers.push(
                        rsip::headers::WwwAuthenticate::new(challenge.to_header_value()).into(),
                    );
                }
                let bytes = message::to_bytes(&resp.into());
                server.send_to(&bytes, from).unwrap();
            }
            answered
        });
        (sip, handle)
    }

    fn register(sip: &mut SipSocket) -> anyhow::Result<()> {
        let agent = Agent {
            user: "alice",
            password: "pw",
        };
        let server = sip.server().to_string();
        let builder = RequestBuilder::new(rsip::Method::Register, &format!("sip:{server}"))?;
        let aor = format!("sip:alice@{}", sip.server().ip());
        authenticated(sip, |_| None, &agent, builder, &aor, &aor)
    }

    #[test]
    fn a_stale_nonce_is_answered_once_more_with_the_new_one() {
        let (mut sip, registrar) = registrar(vec![(401, false), (401, true), (200, false)]);
        register(&mut sip).unwrap();
        let answered = registrar.join().unwrap();
        assert_eq!(
            answered,
            [None, Some("nonce-0".into()), Some("nonce-1".into())]
        );
    }

    #[test]
    fn refused_credentials_are_not_sent_again() {
        let (mut sip, registrar) = registrar(vec![(401, false), (401, false)]);
        let err = register(&mut sip).unwrap_err().to_string();
        assert!(err.ends_with(": 401"), "{err}");
        assert_eq!(registrar.join().unwrap().len(), 2);
    }
}
