//! Client transactions: the TU's handle and their registration with the endpoint. The state
//! machine itself is in `client_task`.

use super::client_task::ClientTask;
use crate::endpoint::inner::{lock, ClientKey, Inner};
use crate::endpoint::{Peer, TxError};
use std::sync::Arc;
use tokio::sync::mpsc;

/// The endpoint's handle to a running client transaction.
pub(crate) struct ClientEntry {
    /// Where matching responses go.
    pub responses: mpsc::UnboundedSender<rsip::Response>,
    /// Told when a CANCEL for this INVITE was sent: the final must come within 64·T1 (§9.1).
    pub cancel_sent: mpsc::UnboundedSender<()>,
}

/// A request we sent and the responses that come back for it.
pub struct ClientTransaction {
    request: rsip::Request,
    peer: Peer,
    results: mpsc::UnboundedReceiver<Result<rsip::Response, TxError>>,
    finished: bool,
}

impl ClientTransaction {
    /// The request as sent (with the endpoint's Via).
    pub fn request(&self) -> &rsip::Request {
        &self.request
    }

    /// Where the request went.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// Next response (1xx… then the final one); Err(Timeout) on Timer B/F; None after the final.
    pub async fn next(&mut self) -> Option<Result<rsip::Response, TxError>> {
        if self.finished {
            return None;
        }
        let item = self.results.recv().await;
        match &item {
            Some(Ok(resp)) if resp.status_code.code() < 200 => {}
            _ => self.finished = true,
        }
        item
    }

    /// Skip provisionals; the final response.
    pub async fn final_response(mut self) -> Result<rsip::Response, TxError> {
        loop {
            match self.next().await {
                Some(Ok(resp)) if resp.status_code.code() < 200 => continue,
                Some(result) => return result,
                None => return Err(TxError::Transport("transaction ended".into())),
            }
        }
    }
}

/// Register and run a client transaction for `req` (which already carries its top Via).
pub(crate) fn start(
    inner: &Arc<Inner>,
    req: rsip::Request,
    peer: Peer,
    key: ClientKey,
) -> ClientTransaction {
    let (resp_tx, resp_rx) = mpsc::unbounded_channel();
    let (result_tx, result_rx) = mpsc::unbounded_channel();
    let (cancel_tx, cancel_rx) = mpsc::unbounded_channel();
    lock(&inner.clients).insert(
        key.clone(),
        ClientEntry {
            responses: resp_tx,
            cancel_sent: cancel_tx,
        },
    );
    let task = ClientTask {
        inner: inner.clone(),
        request: req.clone(),
        peer,
        key,
        responses: resp_rx,
        cancel_sent: cancel_rx,
        results: result_tx,
    };
    inner.track(tokio::spawn(task.run()));
    ClientTransaction {
        request: req,
        peer,
        results: result_rx,
        finished: false,
    }
}
