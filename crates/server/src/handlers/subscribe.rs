//! SUBSCRIBE: the directory (`agentphone-directory`, `sip:directory@HOST`) and a room's state
//! (`agentphone-room`, `sip:room-ID@HOST`). Agents only (401 otherwise, T11); a room checks that the
//! subscriber is one of its parties (403 otherwise). Refreshes arrive in the subscription's dialog.

use std::sync::Arc;
use std::time::Duration;

use agentphone_protocol::{directory, history, room as room_package, supervisor};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::message::fields;

use crate::context::Ctx;
use crate::dialog_table::SubOwner;
use crate::ids::RoomId;
use crate::room_handle::RoomMsg;
use crate::sip_reply;

/// The longest subscription we grant.
const MAX_EXPIRES: u64 = 3600;

/// The event packages we serve, for `Allow-Events`.
fn allow_events() -> String {
    format!(
        "{}, {}, {}, {}, presence",
        directory::EVENT,
        room_package::EVENT,
        history::EVENT,
        supervisor::EVENT
    )
}

/// An out-of-dialog SUBSCRIBE.
pub async fn handle(ctx: &Arc<Ctx>, tx: ServerTransaction) {
    let msg = &tx.request;
    let event = event_package(msg);
    let is_supervisor = event == supervisor::EVENT;
    let is_directory = event == directory::EVENT || is_supervisor;
    let is_history = event == history::EVENT;
    if !is_directory && !is_history && event != room_package::EVENT {
        return bad_event(tx).await;
    }
    let Some(user) = super::require_agent(ctx, &tx).await else {
        return;
    };
    if is_history {
        return super::history::fetch(ctx, tx, user).await;
    }
    if is_supervisor && !ctx.config.is_supervisor(&user) {
        let why = "Only supervisors may watch the floor";
        sip_reply::refuse(&tx, 403, "Forbidden", why).await;
        return;
    }
    let default = if is_directory { 600 } else { MAX_EXPIRES };
    let Some(expires) = read_expires(msg, default) else {
        sip_reply::reply(&tx, 400, "Bad Request (bad Expires header)").await;
        return;
    };
    if !is_directory {
        let room = tx
            .request
            .uri
            .user()
            .and_then(RoomId::from_uri_user)
            .and_then(|id| ctx.dialogs.room(id));
        let Some(room) = room else {
            sip_reply::refuse(&tx, 404, "Not Found", "No such call").await;
            return;
        };
        if let Err(tx) = room.send_subscribe(user, expires, tx) {
            sip_reply::refuse(&tx, 404, "Not Found", "The call has ended").await;
        }
        return;
    }
    let tag = message::new_tag();
    let Some(dialog) = Dialog::from_uas(&tx.request, &tag, &ctx.local_contact, tx.peer) else {
        sip_reply::reply(&tx, 400, "Bad Request (cannot form a dialog)").await;
        return;
    };
    let mut ok = message::response(&tx.request, 200, "OK", Some(&tag));
    sip_reply::add_header(&mut ok, "Contact", format!("<{}>", ctx.local_contact));
    sip_reply::add_header(&mut ok, "Expires", expires.as_secs().to_string());
    sip_reply::send(&tx, ok).await;
    if expires.is_zero() {
        return; // a fetch that asks for nothing more
    }
    tracing::info!(%user, supervisor = is_supervisor, "directory subscription");
    ctx.dialogs
        .bind_subscription(&dialog.call_id, SubOwner::Directory);
    if is_supervisor {
        ctx.directory.subscribe_supervisor(dialog, expires);
    } else {
        let own = own_scope(msg).then(|| user.to_string());
        ctx.directory.subscribe(dialog, expires, own);
    }
}

/// A request in a subscription dialog: SUBSCRIBE refreshes or ends it (`Expires: 0`).
pub async fn in_dialog(ctx: &Arc<Ctx>, tx: ServerTransaction, call_id: &str, owner: SubOwner) {
    match tx.request.method {
        rsip::Method::Ack => return,
        rsip::Method::Subscribe => {}
        _ => {
            let mut resp = sip_reply::build(&tx, 405, "Method Not Allowed");
            sip_reply::add_header(&mut resp, "Allow", "SUBSCRIBE");
            sip_reply::send(&tx, resp).await;
            return;
        }
    }
    let msg = &tx.request;
    let Some(expires) = read_expires(msg, 600) else {
        sip_reply::reply(&tx, 400, "Bad Request (bad Expires header)").await;
        return;
    };
    match owner {
        SubOwner::Directory => {
            let mut ok = sip_reply::build(&tx, 200, "OK");
            sip_reply::add_header(&mut ok, "Expires", expires.as_secs().to_string());
            sip_reply::send(&tx, ok).await;
            if expires.is_zero() {
                ctx.dialogs.unbind_subscription(call_id);
                ctx.directory.resubscribe(call_id, None);
            } else {
                ctx.directory.resubscribe(call_id, Some(expires));
            }
        }
        SubOwner::Room(id) => {
            let sent = ctx.dialogs.room(id).map(|room| {
                room.send(RoomMsg::Resubscribe {
                    call_id: call_id.to_string(),
                    expires,
                    tx,
                })
            });
            if sent != Some(true) {
                ctx.dialogs.unbind_subscription(call_id);
            }
        }
    }
}

/// 489 with the packages we do serve.
pub async fn bad_event(tx: ServerTransaction) {
    let mut resp = sip_reply::build(&tx, 489, "Bad Event");
    sip_reply::add_header(&mut resp, "Allow-Events", allow_events());
    sip_reply::send(&tx, resp).await;
}

/// The `Event` header's package (without parameters), lower case.
fn event_package(msg: &rsip::Request) -> String {
    fields::header_value(msg, "Event")
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `Event: agentphone-directory;scope=self`: only the subscriber's own entry.
fn own_scope(msg: &rsip::Request) -> bool {
    fields::header_value(msg, "Event")
        .unwrap_or_default()
        .split(';')
        .skip(1)
        .any(|p| p.trim().eq_ignore_ascii_case(directory::SCOPE_SELF))
}

/// `Expires` (absent → `default`), at most an hour; None when garbled.
fn read_expires(msg: &rsip::Request, default: u64) -> Option<Duration> {
    let secs = match fields::header_value(msg, "Expires") {
        None => default,
        Some(v) => v.trim().parse::<u64>().ok()?,
    };
    Some(Duration::from_secs(secs.min(MAX_EXPIRES)))
}
