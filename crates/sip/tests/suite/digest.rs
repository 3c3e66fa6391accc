//! Digest authentication: RFC 7616 §3.9.1 vectors, a real baresip answer, round trips.

use agentphone_sip::auth::{Algorithm, Challenge, Credentials};
use agentphone_sip::message;

fn rfc7616_credentials(algorithm: Algorithm, response: &str) -> Credentials {
    Credentials {
        username: "Mufasa".into(),
        realm: "http-auth@example.org".into(),
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
        uri: "/dir/index.html".into(),
        response: response.into(),
        algorithm,
        cnonce: Some("f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ".into()),
        nc: Some("00000001".into()),
        qop: Some("auth".into()),
        opaque: Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS".into()),
    }
}

#[test]
fn rfc7616_md5_vector() {
    let c = rfc7616_credentials(Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec");
    assert!(c.verify("GET", "Circle of Life"));
    assert!(!c.verify("GET", "Circle of life"));
    assert!(!c.verify("POST", "Circle of Life"));
}

#[test]
fn rfc7616_sha256_vector() {
    let c = rfc7616_credentials(
        Algorithm::Sha256,
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
    );
    assert!(c.verify("GET", "Circle of Life"));
    assert!(!c.verify("GET", "wrong"));
    // The header round trip keeps every field.
    let parsed = Credentials::parse(&c.to_header_value()).expect("parses");
    assert!(parsed.verify("GET", "Circle of Life"));
    assert_eq!(parsed.opaque, c.opaque);
}

#[test]
fn rfc7616_challenge_parses() {
    let header = r#"Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;
    let ch = Challenge::parse(header).expect("parses");
    assert_eq!(ch.algorithm, Algorithm::Sha256);
    assert!(ch.qop_auth);
    assert!(!ch.stale);
    assert_eq!(ch.realm, "http-auth@example.org");
    let again = Challenge::parse(&ch.to_header_value()).expect("round trip");
    assert_eq!(again.nonce, ch.nonce);
    assert_eq!(again.opaque, ch.opaque);
    assert!(Challenge::parse(r#"Digest realm="r", nonce="n", algorithm=MD5-sess"#).is_none());
    assert!(Challenge::parse(r#"Digest realm="r""#).is_none());
    let stale = Challenge::parse(r#"Digest realm="r", nonce="n", stale=TRUE"#).expect("parses");
    assert!(stale.stale && !stale.qop_auth && stale.algorithm == Algorithm::Md5);
}

#[test]
fn real_baresip_answer_verifies() {
    let path = format!(
        "{}/tests/data/baresip_register_auth.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    let bytes = std::fs::read(path).expect("sample");
    let msg = message::parse(&bytes).expect("parses");
    let auth = message::header_value(&msg, "Authorization").expect("header");
    let creds = Credentials::parse(&auth).expect("credentials");
    assert_eq!(creds.username, "alice");
    assert_eq!(creds.qop.as_deref(), Some("auth"));
    assert!(creds.verify("REGISTER", "secret"));
    assert!(!creds.verify("REGISTER", "Secret"));
}

#[test]
fn answer_then_verify_both_algorithms() {
    for (algorithm, qop_auth) in [
        (Algorithm::Md5, true),
        (Algorithm::Sha256, true),
        (Algorithm::Md5, false),
    ] {
        let ch = Challenge {
            realm: "agentphone".into(),
            nonce: "n1".into(),
            algorithm,
            opaque: None,
            qop_auth,
            stale: false,
        };
        let creds = Credentials::answer(&ch, "bob", "pw \"quoted\"", "INVITE", "sip:x@y", 3);
        assert_eq!(creds.nc.as_deref(), qop_auth.then_some("00000003"));
        let parsed = Credentials::parse(&creds.to_header_value()).expect("parses");
        assert!(parsed.verify("INVITE", "pw \"quoted\""));
        assert!(!parsed.verify("INVITE", "pw"));
    }
}

#[test]
fn unsupported_qop_or_garbage_never_verifies() {
    let mut c = rfc7616_credentials(Algorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec");
    c.qop = Some("auth-int".into());
    assert!(!c.verify("GET", "Circle of Life"));
    c.qop = Some("auth".into());
    c.cnonce = None;
    assert!(!c.verify("GET", "Circle of Life"));
    for garbage in [
        "",
        "Digest",
        "Basic abc",
        "Digest username=",
        "Digest username=\"a\", realm=\"b\"",
    ] {
        assert!(Credentials::parse(garbage).is_none(), "{garbage:?}");
    }
}
