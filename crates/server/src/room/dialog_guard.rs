//! Whether an in-dialog request really belongs to a leg's dialog (issue 11 §1): the Call-ID alone
//! is not a secret (it travels in every message and in logs), so the request must also carry both
//! tags of the dialog, and come from the party's flow — the address its INVITE (or its 2xx) came
//! from, or its Contact — unless an agent proves who they are with credentials (a phone whose
//! address changed). Anything else is answered 481, as for a dialog that does not exist.

use std::net::SocketAddr;

use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Peer, ServerTransaction};
use agentphone_sip::message::fields;

use crate::auth_guard::AuthDecision;
use crate::context::Ctx;

/// How a request relates to a dialog it names by Call-ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Membership {
    /// Right tags, from the party's flow.
    Member,
    /// Right tags, from another address: only valid with the party's credentials.
    Elsewhere,
    /// Wrong or missing tags: not this dialog.
    Stranger,
}

/// Where `req` (received from `source`) stands against `dialog`.
pub fn membership(dialog: &Dialog, req: &rsip::Request, source: Peer) -> Membership {
    let from_tag = fields::from_tag(req);
    let to_tag = fields::to_tag(req);
    if from_tag.as_deref() != Some(dialog.remote_tag.as_str())
        || to_tag.as_deref() != Some(dialog.local_tag.as_str())
    {
        return Membership::Stranger;
    }
    if from_flow(dialog, source) {
        Membership::Member
    } else {
        Membership::Elsewhere
    }
}

/// Whether the room takes `tx` on a leg with `dialog`: a member, or an agent leg's request from
/// elsewhere carrying that agent's valid credentials.
pub fn admits(ctx: &Ctx, dialog: &Dialog, is_agent: bool, tx: &ServerTransaction) -> bool {
    match membership(dialog, &tx.request, tx.peer) {
        Membership::Member => true,
        Membership::Stranger => false,
        Membership::Elsewhere => {
            is_agent
                && matches!(
                    ctx.auth.check(&tx.request, tx.peer.addr.ip()),
                    AuthDecision::Agent(user) if dialog.remote_uri.user() == Some(user.as_str())
                )
        }
    }
}

/// The party's own flow: the address the dialog was made with, its Contact when that is an
/// address, or — over TCP, where a new connection gets a new source port — the same host.
fn from_flow(dialog: &Dialog, source: Peer) -> bool {
    if source.addr == dialog.peer.addr || Some(source.addr) == literal_addr(&dialog.remote_target) {
        return true;
    }
    source.transport.is_stream()
        && source.transport == dialog.peer.transport
        && source.addr.ip() == dialog.peer.addr.ip()
}

/// `IP:PORT` of a URI whose host is an IP literal (port 5060 when absent).
fn literal_addr(uri: &rsip::Uri) -> Option<SocketAddr> {
    let ip = match &uri.host_with_port.host {
        rsip::Host::IpAddr(ip) => *ip,
        rsip::Host::Domain(d) => d.to_string().trim_matches(['[', ']']).parse().ok()?,
    };
    let port = uri
        .host_with_port
        .port
        .as_ref()
        .map_or(5060, |p| *p.value());
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentphone_sip::endpoint::TransportKind;
    use agentphone_sip::message::RequestBuilder;

    fn peer(addr: &str, transport: TransportKind) -> Peer {
        Peer {
            addr: addr.parse().unwrap_or_else(|e| panic!("{e}")),
            transport,
        }
    }

    fn dialog(transport: TransportKind) -> Dialog {
        let invite = RequestBuilder::new(rsip::Method::Invite, "sip:support@127.0.0.1")
            .and_then(|b| {
                b.from(None, "sip:cust@127.0.0.1", "theirs")
                    .to(None, "sip:support@127.0.0.1", None)
                    .call_id("cid")
                    .cseq(1)
                    .contact("sip:cust@127.0.0.1:5099")
                    .build()
            })
            .unwrap_or_else(|e| panic!("{e}"));
        let contact =
            rsip::Uri::try_from("sip:agentphone@127.0.0.1").unwrap_or_else(|e| panic!("{e}"));
        Dialog::from_uas(&invite, "ours", &contact, peer("127.0.0.1:5070", transport))
            .unwrap_or_else(|| panic!("no dialog"))
    }

    fn bye(from_tag: &str, to_tag: Option<&str>) -> rsip::Request {
        RequestBuilder::new(rsip::Method::Bye, "sip:agentphone@127.0.0.1")
            .and_then(|b| {
                b.from(None, "sip:cust@127.0.0.1", from_tag)
                    .to(None, "sip:support@127.0.0.1", to_tag)
                    .call_id("cid")
                    .cseq(2)
                    .build()
            })
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn requests_are_judged_by_tags_then_flow() {
        use Membership::*;
        use TransportKind::*;
        let udp = dialog(Udp);
        let tcp = dialog(Tcp);
        let table = [
            // (dialog, from tag, to tag, source, expected)
            (
                &udp,
                "theirs",
                Some("ours"),
                peer("127.0.0.1:5070", Udp),
                Member,
            ),
            (
                &udp,
                "theirs",
                Some("ours"),
                peer("127.0.0.1:5099", Udp),
                Member,
            ), // its Contact
            (
                &udp,
                "theirs",
                Some("ours"),
                peer("127.0.0.1:6000", Udp),
                Elsewhere,
            ),
            (
                &udp,
                "theirs",
                Some("ours"),
                peer("127.0.0.2:5070", Udp),
                Elsewhere,
            ),
            (
                &udp,
                "wrong",
                Some("ours"),
                peer("127.0.0.1:5070", Udp),
                Stranger,
            ),
            (
                &udp,
                "theirs",
                Some("other"),
                peer("127.0.0.1:5070", Udp),
                Stranger,
            ),
            (&udp, "theirs", None, peer("127.0.0.1:5070", Udp), Stranger),
            // A new TCP connection from the same host is the same party.
            (
                &tcp,
                "theirs",
                Some("ours"),
                peer("127.0.0.1:41000", Tcp),
                Member,
            ),
            (
                &tcp,
                "theirs",
                Some("ours"),
                peer("127.0.0.2:41000", Tcp),
                Elsewhere,
            ),
            (
                &udp,
                "theirs",
                Some("ours"),
                peer("127.0.0.1:41000", Tcp),
                Elsewhere,
            ),
        ];
        for (i, (d, from, to, source, want)) in table.into_iter().enumerate() {
            assert_eq!(membership(d, &bye(from, to), source), want, "row {i}");
        }
    }
}
