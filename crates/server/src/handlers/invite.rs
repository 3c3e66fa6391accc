//! A new INVITE: decide who may call what (SPEC T11: without credentials only inbound addresses),
//! check the SDP offer, and start a room.

use std::sync::Arc;

use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::message::fields;

use crate::context::Ctx;
use crate::ids::RoomId;
use crate::room::{self, Destination, Role, RoomSetup};
use crate::routing::{self, Route};
use crate::sip_reply;

/// Handle an out-of-dialog INVITE.
pub async fn handle(ctx: &Arc<Ctx>, tx: ServerTransaction) {
    // A room's own URI: a supervisor joining that call.
    if let Some(room) = tx.request.uri.user().and_then(RoomId::from_uri_user) {
        return super::supervise::handle(ctx, tx, room).await;
    }
    let msg = &tx.request;
    let tls_port = ctx.endpoint.tls_local_addr().map(|a| a.port());
    let route = routing::classify(
        &ctx.config,
        ctx.endpoint.local_addr(),
        tls_port,
        &tx.request.uri,
    );
    // Past the server's set-up capacity a new call only fails later and slows the rest: shed it
    // (503 + Retry-After) before anything is spent on it (issue 7).
    let setup = match ctx.setup_gate.admit(matches!(route, Route::Inbound(_))) {
        Ok(pending) => pending,
        Err(why) => return super::refuse_overloaded(&tx, why).await,
    };
    // Customer calls are admitted under caps before anything is spent on them (issue 11 §4).
    let slot = match &route {
        Route::Inbound(_) => match ctx.admission.admit(tx.peer.addr.ip()) {
            Ok(slot) => Some(slot),
            Err(full) => return super::refuse_full(&tx, full).await,
        },
        _ => None,
    };
    let caller = match &route {
        Route::Inbound(_) => Role::Customer {
            // As on the wire (`[::1]`), not the parser's escaped form: agents and records see it.
            uri: fields::from_uri(msg)
                .map(|u| message::uri_text(&u))
                .unwrap_or_else(|| "sip:anonymous@invalid".into()),
            display: fields::from_display_name(msg),
        },
        _ => {
            let Some(user) = super::require_agent(ctx, &tx).await else {
                return;
            };
            let from_user = fields::from_uri(msg).and_then(|u| u.user().map(str::to_string));
            if from_user.as_deref() != Some(user.as_str()) {
                sip_reply::reply(&tx, 403, "Forbidden (From is not your address)").await;
                return;
            }
            Role::Agent(user)
        }
    };
    let offer = match super::sdp_offer::read_offer(&tx.request) {
        Ok(o) => o,
        Err((code, reason)) => return super::sdp_offer::refuse(&tx, code, &reason).await,
    };
    let destination = match route {
        Route::Inbound(team) | Route::Team(team) => Destination::Team(team),
        Route::Agent(agent) => Destination::Agent(agent),
        Route::UnknownLocal(user) => {
            sip_reply::reply(&tx, 404, &format!("Not Found ({user})")).await;
            return;
        }
        Route::External => match routing::external_peer(&tx.request.uri).await {
            Some(peer) => Destination::External {
                uri: tx.request.uri.clone(),
                peer,
            },
            None => {
                sip_reply::reply(&tx, 404, "Not Found (cannot resolve the host)").await;
                return;
            }
        },
    };
    tracing::info!(caller = %caller.label(), ?destination, "new call");
    room::spawn(
        ctx.clone(),
        RoomSetup {
            invite: tx,
            caller,
            offer,
            destination,
            setup: Some(setup),
        },
        slot,
    );
}
