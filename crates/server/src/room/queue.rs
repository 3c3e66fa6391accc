//! Queueing (SPEC R1): a customer calling a team with nobody available waits with music on hold
//! (early media) until a member frees up — any change in the directory wakes the wait and the
//! room tries the team again — or until `queue_timeout`.

use tokio::sync::watch;

use super::actor::Room;
use super::call_setup::{Call, QueueWait};
use crate::media_engine::{LegMode, MediaCmd};
use crate::room_handle::RoomMsg;
use agentphone_sip::message;

use crate::sip_reply;

impl Room {
    /// Set what the caller hears while establishing (ringback, or music while queued).
    pub(super) fn caller_hears(&self, call: &Call<'_>, mode: LegMode) {
        self.media(MediaCmd::SetMode {
            room: self.handle.id(),
            leg: call.caller_leg,
            mode,
        });
    }

    /// Wait (caller hearing music) for a directory change, the deadline, or the caller leaving.
    pub(super) async fn wait_in_queue(
        &mut self,
        call: &Call<'_>,
        until: tokio::time::Instant,
        changes: &mut watch::Receiver<u64>,
    ) -> QueueWait {
        self.caller_hears(call, LegMode::Held);
        loop {
            tokio::select! {
                _ = call.invite.cancelled() => {
                    let resp = message::response(&call.invite.request, 487, "Request Terminated", Some(&call.caller_tag));
                    sip_reply::send(call.invite, resp).await;
                    return QueueWait::CallerLeft;
                }
                _ = tokio::time::sleep_until(until) => return QueueWait::TimedOut,
                changed = changes.changed() => {
                    if changed.is_err() {
                        return QueueWait::Shutdown;
                    }
                    return QueueWait::Changed;
                }
                msg = self.rx.recv() => match msg {
                    None | Some(RoomMsg::Shutdown) => return QueueWait::Shutdown,
                    Some(RoomMsg::Offer { offer, event }) => self.abandoned_offer(offer, event).await,
                    Some(RoomMsg::Subscribe { user, expires, tx }) => {
                        // Maybe the one answering right now: decided once the call is connected.
                        self.early_subs.push((user, expires, tx));
                    }
                    Some(RoomMsg::Resubscribe { tx, .. }) => {
                        sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
                    }
                    Some(RoomMsg::InDialog { leg, tx }) => {
                        if leg == call.caller_leg && tx.request.method == rsip::Method::Bye {
                            sip_reply::reply(&tx, 200, "OK").await;
                            let resp = message::response(&call.invite.request, 487, "Request Terminated", Some(&call.caller_tag));
                            sip_reply::send(call.invite, resp).await;
                            return QueueWait::CallerLeft;
                        }
                        if tx.request.method != rsip::Method::Ack {
                            sip_reply::reply(&tx, 491, "Request Pending").await;
                        }
                    }
                },
                _ = self.media_rx.recv() => {}
            }
        }
    }
}
