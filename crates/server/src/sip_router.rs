//! Dispatch of incoming server transactions: in-dialog requests to their room, the rest by method.

use std::sync::Arc;

use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use tokio::sync::{mpsc, watch};

use crate::context::Ctx;
use crate::handlers;
use crate::sip_reply;

/// Serve until `stop` turns true or the endpoint closes.
pub async fn run(
    ctx: Arc<Ctx>,
    mut incoming: mpsc::Receiver<ServerTransaction>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            tx = incoming.recv() => match tx {
                Some(tx) => {
                    let ctx = ctx.clone();
                    tokio::spawn(async move { dispatch(&ctx, tx).await });
                }
                None => break,
            },
            _ = stop.changed() => break,
        }
    }
    tracing::debug!("SIP router stopped");
}

/// Handle one request.
async fn dispatch(ctx: &Arc<Ctx>, tx: ServerTransaction) {
    let msg = sip_reply::as_message(&tx.request);
    let Some(call_id) = message::call_id(&msg) else {
        // The endpoint only hands over requests that parsed; a missing Call-ID is still possible.
        crate::warn_limited!(ctx.bad_input_log, peer = %tx.peer.addr, "request without Call-ID");
        sip_reply::reply(&tx, 400, "Bad Request (missing Call-ID)").await;
        return;
    };
    let method = tx.request.method;
    if message::to_tag(&msg).is_some() && method != rsip::Method::Cancel {
        return handlers::in_dialog::handle(ctx, tx, &call_id).await;
    }
    match method {
        rsip::Method::Register => handlers::register::handle(ctx, tx).await,
        rsip::Method::Publish => handlers::publish::handle(ctx, tx).await,
        rsip::Method::Invite => handlers::invite::handle(ctx, tx).await,
        rsip::Method::Options => handlers::options::handle(tx).await,
        rsip::Method::Ack => handlers::ack::handle(tx),
        rsip::Method::Cancel => handlers::cancel::handle(tx).await,
        rsip::Method::Bye => sip_reply::reply(&tx, 481, "Call/Transaction Does Not Exist").await,
        rsip::Method::Subscribe => handlers::subscribe::handle(ctx, tx).await,
        _ => handlers::unsupported::not_allowed(tx).await,
    }
}
