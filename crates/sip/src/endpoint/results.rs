//! Where a client transaction's responses go.

use super::TxError;
use tokio::sync::mpsc;

/// Where a client transaction's responses go (bounded; a final response always fits).
pub(crate) type ResultSender = mpsc::Sender<Result<rsip::Response, TxError>>;

/// Room in a client transaction's result queue.
pub(crate) const RESULTS_QUEUE: usize = 8;
