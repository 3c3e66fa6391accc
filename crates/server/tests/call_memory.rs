//! Ended calls give their memory back: after K short calls (customer → team, answered, hung up,
//! two agents watching the directory) and the end of their SIP transactions, the live heap of
//! the process is back within a small bound of what it was before them.
//!
//! Its own test binary: it counts every thread's allocations (`process_live_bytes`), which other
//! tests running beside it would disturb. The server, its peers and the test share the process,
//! so the figure covers the server's tables (dialogs, rooms, media rooms, directory, SIP
//! transactions) and its tasks. `--nocapture` prints the figures.
//!
//! Measured (debug build): what stays live per call is map capacity grown to the peak of
//! concurrent SIP transactions (non-INVITE ones linger 32 s, Timer J) and SQLite's page cache
//! (≤ 2 MB), not entries — every SIP core is empty once the transactions ended: 1.7 KB/call
//! with no watcher, 2–8 KB/call with 1–10 watchers over 20–100 calls, 6.8 KB/call here right
//! when the bound was met. The bound, 10 KB per call, is well under what a kept room costs:
//! with the media room not removed at the room's end, 40 KB/call (the test fails).

#[global_allocator]
static ALLOCATOR: agentphone_testkit::alloc::CountingAllocator =
    agentphone_testkit::alloc::CountingAllocator;

use std::time::Duration;

use agentphone_testkit::alloc::{assert_installed, process_live_bytes};
use agentphone_testkit::server::TestServer;
use agentphone_testkit::sip::call::{answer, dial, expect_bye, expect_invite};
use agentphone_testkit::sip::room::subscribe;
use agentphone_testkit::sip::{code, SipPeer};

/// Agents watching the directory (as every agent's phone does): each call's changes are
/// NOTIFYed to all of them.
const WATCHERS: usize = 2;
/// Calls before the first figure: first-use allocations (caches, thread locals, capacities).
const WARM_UP: usize = 40;
/// Calls measured.
const CALLS: usize = 60;
/// Live bytes a call may leave behind on average (see the module docs).
const BOUND_PER_CALL: isize = 10 * 1024;
/// Longer than the SIP transactions linger after a call (Timer J, 32 s).
const TEARDOWN: Duration = Duration::from_secs(40);

/// The watchers' accounts (not team members: they never get a call).
fn watcher_accounts() -> String {
    (0..WATCHERS)
        .map(|i| format!("[[agents]]\nusername = \"w{i}\"\npassword = \"w{i}-secret\"\n"))
        .collect()
}

/// A directory subscriber answering every NOTIFY 200, until the test ends.
async fn directory_watcher(server: &TestServer, user: &str) {
    let mut watcher = SipPeer::new(server.addr(), user, &format!("{user}-secret")).await;
    watcher.login().await;
    let directory = format!("sip:directory@{}", server.addr());
    let resp = subscribe(&mut watcher, &directory, "agentphone-directory", 3600).await;
    assert_eq!(code(&resp), 200, "{resp}");
    tokio::spawn(async move {
        while let Some(tx) = watcher.incoming.recv().await {
            let ok = agentphone_sip::message::response(&tx.request, 200, "OK", None);
            let _ = tx.respond(ok).await;
        }
    });
}

/// One short call: the customer calls the team, alice answers, the customer hangs up.
async fn one_call(server: &TestServer, alice: &mut SipPeer, customer: &SipPeer) {
    let dialing = dial(customer, &format!("sip:support@{}", server.addr()), 440.0);
    let offer = expect_invite(alice).await;
    let _alice_party = answer(alice, &offer, 1000.0).await;
    let (_, result) = dialing.finish(customer).await;
    let mut call = result.unwrap_or_else(|r| panic!("call failed: {r}"));
    assert_eq!(call.bye(customer, customer.server).await, 200);
    assert!(expect_bye(alice, 5).await, "alice must get BYE");
}

/// Live bytes, polled every 250 ms until `done(live)` or for `within` at most.
async fn live_bytes_when(within: Duration, done: impl Fn(isize) -> bool) -> isize {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let live = process_live_bytes();
        if done(live) || tokio::time::Instant::now() >= deadline {
            return live;
        }
        // The poll interval of this wait for the allocator's figure, not a settle.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ended_calls_give_their_memory_back() {
    assert_installed();
    let server = TestServer::start_with("", &watcher_accounts()).await;
    let mut alice = SipPeer::new(server.addr(), "alice", "alice-secret").await;
    alice.login().await;
    let customer = SipPeer::new(server.addr(), "customer", "").await;
    for i in 0..WATCHERS {
        directory_watcher(&server, &format!("w{i}")).await;
    }
    for _ in 0..WARM_UP {
        one_call(&server, &mut alice, &customer).await;
    }
    // The warm-up's transactions end first (their memory must not hide what the calls keep).
    let before = live_bytes_when(TEARDOWN, |_| false).await;
    for _ in 0..CALLS {
        one_call(&server, &mut alice, &customer).await;
    }
    let bound = BOUND_PER_CALL * CALLS as isize;
    let after = live_bytes_when(TEARDOWN, |live| live - before <= bound).await;
    let per_call = (after - before) / CALLS as isize;
    println!("{CALLS} calls: live {before} -> {after} bytes, {per_call} B/call kept");
    assert!(
        after - before <= bound,
        "{CALLS} ended calls kept {} bytes ({per_call} B/call, bound {BOUND_PER_CALL})",
        after - before
    );
}
