//! Real SIP phones from Debian as the customer: baresip (Opus and G.711) and sipp (G.711 A-law
//! with RTP from its shipped pcap, then an RFC 4733 DTMF). A headless agent answers; what it heard
//! proves the audio crossed the server. These need `baresip` and `sipp` (`bash .ci/setup`).

use agentphone_testkit::prelude::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{tool} is not installed: this interop test needs it (run `bash .ci/setup`)"
    );
}

/// A baresip configuration that calls with `codec_module` first in its offer, sends a tone from
/// a WAV file at the codec's rate and dumps what it decodes (what the customer hears) to `rec/`.
fn baresip_config(dir: &Path, codec_module: &str, rate: u32) -> std::path::PathBuf {
    let cfg = dir.join("baresip");
    std::fs::create_dir_all(cfg.join("rec")).expect("baresip dir");
    let tone = cfg.join("tone.wav");
    // baresip's aufile source wants the codec's own rate and channel count (opus/48000/2).
    let channels = if codec_module == "opus" { 2 } else { 1 };
    let status = Command::new("sox")
        .args([
            "-n",
            "-r",
            &rate.to_string(),
            "-c",
            &channels.to_string(),
            "-b",
            "16",
        ])
        .arg(&tone)
        .args([
            "synth",
            "30",
            "sine",
            &CUSTOMER_HZ.to_string(),
            "vol",
            "0.3",
        ])
        .status()
        .expect("sox");
    assert!(status.success(), "sox made the customer's tone");
    let other = if codec_module == "opus" {
        "g711"
    } else {
        "opus"
    };
    let config = format!(
        "poll_method epoll\n\
         sip_listen 127.0.0.1:0\n\
         audio_player alsa,null\n\
         audio_alert alsa,null\n\
         audio_source aufile,{tone}\n\
         audio_srate {rate}\n\
         audio_channels {channels}\n\
         module_path /usr/lib/baresip/modules\n\
         module {codec_module}.so\n\
         module {other}.so\n\
         module aufile.so\n\
         module alsa.so\n\
         module sndfile.so\n\
         module account.so\n\
         module_app menu.so\n\
         snd_path {rec}\n",
        tone = tone.display(),
        rec = cfg.join("rec").display(),
    );
    std::fs::write(cfg.join("config"), config).expect("baresip config");
    std::fs::write(
        cfg.join("accounts"),
        "\"Sam Carter\" <sip:customer@127.0.0.1>;regint=0\n",
    )
    .expect("baresip accounts");
    cfg
}

/// baresip dials `uri` at once and quits after `seconds`.
fn start_baresip(dir: &Path, cfg: &Path, uri: &str, seconds: u32) -> std::process::Child {
    let log = std::fs::File::create(dir.join("baresip.out")).expect("baresip log");
    Command::new("baresip")
        .arg("-f")
        .arg(cfg)
        .args(["-e", &format!("/dial {uri}"), "-t", &seconds.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("log fd")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start baresip")
}

/// What baresip decoded (what the customer heard): its sndfile module's `dump-…-dec.wav`.
fn baresip_heard(dir: &Path, cfg: &Path) -> std::path::PathBuf {
    find_baresip_heard(cfg).unwrap_or_else(|| {
        panic!(
            "baresip recorded nothing; see {}",
            dir.join("baresip.out").display()
        )
    })
}

fn find_baresip_heard(cfg: &Path) -> Option<std::path::PathBuf> {
    std::fs::read_dir(cfg.join("rec"))
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
}

/// Ok once baresip closed its recording: libsndfile writes the WAV's RIFF size on close, so
/// the size then matches the file.
fn recording_closed(cfg: &Path) -> Result<(), String> {
    let path = find_baresip_heard(cfg).ok_or("no recording yet")?;
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let riff = bytes
        .get(4..8)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    match riff {
        Some(size) if bytes.len() > 44 && size + 8 == bytes.len() => Ok(()),
        other => Err(format!(
            "{}: RIFF size {other:?}, {} bytes",
            path.display(),
            bytes.len()
        )),
    }
}

/// SPEC T2–T6 with a real SIP phone as the customer: alice answers, transfers to bob, bob answers,
/// alice completes; bob and the baresip customer hear each other afterwards.
#[test]
fn baresip_customer_is_transferred_from_alice_to_bob() {
    require("baresip");
    require("sox");
    let dir = scratch_dir("e2e_baresip_transfer");
    let server = TestServer::standard(&dir);
    let mut alice = scenario::agent(&server, &dir, "alice");
    let mut bob = scenario::agent(&server, &dir, "bob");
    let cfg = baresip_config(&dir, "opus", 48_000);
    let mut baresip = start_baresip(&dir, &cfg, &server.uri("support"), 25);

    alice.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    alice.cmd("answer");
    alice.wait_state("connected");
    alice.wait("room", &[], Duration::from_secs(10));
    let a = record_phase(&mut [&mut alice], "talk", Duration::from_secs(2)).remove(0);
    Heard::analyse(&a, &[CUSTOMER_HZ]).assert_hears(CUSTOMER_HZ, "baresip, by alice");

    let inc = transfer_rings(&mut alice, &mut bob, "transfer agent bob needs a refund");
    assert_eq!(inc["reason"], "needs a refund", "{inc}");
    assert!(
        inc["display"]
            .as_str()
            .is_some_and(|d| d.contains("Sam Carter")),
        "bob sees the baresip customer's name: {inc}"
    );
    bob.cmd("answer");
    alice.wait_transfer("answered");
    let b = record_phase(&mut [&mut bob], "consult", Duration::from_secs(2)).remove(0);
    let heard = Heard::analyse(&b, &[CUSTOMER_HZ, ALICE_HZ]);
    heard.assert_hears(ALICE_HZ, "alice, by bob while consulting");
    heard.assert_not_hears(CUSTOMER_HZ, "the held baresip customer, by bob");

    alice.cmd("transfer complete");
    alice.wait_state("ended");
    bob.wait_hearing(&[CUSTOMER_HZ], &[ALICE_HZ]);
    let b = record_phase(&mut [&mut bob], "after", Duration::from_secs(3)).remove(0);
    Heard::analyse(&b, &[CUSTOMER_HZ, ALICE_HZ])
        .assert_hears(CUSTOMER_HZ, "baresip, by bob after the transfer");
    bob.cmd("hangup");
    bob.wait_state("ended");
    // baresip closes its recording when the server's BYE ends the call; then let it quit cleanly.
    wait_until(
        "baresip to close its recording",
        Duration::from_secs(10),
        || recording_closed(&cfg),
    );
    let _ = Command::new("kill")
        .args(["-TERM", &baresip.id().to_string()])
        .status();
    let _ = baresip.wait();

    // baresip heard alice at first and bob at the end (its whole call is one recording).
    let dec = Heard::analyse(&baresip_heard(&dir, &cfg), &[ALICE_HZ, BOB_HZ]);
    assert!(
        dec.share(ALICE_HZ) > 0.05 && dec.share(BOB_HZ) > 0.05,
        "baresip heard alice and then bob: alice {:.0}%, bob {:.0}% of {}",
        100.0 * dec.share(ALICE_HZ),
        100.0 * dec.share(BOB_HZ),
        dec.path
    );
}

fn baresip_customer(codec_module: &str, rate: u32) {
    require("baresip");
    require("sox");
    let dir = scratch_dir(&format!("e2e_baresip_{codec_module}"));
    let server = TestServer::standard(&dir);
    let mut alice = scenario::agent(&server, &dir, "alice");

    let cfg = baresip_config(&dir, codec_module, rate);
    let mut baresip = start_baresip(&dir, &cfg, &server.uri("support"), 9);

    let incoming = alice.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    assert!(
        incoming["display"]
            .as_str()
            .is_some_and(|d| d.contains("Sam Carter")),
        "the agent sees the baresip customer's name: {incoming}"
    );
    answer_and_hear_each_other(&mut alice, &mut baresip, &dir, &cfg);
}

/// alice answers the baresip customer who rings her, talks 3 s and hangs up: each heard the
/// other.
fn answer_and_hear_each_other(
    alice: &mut Client,
    baresip: &mut std::process::Child,
    dir: &Path,
    cfg: &Path,
) {
    alice.cmd("answer");
    alice.wait_state("connected");
    let heard_by_alice =
        record_phase(&mut [alice], "from-baresip", Duration::from_secs(3)).remove(0);
    alice.cmd("hangup");
    alice.wait_state("ended");
    let _ = baresip.wait();

    Heard::analyse(&heard_by_alice, &[CUSTOMER_HZ, ALICE_HZ])
        .assert_hears(CUSTOMER_HZ, "the baresip customer, by alice");
    let dec = baresip_heard(dir, cfg);
    Heard::analyse(&dec, &[CUSTOMER_HZ, ALICE_HZ]).assert_hears(ALICE_HZ, "alice, by baresip");
}

#[test]
fn baresip_customer_with_opus_reaches_the_agent() {
    baresip_customer("opus", 48_000);
}

#[test]
fn baresip_customer_with_g711_reaches_the_agent() {
    baresip_customer("g711", 8_000);
}

#[test]
fn sipp_customer_plays_g711a_pcap_and_dtmf_to_the_agent() {
    require("sipp");
    let dir = scratch_dir("e2e_sipp");
    let server = TestServer::standard(&dir);
    let mut alice = scenario::agent(&server, &dir, "alice");

    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sipp_customer_pcap.xml");
    let (sip_port, media_port) = (free_udp_port(), free_udp_port_pair());
    let log = std::fs::File::create(dir.join("sipp.out")).expect("sipp log");
    let mut sipp = Command::new("sipp")
        .arg("-sf")
        .arg(&scenario)
        .args(["-s", "support", "-i", "127.0.0.1"])
        .args(["-p", &sip_port.to_string(), "-mp", &media_port.to_string()])
        .args(["-m", "1", "-timeout", "30", "-nostdin", "-trace_err"])
        .arg(server.addr().to_string())
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log.try_clone().expect("log fd")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start sipp");

    let incoming = alice.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    assert!(
        incoming["from"]
            .as_str()
            .is_some_and(|f| f.contains("sipp")),
        "the agent sees the sipp customer: {incoming}"
    );
    alice.cmd("answer");
    alice.wait_state("connected");
    let heard = alice.record("from-sipp");
    // The pcap's DTMF '1' comes after ~8 s of speech; the relay brings it to alice.
    alice.wait("dtmf", &[("digit", "1")], Duration::from_secs(15));
    alice.wait_state("ended");
    let status = sipp.wait().expect("sipp exit");
    assert!(
        status.success(),
        "sipp's scenario passed (see {})",
        dir.join("sipp.out").display()
    );
    let heard = Heard::analyse(&heard, &[ALICE_HZ]);
    heard.assert_not_hears(ALICE_HZ, "alice's own voice");
    assert!(
        heard.share_louder_than(-45.0) >= 0.5,
        "the pcap's speech reached alice: {:.0}% of windows above -45 dBFS in {}",
        100.0 * heard.share_louder_than(-45.0),
        heard.path
    );
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// An even port whose successor is free too (sipp uses mp and mp+2 for audio/video RTP).
fn free_udp_port_pair() -> u16 {
    for _ in 0..50 {
        let p = free_udp_port() & !1;
        let ok = (0..4).all(|i| std::net::UdpSocket::bind(("127.0.0.1", p + i)).is_ok());
        if ok {
            return p;
        }
    }
    panic!("no free UDP port block for sipp media");
}

/// Issue 11 point 9: baresip as a TLS + SRTP customer (`transport=tls`, `mediaenc=srtp-mand`:
/// RTP/SAVP with SDES keys) of a server that requires SRTP; alice (over TLS too) and baresip
/// hear each other.
#[test]
fn baresip_customer_over_tls_with_srtp_reaches_the_agent() {
    require("baresip");
    require("sox");
    let dir = scratch_dir("e2e_baresip_tls_srtp");
    let (server, pki) = crate::e2e_tls::tls_server(&dir);
    let mut alice = crate::e2e_tls::tls_alice(&server, &dir, &pki.ca);

    let cfg = baresip_config(&dir, "opus", 48_000);
    // srtp.so before account.so: the account's `mediaenc` must exist when it is read.
    let mut config = std::fs::read_to_string(cfg.join("config"))
        .expect("baresip config")
        .replacen("module account.so", "module srtp.so\nmodule account.so", 1);
    config.push_str(&format!("sip_cafile {}\n", pki.ca.display()));
    std::fs::write(cfg.join("config"), config).expect("baresip config");
    std::fs::write(
        cfg.join("accounts"),
        "\"Sam Carter\" <sip:customer@127.0.0.1;transport=tls>;regint=0;mediaenc=srtp-mand\n",
    )
    .expect("baresip accounts");
    let uri = crate::e2e_tls::tls_uri(&server, "support");
    let mut baresip = start_baresip(&dir, &cfg, &uri, 9);

    alice.wait(
        "incoming_call",
        &[("team", "support")],
        Duration::from_secs(10),
    );
    answer_and_hear_each_other(&mut alice, &mut baresip, &dir, &cfg);
}
