//! REGISTER handling cost: parse alone (baseline) vs. the whole server-side path: parse, extract
//! headers, check the nonce, verify digest credentials, build the 200 and serialise it.

use agentphone_sip::auth::{Algorithm, Challenge, Credentials, NonceCheck, NonceIssuer};
use agentphone_sip::message::{self, parse, response, to_bytes};
use agentphone_sip::rsip;
use agentphone_sip::rsip::headers::UntypedHeader;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use std::time::Duration;

fn register_bytes(issuer: &NonceIssuer) -> Vec<u8> {
    let ch = Challenge {
        realm: "agentphone".into(),
        nonce: issuer.issue(),
        algorithm: Algorithm::Sha256,
        opaque: None,
        qop_auth: true,
        stale: false,
    };
    let creds = Credentials::answer(&ch, "alice", "secret", "REGISTER", "sip:10.0.0.1", 1);
    format!(
        "REGISTER sip:10.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.2:5070;branch=z9hG4bKdccaa4419ba36e9e;rport\r\n\
         Contact: <sip:alice@10.0.0.2:5070>;expires=300\r\n\
         Max-Forwards: 70\r\n\
         Authorization: {}\r\n\
         To: <sip:alice@10.0.0.1>\r\n\
         From: <sip:alice@10.0.0.1>;tag=100e3ce8f0f46d36\r\n\
         Call-ID: 642198b9c3f1f6d4\r\n\
         CSeq: 60298 REGISTER\r\n\
         User-Agent: baresip v1.0.0 (x86_64/linux)\r\n\
         Expires: 300\r\n\
         Content-Length: 0\r\n\r\n",
        creds.to_header_value()
    )
    .into_bytes()
}

/// What the registrar does with one REGISTER; returns the bytes to send.
fn handle(bytes: &[u8], issuer: &NonceIssuer) -> Option<Vec<u8>> {
    let msg = parse(bytes).ok()?;
    let _call_id = message::call_id(&msg)?;
    let _cseq = message::cseq(&msg)?;
    let aor = message::to_uri(&msg)?;
    let contact = message::contact_uri(&msg)?;
    let expires = message::header_value(&msg, "Expires").and_then(|e| e.parse::<u32>().ok())?;
    let creds = Credentials::parse(&message::header_value(&msg, "Authorization")?)?;
    if issuer.check(&creds.nonce) != NonceCheck::Valid || !creds.verify("REGISTER", "secret") {
        return None;
    }
    let rsip::SipMessage::Request(req) = msg else {
        return None;
    };
    let mut ok = response(&req, 200, "OK", Some("srvtag"));
    ok.headers
        .push(rsip::headers::Contact::new(format!("<{contact}>;expires={expires}")).into());
    ok.headers
        .push(rsip::headers::Expires::new(expires.to_string()).into());
    let _ = aor;
    Some(to_bytes(&ok.into()))
}

fn bench_register(c: &mut Criterion) {
    let issuer = NonceIssuer::new(Duration::from_secs(3600));
    let bytes = register_bytes(&issuer);
    assert!(
        handle(&bytes, &issuer).is_some(),
        "the bench request must be accepted"
    );
    let mut group = c.benchmark_group("register");
    group.bench_function("parse", |b| b.iter(|| parse(black_box(&bytes))));
    group.bench_function("parse_and_handle", |b| {
        b.iter(|| handle(black_box(&bytes), &issuer))
    });
    group.finish();
}

criterion_group!(benches, bench_register);
criterion_main!(benches);
