//! The TU's handle on a request it received: `respond`, `respond_stateless`, `cancelled`.

use super::command::Command;
use super::{Endpoint, Peer};
use crate::core::ServerId;
use crate::message::{response, response_bytes};
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{oneshot, Notify};

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

fn closed() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotConnected, "endpoint shut down")
}

impl ServerTransaction {
    pub(crate) fn new(
        request: rsip::Request,
        peer: Peer,
        endpoint: Endpoint,
        handle: Option<Handle>,
    ) -> Self {
        ServerTransaction {
            request,
            peer,
            endpoint,
            handle,
        }
    }

    /// Send a response (1xx any number of times, then one final). Retransmission is the layer's
    /// job. A second final response is refused with an error. `Ok` means the endpoint took it.
    pub async fn respond(&self, resp: rsip::Response) -> std::io::Result<()> {
        let Some(h) = self.claim(&resp)? else {
            return Ok(());
        };
        let code = resp.status_code.code();
        let bytes = Bytes::from(response_bytes(&resp));
        let (done, sent) = oneshot::channel();
        let done = Some(done);
        let command = Command::Respond {
            id: h.id,
            code,
            bytes,
            done,
        };
        self.send(h.shard, command, sent).await
    }

    /// Queue a response for the shard and wait until it went to the transport.
    async fn send(
        &self,
        shard: usize,
        command: Command,
        sent: oneshot::Receiver<()>,
    ) -> std::io::Result<()> {
        self.endpoint
            .command(shard, command)
            .await
            .map_err(|_| closed())?;
        sent.await.map_err(|_| closed())
    }

    /// Send a final response without keeping transaction state (RFC 3261 §8.2.7): nothing is
    /// retransmitted or absorbed, and a retransmission of the request reaches the TU again as a
    /// new request. Meant for cheap idempotent answers such as a 401 challenge.
    pub async fn respond_stateless(&self, resp: rsip::Response) -> std::io::Result<()> {
        let Some(h) = self.claim(&resp)? else {
            return Ok(());
        };
        let bytes = Bytes::from(response_bytes(&resp));
        let (done, sent) = oneshot::channel();
        let done = Some(done);
        let command = Command::RespondStateless {
            id: h.id,
            bytes,
            done,
        };
        self.send(h.shard, command, sent).await
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
        if h.answered.load(Ordering::SeqCst) {
            return;
        }
        let resp = response(&self.request, 500, "Server Internal Error", None);
        let bytes = Bytes::from(response_bytes(&resp));
        let cmd = Command::Respond {
            id: h.id,
            code: 500,
            bytes,
            done: None,
        };
        self.endpoint.try_command(h.shard, cmd);
    }
}
