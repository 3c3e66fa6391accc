//! SIP dialogs (RFC 3261 §12): identifiers, CSeq bookkeeping, route set, in-dialog requests.

use crate::endpoint::Peer;
use crate::message::{self, make_header, name_addr, unquote};
use rsip::prelude::*;

/// The state of one dialog.
#[derive(Clone, Debug)]
pub struct Dialog {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The remote party's tag.
    pub remote_tag: String,
    /// Our URI (From in our requests).
    pub local_uri: rsip::Uri,
    /// The remote URI (To in our requests).
    pub remote_uri: rsip::Uri,
    /// Where in-dialog requests go (the remote Contact).
    pub remote_target: rsip::Uri,
    /// CSeq of our last request.
    pub local_cseq: u32,
    /// CSeq of the last remote request.
    pub remote_cseq: Option<u32>,
    /// Route set from Record-Route (in the order our requests use it).
    pub route_set: Vec<rsip::Uri>,
    /// Transport peer.
    pub peer: Peer,
    /// Our Contact.
    pub local_contact: rsip::Uri,
    /// Our display name.
    pub local_display: Option<String>,
    /// The remote display name.
    pub remote_display: Option<String>,
}

fn to_display_name(msg: &rsip::SipMessage) -> Option<String> {
    let name = msg.to_header().ok()?.typed().ok()?.display_name?;
    let name = unquote(name.trim());
    (!name.is_empty()).then_some(name)
}

fn record_route(msg: &rsip::SipMessage) -> Vec<rsip::Uri> {
    msg.headers()
        .iter()
        .filter_map(|h| match h {
            rsip::Header::RecordRoute(rr) => {
                let value = rr.value().trim();
                let inner = value
                    .strip_prefix('<')
                    .and_then(|v| v.split_once('>'))
                    .map_or(value, |(uri, _)| uri);
                rsip::Uri::try_from(inner).ok()
            }
            _ => None,
        })
        .collect()
}

impl Dialog {
    /// The dialog a UAC gets from a 1xx (with To tag) or 2xx response to its INVITE.
    pub fn from_uac(invite: &rsip::Request, resp: &rsip::Response, peer: Peer) -> Option<Dialog> {
        let req: rsip::SipMessage = invite.clone().into();
        let res: rsip::SipMessage = resp.clone().into();
        let remote_uri = message::to_uri(&req)?;
        let local_uri = message::from_uri(&req)?;
        let mut route_set = record_route(&res);
        route_set.reverse();
        Some(Dialog {
            call_id: message::call_id(&req)?,
            local_tag: message::from_tag(&req)?,
            remote_tag: message::to_tag(&res)?,
            remote_target: message::contact_uri(&res).unwrap_or_else(|| remote_uri.clone()),
            local_contact: message::contact_uri(&req).unwrap_or_else(|| local_uri.clone()),
            local_uri,
            remote_uri,
            local_cseq: message::cseq(&req)?.0,
            remote_cseq: None,
            route_set,
            peer,
            local_display: message::from_display_name(&req),
            remote_display: to_display_name(&res),
        })
    }

    /// The dialog a UAS creates when answering an INVITE.
    pub fn from_uas(
        invite: &rsip::Request,
        local_tag: &str,
        local_contact: &rsip::Uri,
        peer: Peer,
    ) -> Option<Dialog> {
        let req: rsip::SipMessage = invite.clone().into();
        let remote_uri = message::from_uri(&req)?;
        Some(Dialog {
            call_id: message::call_id(&req)?,
            local_tag: local_tag.to_string(),
            remote_tag: message::from_tag(&req)?,
            local_uri: message::to_uri(&req)?,
            remote_target: message::contact_uri(&req).unwrap_or_else(|| remote_uri.clone()),
            remote_uri,
            local_cseq: 0,
            remote_cseq: Some(message::cseq(&req)?.0),
            route_set: record_route(&req),
            peer,
            local_contact: local_contact.clone(),
            local_display: to_display_name(&req),
            remote_display: message::from_display_name(&req),
        })
    }

    fn build(
        &self,
        method: rsip::Method,
        seq: u32,
        body: Option<(&str, Vec<u8>)>,
    ) -> rsip::Request {
        let mut headers = rsip::Headers::default();
        headers.push(rsip::headers::MaxForwards::new("70").into());
        let from = format!(
            "{};tag={}",
            name_addr(self.local_display.as_deref(), &self.local_uri.to_string()),
            self.local_tag
        );
        let to = format!(
            "{};tag={}",
            name_addr(self.remote_display.as_deref(), &self.remote_uri.to_string()),
            self.remote_tag
        );
        headers.push(rsip::headers::From::new(from).into());
        headers.push(rsip::headers::To::new(to).into());
        headers.push(rsip::headers::CallId::new(self.call_id.clone()).into());
        headers.push(rsip::headers::CSeq::new(format!("{seq} {method}")).into());
        headers.push(rsip::headers::Contact::new(format!("<{}>", self.local_contact)).into());
        for route in &self.route_set {
            headers.push(make_header("Route", &format!("<{route}>")));
        }
        let body = match body {
            Some((content_type, body)) => {
                headers.push(rsip::headers::ContentType::new(content_type).into());
                body
            }
            None => Vec::new(),
        };
        headers.push(rsip::headers::ContentLength::new(body.len().to_string()).into());
        rsip::Request {
            method,
            uri: self.remote_target.clone(),
            version: rsip::Version::V2,
            headers,
            body,
        }
    }

    /// In-dialog request (BYE, re-INVITE, INFO, REFER, NOTIFY…): next CSeq, tags, route set.
    pub fn request(
        &mut self,
        method: rsip::Method,
        body: Option<(&str, Vec<u8>)>,
    ) -> rsip::Request {
        let seq = self.next_cseq();
        self.build(method, seq, body)
    }

    /// Take the next CSeq number of our requests (as [`Dialog::request`] does).
    pub fn next_cseq(&mut self) -> u32 {
        self.local_cseq = self.local_cseq.wrapping_add(1).max(1);
        self.local_cseq
    }

    /// ACK for a 2xx to the INVITE with CSeq `invite_cseq`.
    pub fn ack(&self, invite_cseq: u32, body: Option<(&str, Vec<u8>)>) -> rsip::Request {
        self.build(rsip::Method::Ack, invite_cseq, body)
    }

    /// Checks and records the CSeq of an incoming in-dialog request (false = out of order → 500).
    pub fn accept_remote_cseq(&mut self, cseq: u32) -> bool {
        match self.remote_cseq {
            Some(last) if cseq <= last => false,
            _ => {
                self.remote_cseq = Some(cseq);
                true
            }
        }
    }

    /// Whether `msg` belongs to this dialog (Call-ID + tags, in either direction).
    pub fn matches(&self, msg: &rsip::SipMessage) -> bool {
        if message::call_id(msg).as_deref() != Some(self.call_id.as_str()) {
            return false;
        }
        let from = message::from_tag(msg);
        let to = message::to_tag(msg);
        let is = |t: &Option<String>, want: &str| t.as_deref() == Some(want);
        (is(&from, &self.remote_tag) && is(&to, &self.local_tag))
            || (is(&from, &self.local_tag) && is(&to, &self.remote_tag))
    }
}
