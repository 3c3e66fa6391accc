//! The TU's handle on a request it received: `respond`, `respond_stateless`, `cancelled`.

use super::{closed, Endpoint, Peer};
use crate::core::{Input, ServerId};
use crate::message::{response, response_bytes};
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

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

/// Which transaction of which shard a handle speaks for.
pub(crate) struct Handle {
    pub shard: usize,
    pub id: ServerId,
    /// A final response went out (or the handle was disarmed): nothing to do on drop.
    pub answered: AtomicBool,
    /// INVITE only.
    pub cancel: Option<Arc<CancelSignal>>,
}

/// A request we received, waiting for the TU's responses.
pub struct ServerTransaction {
    /// The request as received (top Via stamped with `received`/`rport`).
    pub request: rsip::Request,
    /// Where it came from (responses go back there).
    pub peer: Peer,
    endpoint: Endpoint,
    handle: Option<Handle>,
}

impl ServerTransaction {
    pub(crate) fn new(
        request: rsip::Request,
        peer: Peer,
        endpoint: Endpoint,
        handle: Option<Handle>,
    ) -> Self {
        if handle.is_some() {
            endpoint.shared().backlog.fetch_add(1, Ordering::Relaxed);
        }
        ServerTransaction {
            request,
            peer,
            endpoint,
            handle,
        }
    }

    /// Send a response (1xx any number of times, then one final). Retransmission is the layer's
    /// job. A second final response is refused with an error. `Ok` means it went to the transport
    /// (before this returns: what the TU sends next cannot overtake it).
    pub async fn respond(&self, resp: rsip::Response) -> std::io::Result<()> {
        let Some(h) = self.claim(&resp)? else {
            return Ok(());
        };
        let code = resp.status_code.code();
        let bytes = Bytes::from(response_bytes(&resp));
        self.feed(
            h.shard,
            Input::Respond {
                id: h.id,
                code,
                bytes,
            },
        )
    }

    fn feed(&self, shard: usize, input: Input<'_>) -> std::io::Result<()> {
        if self.endpoint.input(shard, |_| {}, input) {
            Ok(())
        } else {
            Err(closed())
        }
    }

    /// Send a final response without keeping transaction state (RFC 3261 §8.2.7): nothing is
    /// retransmitted or absorbed, and a retransmission of the request reaches the TU again as a
    /// new request. Meant for cheap idempotent answers such as a 401 challenge.
    pub async fn respond_stateless(&self, resp: rsip::Response) -> std::io::Result<()> {
        let Some(h) = self.claim(&resp)? else {
            return Ok(());
        };
        let bytes = Bytes::from(response_bytes(&resp));
        self.feed(h.shard, Input::RespondStateless { id: h.id, bytes })
    }

    /// The handle, if a response may still be sent (None for a detached ACK).
    fn claim(&self, resp: &rsip::Response) -> std::io::Result<Option<&Handle>> {
        let Some(h) = &self.handle else {
            return Ok(None);
        };
        let refused = if resp.status_code.code() >= 200 {
            h.answered.swap(true, Ordering::SeqCst)
        } else {
            h.answered.load(Ordering::SeqCst)
        };
        if refused {
            return Err(std::io::Error::other("final response already sent"));
        }
        Ok(Some(h))
    }

    /// Resolves when a matching CANCEL arrived (the endpoint has already answered the CANCEL 200;
    /// the TU should answer the INVITE 487). Never resolves for non-INVITE.
    pub async fn cancelled(&self) {
        match self.handle.as_ref().and_then(|h| h.cancel.as_ref()) {
            Some(cancel) => cancel.wait().await,
            None => std::future::pending().await,
        }
    }

    /// The endpoint this transaction belongs to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The shard answers this request itself (503): dropping the handle must not send a 500.
    pub(crate) fn disarm(&self) {
        if let Some(h) = &self.handle {
            h.answered.store(true, Ordering::SeqCst);
        }
    }
}

impl Drop for ServerTransaction {
    /// Dropped without a final response: 500, so the client is not left retransmitting.
    fn drop(&mut self) {
        let Some(h) = &self.handle else { return };
        self.endpoint
            .shared()
            .backlog
            .fetch_sub(1, Ordering::Relaxed);
        if h.answered.load(Ordering::SeqCst) {
            return;
        }
        let resp = response(&self.request, 500, "Server Internal Error", None);
        let bytes = Bytes::from(response_bytes(&resp));
        let input = Input::Respond {
            id: h.id,
            code: 500,
            bytes,
        };
        self.endpoint.input(h.shard, |_| {}, input);
    }
}
