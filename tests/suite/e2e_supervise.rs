//! A supervisor (SPEC V1–V3), end to end with headless softphones each sending its own tone:
//! sue watches the floor (`floor on`), sees alice's call, joins it (`supervise whisper ROOM`) and
//! switches (`supervise barge`, `supervise listen`); each phase's recordings prove who heard
//! whom. bob, an agent without the role, is refused with the reason.

use agentphone_testkit::prelude::*;
use std::time::Duration;

const PHASE: Duration = Duration::from_millis(2500);
const SUE_HZ: f32 = 3350.0;
const TONES: [f32; 3] = [CUSTOMER_HZ, ALICE_HZ, SUE_HZ];

use agentphone_testkit::server::SUPERVISOR_SUE as SUE;

/// sue, logged in and watching the floor: the room id of the first connected call.
fn sue_sees_a_call(server: &TestServer, dir: &std::path::Path) -> (Client, String) {
    let mut sue = Client::spawn(
        server.addr(),
        dir,
        ClientOptions::agent("sue", "sue-secret", SUE_HZ),
    );
    sue.register();
    sue.cmd("floor on");
    let floor = sue.wait_for(
        "a connected call on the floor",
        Duration::from_secs(10),
        |v| {
            v["event"] == "floor"
                && v["floor"]["calls"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|c| c["phase"] == "connected"))
        },
    );
    let room = floor["floor"]["calls"][0]["room"]
        .as_str()
        .unwrap_or_else(|| panic!("no room in {floor}"))
        .to_string();
    (sue, room)
}

/// Record one phase; what each of customer, alice, sue heard.
fn phase(c: &mut Client, a: &mut Client, s: &mut Client, tag: &str) -> [Heard; 3] {
    let [pc, pa, ps] = paths(record_phase(&mut [c, a, s], tag, PHASE));
    [
        Heard::analyse(&pc, &TONES),
        Heard::analyse(&pa, &TONES),
        Heard::analyse(&ps, &TONES),
    ]
}

#[test]
fn whisper_barge_and_listen_are_heard_as_they_should() {
    let dir = scratch_dir("e2e_supervise");
    let server = TestServer::blocking(&format!("{}{SUE}", standard_config(&dir, "")));
    let (mut customer, mut alice) = customer_with_alice(&server, &dir);
    let (mut sue, room) = sue_sees_a_call(&server, &dir);

    sue.cmd(&format!("supervise whisper {room}"));
    sue.wait_state("connected");
    alice.wait("room", &[], Duration::from_secs(10));
    let [c, a, s] = phase(&mut customer, &mut alice, &mut sue, "whisper");
    a.assert_hears(SUE_HZ, "sue's whisper, by alice");
    c.assert_not_hears(SUE_HZ, "sue's whisper, by the customer");
    c.assert_hears(ALICE_HZ, "alice, by the customer, during the whisper");
    s.assert_hears(CUSTOMER_HZ, "the customer, by sue");
    s.assert_hears(ALICE_HZ, "alice, by sue");

    let mark = alice.mark();
    sue.cmd("supervise barge");
    alice.wait_timeline_since(mark, "supervisor");
    let [c, a, s] = phase(&mut customer, &mut alice, &mut sue, "barge");
    a.assert_hears(SUE_HZ, "sue barging, by alice");
    c.assert_hears(SUE_HZ, "sue barging, by the customer");
    s.assert_hears(CUSTOMER_HZ, "the customer, by sue barging");

    let mark = alice.mark();
    sue.cmd("supervise listen");
    alice.wait_timeline_since(mark, "supervisor");
    let [c, a, s] = phase(&mut customer, &mut alice, &mut sue, "listen");
    a.assert_not_hears(SUE_HZ, "sue listening, by alice");
    c.assert_not_hears(SUE_HZ, "sue listening, by the customer");
    s.assert_hears(CUSTOMER_HZ, "the customer, by sue listening");
    s.assert_hears(ALICE_HZ, "alice, by sue listening");
}

#[test]
fn an_agent_without_the_role_is_refused_with_the_reason() {
    let dir = scratch_dir("e2e_supervise_refused");
    let server = TestServer::blocking(&format!("{}{SUE}", standard_config(&dir, "")));
    let (_customer, mut alice) = customer_with_alice(&server, &dir);
    let room = alice.wait("room", &[], Duration::from_secs(10))["room"]["room"]
        .as_str()
        .unwrap_or_else(|| panic!("no room id"))
        .to_string();
    let mut bob = agent(&server, &dir, "bob");
    bob.cmd(&format!("supervise listen {room}"));
    let ended = bob.wait_state("ended");
    let reason = ended["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("Only supervisors"), "{ended}");
}
