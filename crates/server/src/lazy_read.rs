//! For the tasks that send tagged client transactions (the directory's NOTIFYs, the keepalive
//! probes) and read their outcomes only when they wake anyway: no wake-up per answer.

use std::time::Instant;

use agentphone_sip::endpoint::Outcome;
use tokio::sync::mpsc;

/// Resolves at `at`; never without one.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Fill `batch` (up to `max`) with the outcomes that have come, without waiting; false when
/// there are none (`batch` empty).
pub(crate) fn take_ready(
    batch: &mut Vec<Outcome>,
    outcomes: &mut mpsc::Receiver<Outcome>,
    max: usize,
) -> bool {
    while batch.len() < max {
        match outcomes.try_recv() {
            Ok(outcome) => batch.push(outcome),
            Err(_) => break,
        }
    }
    !batch.is_empty()
}
