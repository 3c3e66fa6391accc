//! The client transaction state machine (RFC 3261 §17.1): INVITE (timers A, B, D) and
//! non-INVITE (timers E, F, K).

use super::wait::until;
use crate::endpoint::inner::{lock, ClientKey, Inner};
use crate::endpoint::{Peer, TransportKind, TxError};
use crate::message::to_bytes;
use rsip::prelude::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long an INVITE may stay in Proceeding without a final response (like a proxy's Timer C):
/// a peer that rang and then vanished must not keep the transaction forever.
const PROVISIONAL_LIMIT: Duration = Duration::from_secs(180);

/// One client transaction's state machine, run as a task.
pub(crate) struct ClientTask {
    pub(crate) inner: Arc<Inner>,
    pub(crate) request: rsip::Request,
    pub(crate) peer: Peer,
    pub(crate) key: ClientKey,
    pub(crate) responses: mpsc::UnboundedReceiver<rsip::Response>,
    pub(crate) cancel_sent: mpsc::UnboundedReceiver<()>,
    pub(crate) results: mpsc::UnboundedSender<Result<rsip::Response, TxError>>,
}

impl ClientTask {
    pub(crate) async fn run(mut self) {
        self.exchange().await;
        lock(&self.inner.clients).remove(&self.key);
    }

    async fn exchange(&mut self) {
        let bytes = to_bytes(&self.request.clone().into());
        if let Err(e) = self.inner.send(self.peer, &bytes).await {
            let _ = self.results.send(Err(TxError::Transport(e.to_string())));
            return;
        }
        let timers = self.inner.timers;
        let invite = self.request.method == rsip::Method::Invite;
        let udp = self.peer.transport == TransportKind::Udp;
        // Timer A (INVITE) / E (non-INVITE): retransmit over UDP only.
        let mut interval = timers.t1;
        let mut retransmit_at = udp.then(|| Instant::now() + interval);
        // Timer B / F. Timer B only runs in Calling; a ringing INVITE may wait up to
        // PROVISIONAL_LIMIT after its last provisional, or 64·T1 once it was cancelled.
        let mut deadline = Some(Instant::now() + timers.timeout());
        let mut cancelling = false;
        let final_resp = loop {
            tokio::select! {
                resp = self.responses.recv() => {
                    let Some(resp) = resp else { return };
                    let code = resp.status_code.code();
                    if code < 200 {
                        if invite {
                            retransmit_at = None;
                            if !cancelling {
                                deadline = Some(Instant::now() + PROVISIONAL_LIMIT.max(timers.timeout()));
                            }
                        } else if udp {
                            // Proceeding: keep retransmitting, at T2.
                            interval = timers.t2;
                            retransmit_at = Some(Instant::now() + interval);
                        }
                        let _ = self.results.send(Ok(resp));
                        continue;
                    }
                    break resp;
                }
                Some(()) = self.cancel_sent.recv(), if !cancelling => {
                    cancelling = true;
                    deadline = Some(Instant::now() + timers.timeout());
                }
                _ = until(retransmit_at) => {
                    let _ = self.inner.send(self.peer, &bytes).await;
                    interval = timers.backoff(interval, !invite);
                    retransmit_at = Some(Instant::now() + interval);
                }
                _ = until(deadline) => {
                    let _ = self.results.send(Err(TxError::Timeout));
                    return;
                }
            }
        };
        let code = final_resp.status_code.code();
        if invite && code < 300 {
            // 2xx: the transaction ends; the UAC core ACKs (and re-ACKs retransmissions).
            let _ = self.results.send(Ok(final_resp));
            return;
        }
        let ack = if invite {
            let ack = to_bytes(&non_2xx_ack(&self.request, &final_resp).into());
            let _ = self.inner.send(self.peer, &ack).await;
            Some(ack)
        } else {
            None
        };
        let _ = self.results.send(Ok(final_resp));
        // Completed: absorb retransmitted finals (Timer D / K), re-ACKing for INVITE.
        let linger = if invite {
            timers.timer_d(self.peer.transport)
        } else {
            timers.timer_k(self.peer.transport)
        };
        let end = Instant::now() + linger;
        loop {
            tokio::select! {
                resp = self.responses.recv() => {
                    if resp.is_none() {
                        return;
                    }
                    if let Some(ack) = &ack {
                        let _ = self.inner.send(self.peer, ack).await;
                    }
                }
                _ = tokio::time::sleep_until(end) => return,
            }
        }
    }
}

/// RFC 3261 §17.1.1.3: the ACK for a non-2xx final response, part of the INVITE transaction.
fn non_2xx_ack(invite: &rsip::Request, resp: &rsip::Response) -> rsip::Request {
    let mut headers = rsip::Headers::default();
    if let Ok(via) = invite.via_header() {
        headers.push(via.clone().into());
    }
    headers.push(rsip::headers::MaxForwards::new("70").into());
    for h in invite.headers.iter() {
        match h {
            rsip::Header::From(_) | rsip::Header::CallId(_) | rsip::Header::Route(_) => {
                headers.push(h.clone())
            }
            _ => {}
        }
    }
    match resp.to_header() {
        Ok(to) => headers.push(to.clone().into()),
        Err(_) => {
            if let Ok(to) = invite.to_header() {
                headers.push(to.clone().into());
            }
        }
    }
    let seq = invite
        .cseq_header()
        .ok()
        .and_then(|c| c.typed().ok())
        .map_or(1, |c| c.seq);
    headers.push(rsip::headers::CSeq::new(format!("{seq} ACK")).into());
    rsip::Request {
        method: rsip::Method::Ack,
        uri: invite.uri.clone(),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}
