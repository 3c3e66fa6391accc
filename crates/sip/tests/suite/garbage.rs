//! Fuzz-like property tests: no input makes the parser panic, and broken input is an error.

use agentphone_sip::message::{bad_request_reply, parse, to_bytes};
use rand::{Rng, SeedableRng};

fn samples() -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("data dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "sip") {
            out.push(std::fs::read(&path).expect("read sample"));
        }
    }
    assert!(out.len() >= 5, "samples present");
    out
}

/// Both entry points for untrusted bytes; a panic fails the test.
fn exercise(bytes: &[u8]) -> bool {
    let _ = bad_request_reply(bytes, "fuzz");
    match parse(bytes) {
        Ok(msg) => {
            // Whatever parses must serialise and parse again.
            parse(&to_bytes(&msg)).is_ok()
        }
        Err(e) => !e.reason.is_empty(),
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..3000 {
        let len = rng.gen_range(0..600);
        let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        assert!(exercise(&bytes));
        assert!(parse(&bytes).is_err(), "random bytes are not a SIP message");
    }
}

#[test]
fn truncations_never_panic_and_cut_bodies_fail() {
    for sample in samples() {
        for cut in 0..sample.len() {
            let part = sample.get(..cut).expect("in range");
            assert!(exercise(part));
        }
    }
    // Cutting into the header section or the Content-Length-announced body is an error.
    let invite = std::fs::read(format!(
        "{}/tests/data/sipp_uac_invite.sip",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("read");
    for cut in [10, 100, 300, invite.len() - 1] {
        assert!(
            parse(invite.get(..cut).expect("in range")).is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn mutations_never_panic() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let samples = samples();
    let alphabet = b" \t\r\n:;,<>\"=@/\\0123456789abcSIPVvia%\xff\x00";
    for _ in 0..20_000 {
        let mut bytes = samples[rng.gen_range(0..samples.len())].clone();
        for _ in 0..rng.gen_range(1..8) {
            let pos = rng.gen_range(0..bytes.len());
            match rng.gen_range(0..3) {
                0 => bytes[pos] = alphabet[rng.gen_range(0..alphabet.len())],
                1 => {
                    bytes.remove(pos);
                }
                _ => bytes.insert(pos, alphabet[rng.gen_range(0..alphabet.len())]),
            }
        }
        assert!(exercise(&bytes));
    }
}

#[test]
fn bad_content_length_and_missing_headers_are_errors() {
    let base = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    for bad in ["99999999999999999999999", "-5", "abc", "", "1e3", "5"] {
        let msg = base.replace("Content-Length: 0", &format!("Content-Length: {bad}"));
        assert!(parse(msg.as_bytes()).is_err(), "Content-Length {bad:?}");
        assert!(bad_request_reply(msg.as_bytes(), "bad").is_some());
    }
    for drop in ["Via", "CSeq", "From", "To", "Call-ID"] {
        let msg: String = base
            .split_inclusive("\r\n")
            .filter(|l| !l.starts_with(&format!("{drop}:")))
            .collect();
        let err = parse(msg.as_bytes()).expect_err("missing header");
        assert!(err.reason.contains(drop), "{}", err.reason);
    }
}

#[test]
fn huge_headers_are_rejected() {
    let big = "a".repeat(70 * 1024);
    let msg = format!("OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nX-Big: {big}\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n\r\n");
    assert_eq!(
        parse(msg.as_bytes()).expect_err("too big").reason,
        "Header section too large"
    );
    let endless = format!("OPTIONS sip:a@b SIP/2.0\r\nX-Big: {big}");
    assert!(parse(endless.as_bytes()).is_err());
    assert!(exercise(endless.as_bytes()));
}
