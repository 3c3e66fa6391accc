//! Building blocks for the end-to-end call scenarios on the standard server
//! (`server::standard_config`): agents that are logged in and voice-active, a customer already
//! talking to alice through the support team, and phase recordings.

use crate::phone::{Client, ClientOptions};
use crate::server::TestServer;
use crate::tone::Heard;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Test tones, chosen away from the music-on-hold notes (≤ 784 Hz) and from each other's harmonics.
pub const CUSTOMER_HZ: f32 = 1150.0;
pub const ALICE_HZ: f32 = 1850.0;
pub const BOB_HZ: f32 = 2450.0;
pub const CAROL_HZ: f32 = 2150.0;
pub const DAVE_HZ: f32 = 2780.0;

/// Every tone in play, for analysis.
pub const ALL_TONES: [f32; 5] = [CUSTOMER_HZ, ALICE_HZ, BOB_HZ, CAROL_HZ, DAVE_HZ];

/// An agent of the standard config, registered and voice-active, sending its own tone.
pub fn agent(server: &TestServer, dir: &Path, user: &str) -> Client {
    let mut c = agent_voice_off(server, dir, user);
    c.voice_on();
    c
}

/// An agent of the standard config, registered with the voice channel off (offered no call),
/// sending its own tone.
pub fn agent_voice_off(server: &TestServer, dir: &Path, user: &str) -> Client {
    let (pw, hz) = match user {
        "alice" => ("alice-secret", ALICE_HZ),
        "bob" => ("bob-secret", BOB_HZ),
        "carol" => ("carol-secret", CAROL_HZ),
        "dave" => ("dave-secret", DAVE_HZ),
        other => panic!("{other} is not in the standard config"),
    };
    let mut c = Client::spawn(server.addr(), dir, ClientOptions::agent(user, pw, hz));
    c.register();
    c
}

/// The customer, calling `team`'s inbound address.
pub fn customer_calls(server: &TestServer, dir: &Path, team: &str) -> Client {
    let mut c = Client::spawn(
        server.addr(),
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
pub fn paths<const N: usize>(v: Vec<PathBuf>) -> [PathBuf; N] {
    v.try_into()
        .unwrap_or_else(|v: Vec<_>| panic!("{} recordings", v.len()))
}

/// Record one phase of a call: every client records what it hears into `NAME-PHASE.wav` for
/// `length`, then stops, so the next change of state is not in this phase's file.
pub fn record_phase(clients: &mut [&mut Client], phase: &str, length: Duration) -> Vec<PathBuf> {
    let paths: Vec<_> = clients.iter_mut().map(|c| c.record(phase)).collect();
    // The phase's length: the scenario, not a settle (callers wait for the phase first).
    std::thread::sleep(length);
    for c in clients.iter_mut() {
        c.cmd("record off");
    }
    paths
}

/// `a` and `b` (sending `a_hz` and `b_hz`) hear each other through a phase of `length`: each
/// first waits until it hears the other, then both record `phase`, and each recording must hold
/// the other's tone (`Heard::assert_hears`).
pub fn assert_hear_each_other(
    (a, a_hz): (&mut Client, f32),
    (b, b_hz): (&mut Client, f32),
    phase: &str,
    length: Duration,
) {
    a.wait_hearing(&[b_hz], &[]);
    b.wait_hearing(&[a_hz], &[]);
    let [heard_by_a, heard_by_b] = paths(record_phase(&mut [&mut *a, &mut *b], phase, length));
    Heard::analyse(&heard_by_a, &ALL_TONES)
        .assert_hears(b_hz, &format!("{}, by {} ({phase})", b.name, a.name));
    Heard::analyse(&heard_by_b, &ALL_TONES)
        .assert_hears(a_hz, &format!("{}, by {} ({phase})", a.name, b.name));
}

/// `from` asks for a transfer with `command` (`transfer agent bob …`, `transfer team sales …`)
/// and `to` is offered the call: its `incoming_call` event.
pub fn transfer_rings(from: &mut Client, to: &mut Client, command: &str) -> Value {
    from.cmd(command);
    to.wait("incoming_call", &[], Duration::from_secs(10))
}

/// As `transfer_rings`, and `to` answers: `from` consults with `to` (transfer `answered`).
pub fn transfer_answered(from: &mut Client, to: &mut Client, command: &str) -> Value {
    let incoming = transfer_rings(from, to, command);
    to.cmd("answer");
    from.wait_transfer("answered");
    incoming
}
