//! Where a client transaction's responses go: its own channel ([`super::ClientTransaction`]), or
//! — for a tagged transaction ([`super::Endpoint::request_tagged`]) — only its final outcome, as
//! `(tag, outcome)` on a queue the caller owns and shares between many transactions.
//!
//! [`Sinks`] is the table the shard keeps (by client transaction); it does no I/O and no waiting,
//! so it is driven in virtual time by the tests beside the core (`outcome_tests`).

use super::TxError;
use crate::core::ClientId;
use std::collections::HashMap;
use tokio::sync::mpsc;

/// Where a client transaction's responses go (bounded; a final response always fits).
pub(crate) type ResultSender = mpsc::Sender<Result<rsip::Response, TxError>>;

/// Room in a client transaction's result queue.
pub(crate) const RESULTS_QUEUE: usize = 8;

/// How a tagged client transaction ended.
#[derive(Debug)]
pub struct Outcome {
    /// The tag given when it was started.
    pub tag: u64,
    /// Its final status code, or why none came (Timer F, transport).
    pub result: Result<u16, TxError>,
}

/// Where a client transaction's responses go.
pub(crate) enum Sink {
    /// Every response, then the end, on the transaction's own channel.
    Channel(ResultSender),
    /// The final outcome only, on a shared queue; its place there was reserved at start, so it
    /// always fits and no transaction's outcome waits for another's.
    Tagged {
        tag: u64,
        permit: mpsc::OwnedPermit<Outcome>,
    },
}

impl Sink {
    /// Hand over the transaction's end (`Ok`: its final status code).
    pub(crate) fn finish(self, final_response: Result<rsip::Response, TxError>) {
        match self {
            Sink::Channel(results) => {
                let _ = results.try_send(final_response);
            }
            Sink::Tagged { tag, permit } => {
                let result = final_response.map(|r| r.status_code.code());
                drop(permit.send(Outcome { tag, result }));
            }
        }
    }
}

/// The sinks of one shard's live client transactions.
#[derive(Default)]
pub(crate) struct Sinks {
    by_id: HashMap<ClientId, Sink>,
}

impl Sinks {
    pub(crate) fn insert(&mut self, id: ClientId, sink: Sink) {
        self.by_id.insert(id, sink);
    }

    /// A response in client transaction `id` (1xx…, then the final one).
    pub(crate) fn response(&mut self, id: ClientId, response: rsip::Response) {
        if response.status_code.code() >= 200 {
            if let Some(sink) = self.by_id.remove(&id) {
                sink.finish(Ok(response));
            }
            return;
        }
        // Provisional: only a channel hears it, and only while a place stays free for the final.
        if let Some(Sink::Channel(results)) = self.by_id.get(&id) {
            if results.capacity() > 1 {
                let _ = results.try_send(Ok(response));
            }
        }
    }

    /// Client transaction `id` ended without a final response.
    pub(crate) fn failed(&mut self, id: ClientId, error: TxError) {
        if let Some(sink) = self.by_id.remove(&id) {
            sink.finish(Err(error));
        }
    }

    /// Whether transaction `id` reports only its final status code (a tagged one).
    pub(crate) fn is_tagged(&self, id: ClientId) -> bool {
        matches!(self.by_id.get(&id), Some(Sink::Tagged { .. }))
    }

    /// Live transactions with a sink.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }
}
