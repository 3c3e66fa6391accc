//! A once-a-second line about the server's load (target `agentphone_server::load`, level info):
//! live rooms, dialogs and subscriptions, customer calls held by admission, calls waiting for
//! their early answer and the oldest's wait, calls queued for an agent, calls shed so far, the router's queue and RSS. It
//! is what tells an overload apart from a backlog that keeps growing (issue 7); quiet while the
//! server is idle.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::context::Ctx;

/// Log the load every second until the server stops.
pub fn spawn(ctx: Arc<Ctx>) {
    if !tracing::enabled!(target: "agentphone_server::load", tracing::Level::INFO) {
        return;
    }
    let weak = Arc::downgrade(&ctx);
    drop(ctx);
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_shed = 0;
        loop {
            every.tick().await;
            let Some(ctx) = weak.upgrade() else { return };
            let (rooms, dialogs, subscriptions) = ctx.dialogs.sizes();
            let (in_setup, oldest, queued, shed) = ctx.setup_gate.snapshot();
            let queue = ctx.router_queue.load(Ordering::Relaxed);
            if rooms == 0 && in_setup == 0 && queued == 0 && queue == 0 && shed == last_shed {
                continue;
            }
            tracing::info!(
                target: "agentphone_server::load",
                rooms,
                dialogs,
                subscriptions,
                customer_calls = ctx.admission.total(),
                in_setup,
                oldest_setup_ms = oldest.as_millis() as u64,
                queued,
                shed,
                shed_last_s = shed - last_shed,
                router_queue = queue,
                rss_mb = rss_mb(),
                "load"
            );
            last_shed = shed;
        }
    });
}

/// Resident memory of this process in MB (0 where /proc is not there).
fn rss_mb() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * u64::try_from(page).unwrap_or(4096) / (1024 * 1024)
}
