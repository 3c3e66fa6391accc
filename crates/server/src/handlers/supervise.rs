//! An INVITE to a room's URI (`sip:room-ID@HOST`): a supervisor joins a call to listen, whisper
//! or barge (SPEC V2, V3; docs/protocol.md "Supervisor"). Only an authenticated account with the
//! supervisor role may (403 with the reason otherwise); the room decides the rest.

use std::sync::Arc;

use agentphone_protocol::supervisor::SUPERVISE_HEADER;
use agentphone_protocol::{RoomId, SuperviseMode};
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message::fields;

use crate::context::Ctx;
use crate::sip_reply;

/// Handle an out-of-dialog INVITE to room `room`.
pub async fn handle(ctx: &Arc<Ctx>, tx: ServerTransaction, room: RoomId) {
    let Some(user) = super::require_agent(ctx, &tx).await else {
        return;
    };
    if !ctx.config.is_supervisor(&user) {
        let why = "Only supervisors may listen to calls";
        sip_reply::refuse(&tx, 403, "Forbidden", why).await;
        return;
    }
    let mode = match fields::header_value(&tx.request, SUPERVISE_HEADER) {
        None => SuperviseMode::Listen,
        Some(word) => match SuperviseMode::parse(&word) {
            Some(mode) => mode,
            None => {
                let why = "Supervise must be listen, whisper or barge";
                sip_reply::refuse(&tx, 400, "Bad Request", why).await;
                return;
            }
        },
    };
    if let Err((code, reason)) = super::sdp_offer::read_offer(&tx.request) {
        return super::sdp_offer::refuse(&tx, code, &reason).await;
    }
    let Some(handle) = ctx.dialogs.room(room) else {
        sip_reply::refuse(&tx, 404, "Not Found", "No such call").await;
        return;
    };
    tracing::info!(%user, %room, mode = mode.as_str(), "supervisor joins");
    if let Err(tx) = handle.send_supervise(user, mode, tx) {
        sip_reply::refuse(&tx, 404, "Not Found", "The call has ended").await;
    }
}
