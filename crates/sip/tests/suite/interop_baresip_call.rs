//! Interoperability: our endpoint calls a real baresip (auto-answer): INVITE with our SDP offer,
//! 200 with baresip's answer, ACK and BYE through a Dialog. Skipped when baresip is not installed.

use crate::common::{udp, udp_port_bound, within};
use agentphone_sip::dialog::Dialog;
use agentphone_sip::endpoint::{Endpoint, Timers};
use agentphone_sip::message::{self, RequestBuilder};
use agentphone_sip::rsip;
use agentphone_sip::sdp::{accept_answer, Direction, Sdp};
use std::process::Stdio;
use std::time::Duration;

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .expect("free port")
        .port()
}

#[tokio::test]
async fn call_baresip_and_hang_up() {
    let available = std::process::Command::new("baresip")
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !available {
        eprintln!("baresip not installed: skipping");
        return;
    }
    let (endpoint, _incoming) =
        Endpoint::bind("127.0.0.1:0".parse().expect("addr"), Timers::default())
            .await
            .expect("bind");
    let port = free_udp_port();
    let dir = std::env::temp_dir().join(format!(
        "sip-baresip-call-{}-{}",
        std::process::id(),
        message::new_tag()
    ));
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(
        dir.join("config"),
        format!(
            "sip_listen 127.0.0.1:{port}\nmodule_path /usr/lib/baresip/modules\n\
             audio_player aufile,/dev/null\naudio_source ausine,440\naudio_alert aufile,/dev/null\n\
             ausrc_srate 48000\nauplay_srate 48000\nausrc_channels 2\n\
             module g711.so\nmodule ausine.so\nmodule aufile.so\nmodule account.so\n"
        ),
    )
    .expect("config");
    std::fs::write(
        dir.join("accounts"),
        "<sip:bob@127.0.0.1>;regint=0;answermode=auto\n",
    )
    .expect("accounts");
    let mut child = tokio::process::Command::new("baresip")
        .arg("-f")
        .arg(&dir)
        .args(["-t", "15"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("baresip starts");
    assert!(
        udp_port_bound(port).await,
        "baresip did not bind 127.0.0.1:{port} within 10 s"
    );

    let target: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let offer = Sdp::offer(
        "127.0.0.1".parse().expect("ip"),
        41_000,
        9,
        Direction::SendRecv,
    );
    let uri = format!("sip:bob@{target}");
    let invite = RequestBuilder::new(rsip::Method::Invite, &uri)
        .expect("uri")
        .from(
            Some("Agent Phone"),
            &format!("sip:test@{}", endpoint.local_addr()),
            &message::new_tag(),
        )
        .to(None, &uri, None)
        .contact(&format!("sip:test@{}", endpoint.local_addr()))
        .body("application/sdp", offer.to_string().into_bytes())
        .build()
        .expect("invite");
    let tx = endpoint.request(invite, udp(target));
    let sent = tx.request().clone();
    let ok = within("baresip answers", tx.final_response())
        .await
        .expect("final");
    assert_eq!(
        ok.status_code.code(),
        200,
        "baresip answered {}",
        ok.status_code
    );
    let answer = Sdp::parse(&String::from_utf8_lossy(&ok.body)).expect("baresip SDP");
    let negotiated = accept_answer(&offer, &answer).expect("acceptable answer");
    assert!(
        ["PCMU", "PCMA"].contains(&negotiated.codec.name.as_str()),
        "{:?}",
        negotiated.codec
    );

    let mut dialog = Dialog::from_uac(&sent, &ok, udp(target)).expect("dialog");
    endpoint
        .ack(dialog.ack(1, None), dialog.peer)
        .await
        .expect("ack");
    // The call lasts a moment before the BYE: the scenario (hang up an established call), not
    // a settle; the ACK needs no answer to wait for.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bye = endpoint.request(dialog.request(rsip::Method::Bye, None), dialog.peer);
    let bye_ok = within("BYE answered", bye.final_response())
        .await
        .expect("final");
    assert_eq!(bye_ok.status_code.code(), 200);
    assert!(dialog.matches(&bye_ok.into()));
    let _ = child.kill().await;
    endpoint.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
