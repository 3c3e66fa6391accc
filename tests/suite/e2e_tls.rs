//! SIP over TLS and SRTP (issue 11, point 9): headless phones register and call over TLS, the
//! server's certificate verified against a test CA; the server requires SRTP (`[tls] srtp =
//! "required"`), so the call's audio is SRTP both ways — and the tones still cross. A capture on
//! lo shows no plaintext SIP in the TLS stream and no plain RTP payload; a plain-UDP customer is
//! refused 488; a phone that trusts another CA is refused with the reason.

use agentphone_media::codec::{CodecKind, Decoder};
use agentphone_media::tone::detect_tones;
use agentphone_testkit::capture::{udp_ports_of, Capture, Packet};
use agentphone_testkit::pki::{PkiFiles, TestPki};
use agentphone_testkit::prelude::*;
use std::path::Path;
use std::time::Duration;

/// The standard server with a `[tls]` listener and SRTP required for everyone.
pub(crate) fn tls_server(dir: &Path) -> (TestServer, PkiFiles) {
    let pki = TestPki::new().write(&dir.join("pki"));
    let tls = format!(
        "\n[tls]\ncert = \"{}\"\nkey = \"{}\"\nsrtp = \"required\"\n",
        pki.cert.display(),
        pki.key.display()
    );
    (TestServer::blocking(&standard_config(dir, &tls)), pki)
}

/// A phone over TLS trusting `ca`.
pub(crate) fn tls_phone(
    server: &TestServer,
    dir: &Path,
    opts: ClientOptions<'_>,
    ca: &Path,
) -> Client {
    let ca = ca.display().to_string();
    let extra = ["--ca", ca.as_str()];
    Client::spawn(
        server.tls_addr(),
        dir,
        ClientOptions {
            transport: "tls",
            extra: &extra,
            ..opts
        },
    )
}

/// `sip:USER@IP:TLSPORT;transport=tls`.
pub(crate) fn tls_uri(server: &TestServer, user: &str) -> String {
    format!("sip:{user}@{};transport=tls", server.tls_addr())
}

/// Decode RTP payloads as if they were plain Opus: what an eavesdropper would hear.
fn decoded_as_plain_opus(rtp: &[&Packet]) -> Vec<i16> {
    let mut decoder = Decoder::new(CodecKind::Opus).expect("opus decoder");
    let mut pcm = Vec::new();
    let mut buf = vec![0i16; 5760];
    for p in rtp {
        let payload = p.payload.get(12..).unwrap_or_default();
        if let Ok(n) = decoder.decode_into(payload, &mut buf) {
            pcm.extend_from_slice(&buf[..n]);
        }
    }
    pcm
}

/// alice over TLS, registered, voice on.
pub(crate) fn tls_alice(server: &TestServer, dir: &Path, ca: &Path) -> Client {
    let opts = ClientOptions::agent("alice", "alice-secret", ALICE_HZ);
    let mut alice = tls_phone(server, dir, opts, ca);
    alice.register();
    alice.voice_on();
    alice
}

#[test]
fn call_over_tls_with_srtp_is_heard_and_nothing_readable_is_on_the_wire() {
    let dir = scratch_dir("e2e_tls_srtp");
    let (server, pki) = tls_server(&dir);
    let tls_port = server.tls_addr().port();
    let sip_capture = Capture::start(&dir.join("sip.pcap"), &format!("tcp port {tls_port}"));

    let mut alice = tls_alice(&server, &dir, &pki.ca);
    let mut customer = tls_phone(
        &server,
        &dir,
        ClientOptions::customer("customer", CUSTOMER_HZ),
        &pki.ca,
    );
    customer.cmd(&format!("dial {}", tls_uri(&server, "support")));
    alice.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    alice.cmd("answer");
    alice.wait_state("connected");
    customer.wait_state("connected");

    let customer_ports = udp_ports_of(customer.pid());
    let rtp_filter = customer_ports
        .iter()
        .map(|p| format!("udp port {p}"))
        .collect::<Vec<_>>()
        .join(" or ");
    assert!(
        !rtp_filter.is_empty(),
        "the customer's phone has UDP sockets"
    );
    let rtp_capture = Capture::start(&dir.join("rtp.pcap"), &rtp_filter);
    assert_hear_each_other(
        (&mut customer, CUSTOMER_HZ),
        (&mut alice, ALICE_HZ),
        "srtp",
        Duration::from_millis(2000),
    );
    let rtp = rtp_capture.stop();
    customer.cmd("hangup");
    customer.wait_state("ended");
    alice.wait_state("ended");
    let sip = sip_capture.stop();

    // SIP: TLS records only.
    let stream: Vec<u8> = sip.iter().flat_map(|p| p.payload.clone()).collect();
    assert!(
        stream.len() > 2000,
        "TLS traffic captured: {} bytes",
        stream.len()
    );
    let text = String::from_utf8_lossy(&stream);
    for word in ["SIP/2.0", "INVITE", "REGISTER", "a=crypto", "m=audio"] {
        assert!(!text.contains(word), "plaintext `{word}` in the TLS stream");
    }
    // RTP: the customer's packets carry its tone, but not readably.
    let sent: Vec<&Packet> = rtp
        .iter()
        .filter(|p| p.udp && customer_ports.contains(&p.src_port))
        .filter(|p| p.payload.first().is_some_and(|b| b >> 6 == 2))
        // RTCP (RFC 5761: second byte 192–223) is not audio.
        .filter(|p| !(192..=223).contains(&p.payload.get(1).copied().unwrap_or(0)))
        .collect();
    assert!(sent.len() > 50, "{} RTP packets captured", sent.len());
    let eavesdropped = decoded_as_plain_opus(&sent);
    assert_eq!(
        detect_tones(&eavesdropped, 48_000, &[CUSTOMER_HZ]),
        vec![false],
        "the payload decoded as plain Opus does not give the customer's tone"
    );
}

#[test]
fn plain_customer_is_refused_488_when_srtp_is_required() {
    let dir = scratch_dir("e2e_tls_488");
    let (server, pki) = tls_server(&dir);
    let mut alice = tls_alice(&server, &dir, &pki.ca);
    let mut customer = customer_calls(&server, &dir, "support");
    let ended = customer.wait("call_state", &[("state", "ended")], Duration::from_secs(10));
    assert!(
        ended["reason"].as_str().is_some_and(|r| r.contains("488")),
        "{ended}"
    );
    alice.assert_no_event("incoming_call", Duration::from_millis(500));
}

#[test]
fn phone_refuses_a_server_certificate_from_another_ca() {
    let dir = scratch_dir("e2e_tls_bad_cert");
    let (server, _pki) = tls_server(&dir);
    let other = TestPki::new().write(&dir.join("other"));
    let mut alice = tls_phone(
        &server,
        &dir,
        ClientOptions::agent("alice", "alice-secret", ALICE_HZ),
        &other.ca,
    );
    alice.cmd("register");
    let failed = alice.wait("registration_failed", &[], Duration::from_secs(10));
    let reason = failed["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("TLS handshake") && reason.contains("certificate"),
        "a clear reason: {failed}"
    );
}

/// The eavesdropper check above can fail: plain Opus RTP of the customer's tone, decoded the
/// same way, does give the tone.
#[test]
fn plain_opus_payloads_decoded_give_the_tone() {
    use agentphone_media::codec::Encoder;
    use agentphone_media::rtp::{self, RtpHeader};
    use agentphone_media::tone::ToneGenerator;
    let mut encoder = Encoder::new(CodecKind::Opus).expect("opus encoder");
    let mut tone = ToneGenerator::new(CUSTOMER_HZ, -12.0);
    let mut frame = [0i16; agentphone_media::FRAME];
    let packets: Vec<Packet> = (0..100u16)
        .map(|seq| {
            tone.fill(&mut frame);
            let mut payload = [0u8; 1500];
            let n = encoder.encode(&frame, &mut payload).expect("encode");
            let h = RtpHeader {
                marker: false,
                pt: 111,
                seq,
                ts: u32::from(seq) * 960,
                ssrc: 7,
            };
            let mut datagram = vec![0u8; 1600];
            let len = rtp::write(&h, &payload[..n], &mut datagram);
            datagram.truncate(len);
            Packet {
                udp: true,
                src_port: 1,
                dst_port: 2,
                payload: datagram,
            }
        })
        .collect();
    let refs: Vec<&Packet> = packets.iter().collect();
    assert_eq!(
        detect_tones(&decoded_as_plain_opus(&refs), 48_000, &[CUSTOMER_HZ]),
        vec![true]
    );
}
