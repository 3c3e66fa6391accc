//! An agent's call history (issue 10): a SUBSCRIBE fetch of `agentphone-history` at
//! `sip:history@HOST` answers 200 then one terminating NOTIFY with the agent's calls; a MESSAGE
//! to the same address sets a disposition on one of them (docs/protocol.md "Call history").
//! Both read the records on the writer thread, after every record queued before them.

use std::sync::Arc;

use agentphone_protocol::history::{
    self, DispositionRequest, HistoryState, CONTENT_TYPE, DISPOSITION_CONTENT_TYPE,
};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::ServerTransaction;
use agentphone_sip::message;
use agentphone_sip::message::fields;
use tokio::sync::oneshot;

use crate::context::Ctx;
use crate::notify;
use crate::records::Read;
use crate::sip_reply;

/// A SUBSCRIBE for the history by `user` (already authenticated): a fetch.
pub async fn fetch(ctx: &Arc<Ctx>, tx: ServerTransaction, user: String) {
    if tx.request.uri.user() != Some(history::USER) {
        sip_reply::refuse(&tx, 404, "Not Found", "The history is at sip:history@HOST").await;
        return;
    }
    let (reply, calls) = oneshot::channel();
    let asked = ctx.records.read(Read::History {
        agent: user.clone(),
        reply,
    });
    let calls = match (asked, calls.await) {
        (true, Ok(Some(calls))) => calls,
        _ => {
            sip_reply::reply(&tx, 503, "Service Unavailable (call records)").await;
            return;
        }
    };
    let tag = message::new_tag();
    let Some(mut dialog) = Dialog::from_uas(&tx.request, &tag, &ctx.local_contact, tx.peer) else {
        sip_reply::reply(&tx, 400, "Bad Request (cannot form a dialog)").await;
        return;
    };
    // Only fetches: whatever was asked for, the subscription ends with the one NOTIFY.
    let mut ok = message::response(&tx.request, 200, "OK", Some(&tag));
    sip_reply::add_header(&mut ok, "Contact", format!("<{}>", ctx.local_contact));
    sip_reply::add_header(&mut ok, "Expires", "0");
    sip_reply::send(&tx, ok).await;
    let mut state = HistoryState::new(&user, ctx.config.disposition_codes.clone());
    state.calls = calls;
    let body = serde_json::to_vec(&state).unwrap_or_default();
    let req = notify::request(
        &mut dialog,
        history::EVENT,
        "terminated;reason=timeout",
        CONTENT_TYPE,
        body,
    );
    let notify_tx = ctx.endpoint.request(req, dialog.peer);
    tokio::spawn(async move {
        if let Err(e) = notify_tx.final_response().await {
            tracing::debug!(error = %e, %user, "history NOTIFY not answered");
        }
    });
}

/// A MESSAGE: an agent sets a disposition on one of their calls.
pub async fn message(ctx: &Arc<Ctx>, tx: ServerTransaction) {
    let Some(user) = super::require_agent(ctx, &tx).await else {
        return;
    };
    if tx.request.uri.user() != Some(history::USER) {
        sip_reply::refuse(&tx, 404, "Not Found", "Messages go to sip:history@HOST").await;
        return;
    }
    let ctype = fields::header_value(&tx.request, "Content-Type").unwrap_or_default();
    if !ctype
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .eq_ignore_ascii_case(DISPOSITION_CONTENT_TYPE)
    {
        let mut resp = sip_reply::build(&tx, 415, "Unsupported Media Type");
        sip_reply::add_header(&mut resp, "Accept", DISPOSITION_CONTENT_TYPE);
        sip_reply::send(&tx, resp).await;
        return;
    }
    let req = match DispositionRequest::parse(&tx.request.body) {
        Ok(req) => req,
        Err(why) => {
            sip_reply::refuse(&tx, 400, "Bad Request", &why.to_string()).await;
            return;
        }
    };
    let codes = &ctx.config.disposition_codes;
    if !codes.contains(&req.code) {
        let why = format!(
            "\"{}\" is not a disposition code here: {}",
            req.code,
            codes.join(", ")
        );
        sip_reply::refuse(&tx, 488, "Not Acceptable Here", &why).await;
        return;
    }
    let (reply, stored) = oneshot::channel();
    let asked = ctx.records.read(Read::Dispose {
        agent: user.clone(),
        req: req.clone(),
        reply,
    });
    match (asked, stored.await) {
        (true, Ok(Some(true))) => {
            tracing::info!(%user, code = %req.code, "disposition");
            sip_reply::reply(&tx, 200, "OK").await;
        }
        (true, Ok(Some(false))) => {
            sip_reply::refuse(&tx, 404, "Not Found", "No such call of yours").await;
        }
        _ => sip_reply::reply(&tx, 503, "Service Unavailable (call records)").await,
    }
}
