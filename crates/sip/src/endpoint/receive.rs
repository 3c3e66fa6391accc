//! What the endpoint does with every message that arrives, on any transport.

use super::inner::{lock, CallSeq, Inner, ServerKey};
use super::via::{stamp_received, top_branch, tx_method};
use super::{Endpoint, Peer};
use crate::message::{self, bad_request_reply, error_reply, parse, response};
use crate::transaction::server::{self, ServerEvent, ServerTransaction};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Handle one datagram or stream frame.
pub(crate) async fn handle_bytes(inner: &Arc<Inner>, peer: Peer, bytes: &[u8]) {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return; // keep-alive
    }
    match parse(bytes) {
        Err(e) => {
            tracing::debug!(?peer, reason = %e, "sip: unparseable message");
            let reply = if e.reason.starts_with("Unsupported method") {
                error_reply(bytes, 501, "Not Implemented")
            } else {
                bad_request_reply(bytes, &e.reason)
            };
            if let Some(reply) = reply {
                let _ = inner.send(peer, &reply).await;
            }
        }
        Ok(rsip::SipMessage::Request(req)) => handle_request(inner, peer, req).await,
        Ok(rsip::SipMessage::Response(resp)) => handle_response(inner, resp).await,
    }
}

/// Call-ID + CSeq number of a parsed (hence validated) message.
fn call_seq(msg: &rsip::SipMessage) -> CallSeq {
    (
        message::call_id(msg).unwrap_or_default(),
        message::cseq(msg).map_or(0, |(n, _)| n),
    )
}

/// Transaction key; RFC 2543 peers without a magic-cookie branch get one built from the dialog.
fn server_key(msg: &rsip::SipMessage, method: rsip::Method) -> ServerKey {
    let branch = top_branch(msg)
        .filter(|b| b.starts_with("z9hG4bK"))
        .unwrap_or_else(|| {
            let (call_id, seq) = call_seq(msg);
            let tag = message::from_tag(msg).unwrap_or_default();
            format!("rfc2543|{call_id}|{seq}|{tag}")
        });
    (branch, tx_method(method).to_string())
}

async fn handle_request(inner: &Arc<Inner>, peer: Peer, mut req: rsip::Request) {
    stamp_received(&mut req, peer);
    let method = req.method;
    let msg = rsip::SipMessage::Request(req);
    let key = server_key(&msg, method);
    let cs = call_seq(&msg);
    let rsip::SipMessage::Request(req) = msg else {
        return;
    };
    let endpoint = Endpoint::from_inner(inner.clone());

    if method == rsip::Method::Ack {
        handle_ack(inner, &endpoint, peer, req, &key, &cs).await;
        return;
    }
    let existing = lock(&inner.servers).get(&key).map(|e| e.events.clone());
    if let Some(events) = existing {
        let _ = events.send(ServerEvent::Retransmission);
        return;
    }
    if method == rsip::Method::Cancel {
        handle_cancel(&endpoint, peer, req, key, cs).await;
        return;
    }
    let tx = server::start(&endpoint, req, peer, key, cs);
    deliver(inner, tx).await;
}

/// Hand a new request to the TU without ever blocking the receive loop: when the TU is that far
/// behind, the request is answered 503 (and a dropped queue means 500, from the transaction).
async fn deliver(inner: &Arc<Inner>, tx: ServerTransaction) {
    match inner.incoming.try_send(tx) {
        Ok(()) => {}
        Err(tokio::sync::mpsc::error::TrySendError::Full(tx)) => {
            tracing::warn!("sip: TU queue full, answering 503");
            if tx.request.method != rsip::Method::Ack {
                let busy = response(&tx.request, 503, "Service Unavailable", None);
                let _ = tx.respond(busy).await;
            }
        }
        Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
            tracing::debug!("sip: nobody takes incoming requests");
        }
    }
}

async fn handle_ack(
    inner: &Arc<Inner>,
    endpoint: &Endpoint,
    peer: Peer,
    req: rsip::Request,
    key: &ServerKey,
    cs: &CallSeq,
) {
    let same_branch = lock(&inner.servers)
        .get(key)
        .map(|e| (e.events.clone(), e.final_code.load(Ordering::SeqCst)));
    if let Some((events, code)) = &same_branch {
        let _ = events.send(ServerEvent::Ack);
        if *code >= 300 {
            return; // ACK for a non-2xx final: part of the INVITE transaction.
        }
    }
    if let Some(events) = lock(&inner.pending_2xx).remove(cs) {
        let _ = events.send(ServerEvent::Ack);
    }
    let tx = ServerTransaction::detached(req, peer, endpoint.clone());
    deliver(inner, tx).await;
}

async fn handle_cancel(
    endpoint: &Endpoint,
    peer: Peer,
    req: rsip::Request,
    key: ServerKey,
    cs: CallSeq,
) {
    let inner = endpoint.inner();
    let invite_key = (key.0.clone(), rsip::Method::Invite.to_string());
    let invite = lock(&inner.servers)
        .get(&invite_key)
        .map(|e| (e.final_code.load(Ordering::SeqCst), e.cancel.clone()));
    let (code, reason) = match &invite {
        Some(_) => (200, "OK"),
        None => (481, "Call/Transaction Does Not Exist"),
    };
    let cancel_tx = server::start(endpoint, req, peer, key, cs);
    let resp = response(&cancel_tx.request, code, reason, None);
    let _ = cancel_tx.respond(resp).await;
    if let Some((0, signal)) = invite {
        signal.fire();
    }
}

async fn handle_response(inner: &Arc<Inner>, resp: rsip::Response) {
    let msg = rsip::SipMessage::Response(resp);
    let Some((seq, method)) = message::cseq(&msg) else {
        return;
    };
    let branch = top_branch(&msg).unwrap_or_default();
    let sender = lock(&inner.clients)
        .get(&(branch, method.to_string()))
        .map(|e| e.responses.clone());
    let rsip::SipMessage::Response(resp) = msg else {
        return;
    };
    let code = resp.status_code.code();
    if let Some(sender) = sender {
        let _ = sender.send(resp);
        return;
    }
    if method == rsip::Method::Invite && (200..300).contains(&code) {
        // A retransmitted 2xx: the UAC core answers it with the same ACK again.
        let call_id = message::call_id(&rsip::SipMessage::Response(resp)).unwrap_or_default();
        let ack = lock(&inner.sent_acks).get(&(call_id, seq)).cloned();
        if let Some((bytes, peer)) = ack {
            let _ = inner.send(peer, &bytes).await;
        }
        return;
    }
    tracing::debug!(code, "sip: dropping response that matches no transaction");
}
