//! The server transaction state machine (RFC 3261 §17.2, with the RFC 6026 Accepted state):
//! INVITE (automatic 100 Trying, timers G, H, I, 2xx retransmission until ACK) and non-INVITE
//! (timer J).

use super::server::ServerEvent;
use super::wait::until;
use crate::endpoint::inner::{lock, CallSeq, Inner, ServerKey};
use crate::endpoint::{Peer, TransportKind};
use crate::message::{response, to_bytes};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// If the TU has not answered an INVITE within this time, the transaction sends 100 Trying.
const AUTO_TRYING_AFTER: Duration = Duration::from_millis(200);

/// One server transaction's state machine, run as a task.
pub(crate) struct ServerTask {
    pub(crate) inner: Arc<Inner>,
    pub(crate) request: rsip::Request,
    pub(crate) peer: Peer,
    pub(crate) key: ServerKey,
    pub(crate) call_seq: CallSeq,
    pub(crate) events: mpsc::UnboundedReceiver<ServerEvent>,
    /// Given to `pending_2xx` so that an ACK with a new branch reaches us.
    pub(crate) events_tx: mpsc::UnboundedSender<ServerEvent>,
    pub(crate) final_code: Arc<AtomicU16>,
}

impl ServerTask {
    pub(crate) async fn run(mut self) {
        self.serve().await;
        lock(&self.inner.servers).remove(&self.key);
        let mut pending = lock(&self.inner.pending_2xx);
        if pending
            .get(&self.call_seq)
            .is_some_and(|tx| tx.same_channel(&self.events_tx))
        {
            pending.remove(&self.call_seq);
        }
    }

    async fn serve(&mut self) {
        let timers = self.inner.timers;
        let invite = self.request.method == rsip::Method::Invite;
        let udp = self.peer.transport == TransportKind::Udp;
        let mut trying_at = invite.then(|| Instant::now() + AUTO_TRYING_AFTER);
        let mut last_provisional: Option<Vec<u8>> = None;
        let mut final_bytes: Option<(Vec<u8>, u16)> = None;
        // Timer G (non-2xx) or the UAS core's 2xx retransmission.
        let mut interval = timers.t1;
        let mut retransmit_at: Option<Instant> = None;
        // Timer H / J / I, the end of Accepted, or the 2xx give-up time.
        let mut end_at: Option<Instant> = None;
        let mut acked = false;
        loop {
            tokio::select! {
                event = self.events.recv() => {
                    let Some(event) = event else { return };
                    match event {
                        ServerEvent::Retransmission => {
                            match &final_bytes {
                                // Accepted (2xx to INVITE): absorb, the 2xx is retransmitted on a timer.
                                Some((_, code)) if invite && *code < 300 => {}
                                Some((bytes, _)) => { let _ = self.inner.send(self.peer, bytes).await; }
                                None => if let Some(bytes) = &last_provisional {
                                    let _ = self.inner.send(self.peer, bytes).await;
                                },
                            }
                        }
                        ServerEvent::Ack => {
                            if invite && final_bytes.is_some() && !acked {
                                acked = true;
                                retransmit_at = None;
                                if final_bytes.as_ref().is_some_and(|(_, c)| *c >= 300) {
                                    // Confirmed: Timer I.
                                    end_at = Some(Instant::now() + timers.timer_k(self.peer.transport));
                                }
                            }
                        }
                        ServerEvent::Abandoned => {
                            if final_bytes.is_none() {
                                // Nobody will answer: say so rather than leave the peer retrying.
                                let resp = response(&self.request, 500, "Server Internal Error", None);
                                let (done, _) = oneshot::channel();
                                let bytes = to_bytes(&resp.into());
                                let _ = self.events_tx.send(ServerEvent::Respond { bytes, code: 500, done });
                            }
                        }
                        ServerEvent::Respond { bytes, code, done } => {
                            if final_bytes.is_some() {
                                let _ = done.send(Err(std::io::Error::other("final response already sent")));
                                continue;
                            }
                            trying_at = None;
                            let result = self.inner.send(self.peer, &bytes).await;
                            let _ = done.send(result);
                            if code < 200 {
                                last_provisional = Some(bytes);
                                continue;
                            }
                            self.final_code.store(code, Ordering::SeqCst);
                            if !invite {
                                end_at = Some(Instant::now() + timers.timer_j(self.peer.transport));
                            } else {
                                if code < 300 {
                                    lock(&self.inner.pending_2xx)
                                        .insert(self.call_seq.clone(), self.events_tx.clone());
                                }
                                retransmit_at = udp.then(|| Instant::now() + interval);
                                end_at = Some(Instant::now() + timers.timeout());
                            }
                            final_bytes = Some((bytes, code));
                        }
                    }
                }
                _ = until(trying_at) => {
                    trying_at = None;
                    let trying = to_bytes(&response(&self.request, 100, "Trying", None).into());
                    let _ = self.inner.send(self.peer, &trying).await;
                    last_provisional = Some(trying);
                }
                _ = until(retransmit_at) => {
                    if let Some((bytes, _)) = &final_bytes {
                        let _ = self.inner.send(self.peer, bytes).await;
                    }
                    interval = timers.backoff(interval, true);
                    retransmit_at = Some(Instant::now() + interval);
                }
                _ = until(end_at) => {
                    if invite && !acked {
                        tracing::debug!(call_id = %self.call_seq.0, "no ACK for final response to INVITE");
                    }
                    return;
                }
            }
        }
    }
}
