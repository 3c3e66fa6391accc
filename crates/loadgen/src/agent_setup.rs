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

/// Send the request; on 401 send it again (CSeq + 1) with credentials. 2xx expected. Requests
/// arriving meanwhile go to `other`.
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
    let resp = sip.transact(&first, &mut other)?;
    let resp = if resp.status_code.code() == 401 {
        let challenge = resp
            .headers
            .iter()
            .filter_map(|h| match h {
                rsip::Header::WwwAuthenticate(w) => Challenge::parse(w.value()),
                _ => None,
            })
            .next()
            .ok_or_else(|| anyhow::anyhow!("401 without a usable challenge"))?;
        let uri = first.uri.to_string();
        let method = first.method.to_string();
        let creds = Credentials::answer(&challenge, agent.user, agent.password, &method, &uri, 1);
        let second = base
            .cseq(2)
            .header("Authorization", &creds.to_header_value())
            .build()?;
        sip.transact(&with_via(second, sip), &mut other)?
    } else {
        resp
    };
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
