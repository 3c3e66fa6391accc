//! The TU's handle on a request it sent: the responses as they come.

use super::{Peer, TxError};
use tokio::sync::mpsc;

/// A request we sent and the responses that come back for it.
pub struct ClientTransaction {
    request: rsip::Request,
    peer: Peer,
    results: mpsc::Receiver<Result<rsip::Response, TxError>>,
    finished: bool,
}

impl ClientTransaction {
    pub(crate) fn new(
        request: rsip::Request,
        peer: Peer,
        results: mpsc::Receiver<Result<rsip::Response, TxError>>,
    ) -> Self {
        ClientTransaction {
            request,
            peer,
            results,
            finished: false,
        }
    }

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
