//! Dispatch of incoming server transactions: in-dialog requests to their room, the rest by method.

use std::sync::Arc;

use agentphone_sip::endpoint::ServerTransaction;
use tokio::sync::{mpsc, watch};

use crate::context::Ctx;
use crate::handlers;
use crate::request_headers;
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
                    ctx.router_queue.store(incoming.len(), std::sync::atomic::Ordering::Relaxed);
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
    let Some(call_id) = request_headers::call_id(&tx.request) else {
        // The endpoint only hands over requests that parsed; a missing Call-ID is still possible.
        crate::warn_limited!(ctx.bad_input_log, peer = %tx.peer.addr, "request without Call-ID");
        sip_reply::reply(&tx, 400, "Bad Request (missing Call-ID)").await;
        return;
    };
    let method = tx.request.method;
    let refusable = !matches!(method, rsip::Method::Ack | rsip::Method::Cancel);
    if refusable && handlers::unsupported::bad_extension(&tx).await {
        return;
    }
    if request_headers::has_to_tag(&tx.request) && method != rsip::Method::Cancel {
        let call_id = call_id.to_string();
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
        rsip::Method::Message => handlers::history::message(ctx, tx).await,
        _ => handlers::unsupported::not_allowed(tx).await,
    }
}
