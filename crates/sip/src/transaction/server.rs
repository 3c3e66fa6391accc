//! Server transactions (RFC 3261 §17.2, with the RFC 6026 Accepted state): INVITE (automatic
//! 100 Trying, timers G, H, I, 2xx retransmission until ACK) and non-INVITE (timer J).

use super::wait::until;
use crate::endpoint::inner::{lock, CallSeq, Inner, ServerKey};
use crate::endpoint::{Endpoint, Peer, TransportKind};
use crate::message::{response, to_bytes};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::time::Instant;

/// If the TU has not answered an INVITE within this time, the transaction sends 100 Trying.
const AUTO_TRYING_AFTER: Duration = Duration::from_millis(200);

/// What happens to a server transaction.
pub(crate) enum ServerEvent {
    /// The request arrived again.
    Retransmission,
    /// An ACK for this INVITE arrived (same branch, or matched by Call-ID + CSeq for a 2xx).
    Ack,
    /// The TU dropped its handle without a final response.
    Abandoned,
    /// The TU sends a response.
    Respond {
        bytes: Vec<u8>,
        code: u16,
        done: oneshot::Sender<std::io::Result<()>>,
    },
}

/// Set once by a CANCEL; awaited by `ServerTransaction::cancelled`.
#[derive(Default)]
pub(crate) struct CancelSignal {
    fired: AtomicBool,
    notify: Notify,
}

impl CancelSignal {
    pub(crate) fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    async fn wait(&self) {
        loop {
            let notified = self.notify.notified();
            if self.fired.load(Ordering::SeqCst) {
                return;
            }
            notified.await;
        }
    }
}

/// The endpoint's handle to a running server transaction.
pub(crate) struct ServerEntry {
    pub events: mpsc::UnboundedSender<ServerEvent>,
    /// 0 until a final response was sent.
    pub final_code: Arc<AtomicU16>,
    pub cancel: Arc<CancelSignal>,
}

/// A request we received, waiting for the TU's responses.
pub struct ServerTransaction {
    /// The request as received (top Via stamped with `received`/`rport`).
    pub request: rsip::Request,
    /// Where it came from (responses go back there).
    pub peer: Peer,
    endpoint: Endpoint,
    handle: Option<(mpsc::UnboundedSender<ServerEvent>, Arc<CancelSignal>)>,
}

impl ServerTransaction {
    /// A request outside any transaction (an ACK for a 2xx): `respond` does nothing.
    pub(crate) fn detached(request: rsip::Request, peer: Peer, endpoint: Endpoint) -> Self {
        ServerTransaction {
            request,
            peer,
            endpoint,
            handle: None,
        }
    }

    /// Send a response (1xx any number of times, then one final). Retransmission is the layer's job.
    /// A second final response is refused with an error.
    pub async fn respond(&self, resp: rsip::Response) -> std::io::Result<()> {
        let Some((events, _)) = &self.handle else {
            return Ok(());
        };
        let code = resp.status_code.code();
        let bytes = to_bytes(&resp.into());
        let (done, result) = oneshot::channel();
        let closed = || std::io::Error::new(std::io::ErrorKind::NotConnected, "transaction ended");
        events
            .send(ServerEvent::Respond { bytes, code, done })
            .map_err(|_| closed())?;
        result.await.map_err(|_| closed())?
    }

    /// Resolves when a matching CANCEL arrived (the endpoint has already answered the CANCEL 200;
    /// the TU should answer the INVITE 487). Never resolves for non-INVITE.
    pub async fn cancelled(&self) {
        match &self.handle {
            Some((_, cancel)) if self.request.method == rsip::Method::Invite => cancel.wait().await,
            _ => std::future::pending().await,
        }
    }

    /// The endpoint this transaction belongs to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

impl Drop for ServerTransaction {
    fn drop(&mut self) {
        if let Some((events, _)) = &self.handle {
            let _ = events.send(ServerEvent::Abandoned);
        }
    }
}

/// Register and run a server transaction for `req`; the returned value goes to the TU (or, for a
/// CANCEL, is answered by the endpoint itself).
pub(crate) fn start(
    endpoint: &Endpoint,
    req: rsip::Request,
    peer: Peer,
    key: ServerKey,
    call_seq: CallSeq,
) -> ServerTransaction {
    let inner = endpoint.inner().clone();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let final_code = Arc::new(AtomicU16::new(0));
    let cancel = Arc::new(CancelSignal::default());
    lock(&inner.servers).insert(
        key.clone(),
        ServerEntry {
            events: events_tx.clone(),
            final_code: final_code.clone(),
            cancel: cancel.clone(),
        },
    );
    let task = Task {
        inner: inner.clone(),
        request: req.clone(),
        peer,
        key,
        call_seq,
        events: events_rx,
        events_tx: events_tx.clone(),
        final_code,
    };
    inner.track(tokio::spawn(task.run()));
    ServerTransaction {
        request: req,
        peer,
        endpoint: endpoint.clone(),
        handle: Some((events_tx, cancel)),
    }
}

struct Task {
    inner: Arc<Inner>,
    request: rsip::Request,
    peer: Peer,
    key: ServerKey,
    call_seq: CallSeq,
    events: mpsc::UnboundedReceiver<ServerEvent>,
    /// Given to `pending_2xx` so that an ACK with a new branch reaches us.
    events_tx: mpsc::UnboundedSender<ServerEvent>,
    final_code: Arc<AtomicU16>,
}

impl Task {
    async fn run(mut self) {
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
