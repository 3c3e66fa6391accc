//! Via handling: our own Via on outgoing requests, `received`/`rport` on incoming ones.

use crate::endpoint::{Peer, TransportKind};
use rsip::prelude::*;
use std::net::SocketAddr;

/// Transport token for a Via header.
pub(crate) fn transport_token(kind: TransportKind) -> &'static str {
    match kind {
        TransportKind::Udp => "UDP",
        TransportKind::Tcp => "TCP",
        TransportKind::Tls => "TLS",
    }
}

/// The value of our own Via: `SIP/2.0/<T> <local>;branch=<branch>;rport`.
pub(crate) fn own_via_value(local: SocketAddr, kind: TransportKind, branch: &str) -> String {
    format!(
        "SIP/2.0/{} {local};branch={branch};rport",
        transport_token(kind)
    )
}

/// Put `Via: SIP/2.0/<T> <local>;branch=<branch>;rport` on top of `req`.
pub(crate) fn push_own_via(
    req: &mut rsip::Request,
    local: SocketAddr,
    kind: TransportKind,
    branch: &str,
) {
    let via = rsip::headers::Via::new(own_via_value(local, kind, branch));
    let mut headers: Vec<rsip::Header> = std::mem::take(&mut req.headers).into();
    headers.insert(0, via.into());
    req.headers = headers.into();
}

/// RFC 3261 §18.2.1 + RFC 3581: note where the request really came from in its top Via, so that
/// the response (which copies the Via) documents it.
pub(crate) fn stamp_received(req: &mut rsip::Request, peer: Peer) {
    let Some(via) = req.headers.iter_mut().find_map(|h| match h {
        rsip::Header::Via(v) => Some(v),
        _ => None,
    }) else {
        return;
    };
    let stamped = crate::message::lite::stamped_via(via.value(), peer.addr);
    via.replace(stamped);
}
