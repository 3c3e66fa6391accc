//! Requests inside a dialog (To has a tag): subscription refreshes go to their subscription;
//! BYE, re-INVITE, ACK, INFO, REFER… go to the room that owns the dialog; a BYE for an INVITE a
//! room sent and still waits an answer for goes to that room; unknown dialogs get 481 (ACKs are
//! dropped).

use std::sync::Arc;

use agentphone_sip::endpoint::ServerTransaction;

use crate::context::Ctx;
use crate::dialog_table::Route;
use crate::sip_reply;

/// Forward to the room, or answer 481.
pub async fn handle(ctx: &Arc<Ctx>, tx: ServerTransaction, call_id: &str) {
    let is_ack = tx.request.method == rsip::Method::Ack;
    if let Some(owner) = ctx.dialogs.subscription(call_id) {
        return super::subscribe::in_dialog(ctx, tx, call_id, owner).await;
    }
    match ctx.dialogs.route(call_id) {
        Some(Route::Leg(room, leg)) => {
            if let Err(tx) = room.send_in_dialog(leg, tx) {
                if !is_ack {
                    sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
                }
            }
        }
        // The BYE of a party who answered an INVITE of ours and hung up at once, arrived before
        // their 2xx (RFC 5407 race): its room holds it until the 2xx.
        Some(Route::Offer(room, offer)) if tx.request.method == rsip::Method::Bye => {
            if let Err(tx) = room.send_early_bye(offer, tx) {
                sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await;
            }
        }
        _ if is_ack => {}
        _ => sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await,
    }
}
