//! Server transactions: the TU's handle and their registration with the endpoint. The state
//! machine itself is in `server_task`.

use super::server_task::ServerTask;
use crate::endpoint::inner::{lock, CallSeq, ServerKey};
use crate::endpoint::{Endpoint, Peer};
use crate::message::to_bytes;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Notify};

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
    let task = ServerTask {
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
