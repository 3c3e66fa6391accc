//! Tagged client transactions: for a TU that sends many non-INVITE requests and only needs to
//! know how each ended (the directory's NOTIFYs). The caller writes the request's bytes itself
//! (no `rsip::Request` is built) and gets the final outcome as `(tag, outcome)` on one bounded
//! queue it owns — no channel, no task and no wake-up per transaction beyond that queue's.
//! The transaction itself is the same as any other (Timer E retransmissions over UDP, Timer F,
//! Timer K absorbing retransmitted finals).

use super::results::{Outcome, Sink};
use super::{Endpoint, Peer, TxError};
use crate::core::via::own_via_value;
use crate::core::{shard_branch, ClientId, Input};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

/// Why a tagged request was not sent.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaggedRefused {
    /// The outcome queue has no room (or is closed): its place is reserved before sending.
    #[error("outcome queue full")]
    QueueFull,
    /// INVITE, ACK and CANCEL need the request itself ([`Endpoint::request`]).
    #[error("not a plain non-INVITE request")]
    Method,
}

impl Endpoint {
    /// Start a non-INVITE client transaction whose bytes `write` produces from the top Via's
    /// value (our sent-by, a new branch, rport): the request line, then `Via: <value>`, the
    /// other headers with a correct Content-Length, the body. Only its final outcome is reported
    /// (provisional responses are not), pushed with `tag` onto `outcomes`, where a place is
    /// reserved now — so the outcome always fits, and a full queue refuses the request instead
    /// (nothing sent). `call_id` picks the shard, as for [`Endpoint::request`]. After shutdown
    /// the outcome is a transport error, at once.
    pub fn request_tagged(
        &self,
        call_id: &str,
        method: rsip::Method,
        peer: Peer,
        write: impl FnOnce(&str) -> Vec<u8>,
        tag: u64,
        outcomes: &mpsc::Sender<Outcome>,
    ) -> Result<(), TaggedRefused> {
        use rsip::Method::{Ack, Cancel, Invite};
        if matches!(method, Invite | Ack | Cancel) {
            return Err(TaggedRefused::Method);
        }
        let permit = outcomes
            .clone()
            .try_reserve_owned()
            .map_err(|_| TaggedRefused::QueueFull)?;
        let shard = self.shard_of(call_id);
        let branch = shard_branch(u16::try_from(shard).unwrap_or(0));
        let via = own_via_value(self.via_addr(peer.transport), peer.transport, &branch);
        let bytes = Bytes::from(write(&via));
        let id = ClientId(self.shared.next_client.fetch_add(1, Ordering::Relaxed));
        let input = Input::Request {
            id,
            branch,
            method,
            bytes,
            peer,
        };
        let mut sink = Some(Sink::Tagged { tag, permit });
        let insert = |state: &mut super::ShardState| {
            if let Some(sink) = sink.take() {
                state.sinks.insert(id, sink);
            }
        };
        if !self.input(shard, insert, input) {
            if let Some(sink) = sink {
                sink.finish(Err(TxError::Transport("endpoint shut down".into())));
            }
        }
        Ok(())
    }
}
