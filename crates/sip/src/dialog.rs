//! SIP dialogs (RFC 3261 §12).

use crate::endpoint::Peer;

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
    /// Route set from Record-Route.
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

impl Dialog {
    /// The dialog a UAC gets from a 1xx (with To tag) or 2xx response to its INVITE.
    pub fn from_uac(invite: &rsip::Request, resp: &rsip::Response, peer: Peer) -> Option<Dialog> {
        let _ = (invite, resp, peer);
        todo!()
    }

    /// The dialog a UAS creates when answering an INVITE.
    pub fn from_uas(
        invite: &rsip::Request,
        local_tag: &str,
        local_contact: &rsip::Uri,
        peer: Peer,
    ) -> Option<Dialog> {
        let _ = (invite, local_tag, local_contact, peer);
        todo!()
    }

    /// In-dialog request (BYE, re-INVITE, INFO, REFER, NOTIFY…): next CSeq, tags, route set.
    pub fn request(
        &mut self,
        method: rsip::Method,
        body: Option<(&str, Vec<u8>)>,
    ) -> rsip::Request {
        let _ = (method, body);
        todo!()
    }

    /// ACK for a 2xx to the INVITE with CSeq `invite_cseq`.
    pub fn ack(&self, invite_cseq: u32, body: Option<(&str, Vec<u8>)>) -> rsip::Request {
        let _ = (invite_cseq, body);
        todo!()
    }

    /// Checks and records the CSeq of an incoming in-dialog request (false = out of order → 500).
    pub fn accept_remote_cseq(&mut self, cseq: u32) -> bool {
        let _ = cseq;
        todo!()
    }

    /// Whether `msg` belongs to this dialog (Call-ID + tags).
    pub fn matches(&self, msg: &rsip::SipMessage) -> bool {
        let _ = msg;
        todo!()
    }
}
