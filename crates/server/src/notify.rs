//! NOTIFY requests inside a subscription (or REFER) dialog: event package, subscription state,
//! body. Used by the directory, the room state package and the REFER progress reports.

use agentphone_sip::dialog::Dialog;

/// Build the next NOTIFY of `dialog`: `Event`, `Subscription-State` (`active;expires=N` or
/// `terminated;reason=…`) and the body.
pub fn request(
    dialog: &mut Dialog,
    event: &str,
    subscription_state: &str,
    content_type: &str,
    body: Vec<u8>,
) -> rsip::Request {
    let mut req = dialog.request(rsip::Method::Notify, Some((content_type, body)));
    req.headers
        .push(rsip::Header::Other("Event".into(), event.into()));
    req.headers.push(rsip::Header::Other(
        "Subscription-State".into(),
        subscription_state.into(),
    ));
    req
}

/// `active;expires=N` for a subscription that lapses in `secs`.
pub fn active(secs: u64) -> String {
    format!("active;expires={secs}")
}
