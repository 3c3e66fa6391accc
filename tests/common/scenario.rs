//! Building blocks for the call scenarios: agents that are logged in and voice-active, and a
//! customer already talking to alice through the support team.

use super::client::ClientOptions;
use super::{Client, TestServer, ALICE_HZ, BOB_HZ, CAROL_HZ, CUSTOMER_HZ, DAVE_HZ};
use std::path::Path;
use std::time::Duration;

/// Every tone in play, for analysis.
pub const ALL_TONES: [f32; 5] = [CUSTOMER_HZ, ALICE_HZ, BOB_HZ, CAROL_HZ, DAVE_HZ];

/// An agent of the standard config, registered and voice-active, sending its own tone.
pub fn agent(server: &TestServer, dir: &Path, user: &str) -> Client {
    let (pw, hz) = match user {
        "alice" => ("alice-secret", ALICE_HZ),
        "bob" => ("bob-secret", BOB_HZ),
        "carol" => ("carol-secret", CAROL_HZ),
        "dave" => ("dave-secret", DAVE_HZ),
        other => panic!("{other} is not in the standard config"),
    };
    let mut c = Client::spawn(server.addr, dir, ClientOptions::agent(user, pw, hz));
    c.register();
    c.voice_on();
    c
}

/// The customer, calling `team`'s inbound address.
pub fn customer_calls(server: &TestServer, dir: &Path, team: &str) -> Client {
    let mut c = Client::spawn(
        server.addr,
        dir,
        ClientOptions::customer("customer", CUSTOMER_HZ),
    );
    c.cmd(&format!("dial {}", server.uri(team)));
    c
}

/// alice (the only support agent logged in) answers a customer's call to support.
pub fn customer_with_alice(server: &TestServer, dir: &Path) -> (Client, Client) {
    let mut alice = agent(server, dir, "alice");
    let mut customer = customer_calls(server, dir, "support");
    alice.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    alice.cmd("answer");
    alice.wait_state("connected");
    customer.wait_state("connected");
    // The room subscription is up once the first room state arrives.
    alice.wait("room", &[], Duration::from_secs(10));
    (customer, alice)
}

/// Take the paths of a phase recording as a fixed-size array.
pub fn paths<const N: usize>(v: Vec<std::path::PathBuf>) -> [std::path::PathBuf; N] {
    v.try_into()
        .unwrap_or_else(|v: Vec<_>| panic!("{} recordings", v.len()))
}
