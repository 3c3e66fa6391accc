//! The stateless fast path: a transaction user may answer some requests right where they are
//! read (the receive worker), from a [`LiteRequest`], without a full parse, a transaction, the TU
//! queue or a task hop — what a registrar does for REGISTER and its 401 challenge (RFC 3261
//! §8.2.7 allows stateless answers; a retransmission is simply answered again).

use super::Peer;
use crate::message::lite::{request_method, LiteRequest};

/// Answers requests statelessly where it can. Set with `Endpoint::set_fast_path`.
pub trait FastPath: Send + Sync + 'static {
    /// Whether requests with this method may be answered here (checked before reading them).
    fn wants(&self, method: &str) -> bool;

    /// The whole response to send for `request` from `peer`, or None: the request takes the
    /// normal path (full parse, server transaction, TU queue). Must not have side effects when it
    /// returns None that the normal path would repeat.
    fn answer(&self, request: &LiteRequest<'_>, peer: Peer) -> Option<Vec<u8>>;
}

/// The fast path's answer to `bytes`, with the Call-ID that picks the shard to send from.
pub(crate) fn try_answer<'a>(
    fast: &dyn FastPath,
    bytes: &'a [u8],
    peer: Peer,
) -> Option<(&'a str, Vec<u8>)> {
    if !fast.wants(request_method(bytes)?) {
        return None;
    }
    let request = LiteRequest::parse(bytes)?;
    let answer = fast.answer(&request, peer)?;
    Some((request.call_id, answer))
}
