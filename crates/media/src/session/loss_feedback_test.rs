//! The encoder follows the network: RTCP receiver reports from the peer, sent over a real UDP
//! socket, set the Opus loss hint, in-band FEC and bitrate (issue 9 point 2). A clean path has
//! no FEC overhead and hint 0 (48 kb/s) from the first report on; loss turns FEC on at once and raises the bitrate to
//! 64 kb/s; the hint falls only after five reports in a row with less loss.

use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::time::Instant;

use super::{RtpSession, SessionConfig};
use crate::codec::CodecKind;
use crate::rtcp::{self, ReportBlock};

#[test]
fn receiver_reports_drive_loss_hint_fec_and_bitrate() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let peer = UdpSocket::bind((ip, 0)).unwrap_or_else(|e| panic!("{e}"));
    let mut session = RtpSession::bind(ip).unwrap_or_else(|e| panic!("{e}"));
    session
        .configure(SessionConfig {
            remote: peer.local_addr().unwrap_or_else(|e| panic!("{e}")),
            codec: CodecKind::Opus,
            pt: 111,
            telephone_event_pt: None,
            rtcp_mux: true,
            srtp: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        session.encoder_settings(),
        Some((64_000, true, 10)),
        "before any report: protected like a lossy path"
    );
    // (fraction lost /256 in the report) → (bitrate, FEC, hint %). The first report is
    // followed whatever it says.
    let table: [(u8, (i32, bool, i32)); 12] = [
        (0, (48_000, false, 0)),
        (3, (64_000, true, 2)),
        (13, (64_000, true, 6)),
        (26, (64_000, true, 11)),
        (128, (64_000, true, 50)),
        // Less loss: held for four reports, followed on the fifth.
        (13, (64_000, true, 50)),
        (0, (64_000, true, 50)),
        (0, (64_000, true, 50)),
        (0, (64_000, true, 50)),
        (13, (64_000, true, 6)),
        // More loss again is followed at once; then five clean reports turn FEC off.
        (26, (64_000, true, 11)),
        (0, (64_000, true, 11)),
    ];
    for (fraction_lost, expected) in table {
        send_report(&peer, &mut session, fraction_lost);
        assert_eq!(
            session.encoder_settings(),
            Some(expected),
            "report with fraction lost {fraction_lost}/256"
        );
    }
    for _ in 0..4 {
        send_report(&peer, &mut session, 0);
    }
    assert_eq!(session.encoder_settings(), Some((48_000, false, 0)));
}

/// One receiver report on the session's stream from `peer`, read by the session.
fn send_report(peer: &UdpSocket, session: &mut RtpSession, fraction_lost: u8) {
    let block = ReportBlock::loss_only(session.ssrc(), fraction_lost);
    let mut buf = [0u8; 128];
    let n = rtcp::write_rr(0x1234, &[block], &mut buf);
    peer.send_to(&buf[..n], session.local_addr())
        .unwrap_or_else(|e| panic!("{e}"));
    // Loopback delivers on send; a few polls make sure the report has been read (nothing
    // else arrives on the socket).
    let mut digits = Vec::new();
    for _ in 0..5 {
        session.poll_receive(Instant::now(), &mut digits);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
}
