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
        let request = (call_id, method, peer);
        self.start_tagged(request, write, tag, outcomes, false)
            .map(drop)
    }

    /// Tagged requests started together ([`TaggedBurst::request_tagged`]): their UDP datagrams
    /// leave when the burst is dropped, one `sendmmsg` per shard for all of them (TCP/TLS ones
    /// are written at once, as by [`Endpoint::request_tagged`]).
    pub fn tagged_burst(&self) -> TaggedBurst<'_> {
        TaggedBurst {
            endpoint: self,
            touched: vec![false; self.shards()],
        }
    }

    /// Start a tagged request (its UDP datagram held for a burst when `hold`); the shard.
    fn start_tagged(
        &self,
        (call_id, method, peer): (&str, rsip::Method, Peer),
        write: impl FnOnce(&str) -> Vec<u8>,
        tag: u64,
        outcomes: &mpsc::Sender<Outcome>,
        hold: bool,
    ) -> Result<usize, TaggedRefused> {
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
            state.hold = hold;
        };
        if !self.input(shard, insert, input) {
            if let Some(sink) = sink {
                sink.finish(Err(TxError::Transport("endpoint shut down".into())));
            }
        }
        Ok(shard)
    }
}

/// Tagged requests whose UDP datagrams are sent together when it is dropped (see
/// [`Endpoint::tagged_burst`]). Each transaction is armed as it is started (Timer E/F run from
/// then); its first datagram leaves at the burst's end, microseconds later.
pub struct TaggedBurst<'a> {
    endpoint: &'a Endpoint,
    /// Shards holding datagrams of this burst.
    touched: Vec<bool>,
}

impl TaggedBurst<'_> {
    /// As [`Endpoint::request_tagged`] (`request`: its Call-ID, method and peer), the datagram
    /// held until the burst ends.
    pub fn request_tagged(
        &mut self,
        request: (&str, rsip::Method, Peer),
        write: impl FnOnce(&str) -> Vec<u8>,
        tag: u64,
        outcomes: &mpsc::Sender<Outcome>,
    ) -> Result<(), TaggedRefused> {
        let shard = self
            .endpoint
            .start_tagged(request, write, tag, outcomes, true)?;
        if let Some(touched) = self.touched.get_mut(shard) {
            *touched = true;
        }
        Ok(())
    }
}

impl Drop for TaggedBurst<'_> {
    fn drop(&mut self) {
        let shards = &self.endpoint.shared().shards;
        for (shard, _) in self.touched.iter().enumerate().filter(|(_, t)| **t) {
            if let Some(owner) = shards.get(shard) {
                let deferred = owner.flush_held(self.endpoint);
                self.endpoint.after(deferred);
            }
        }
    }
}
