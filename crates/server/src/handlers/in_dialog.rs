//! Requests inside a dialog (To has a tag): subscription refreshes go to their subscription;
//! BYE, re-INVITE, ACK, INFO, REFER… go to the room that owns the dialog; unknown dialogs get 481
//! (ACKs are dropped).

use std::sync::Arc;

use agentphone_sip::endpoint::ServerTransaction;

use crate::context::Ctx;
use crate::sip_reply;

/// Forward to the room, or answer 481.
pub async fn handle(ctx: &Arc<Ctx>, tx: ServerTransaction, call_id: &str) {
    let is_ack = tx.request.method == rsip::Method::Ack;
    if let Some(owner) = ctx.dialogs.subscription(call_id) {
        return super::subscribe::in_dialog(ctx, tx, call_id, owner).await;
    }
    match ctx.dialogs.lookup(call_id) {
        Some((room, leg)) => {
            if let Err(tx) = room.send_in_dialog(leg, tx) {
                if !is_ack {
                    sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
                }
            }
        }
        None if is_ack => {}
        None => sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await,
    }
}
