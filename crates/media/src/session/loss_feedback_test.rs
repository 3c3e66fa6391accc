//! The encoder follows the network: RTCP receiver reports from the peer, sent over a real UDP
//! socket, set the Opus loss hint, in-band FEC and bitrate (issue 9 point 2). A clean path has
//! no FEC overhead and hint 0; loss turns FEC on and raises the bitrate (32–64 kb/s); the loss
//! going away turns them back.

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
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        session.encoder_settings(),
        Some((32_000, false, 0)),
        "before any report"
    );
    // (fraction lost /256 in the report) → (bitrate, FEC, hint %).
    let table: [(u8, (i32, bool, i32)); 6] = [
        (0, (32_000, false, 0)),
        (3, (38_400, true, 2)),
        (13, (51_200, true, 6)),
        (26, (64_000, true, 11)),
        (128, (64_000, true, 50)),
        (0, (32_000, false, 0)),
    ];
    let mut digits = Vec::new();
    for (fraction_lost, expected) in table {
        let block = ReportBlock {
            ssrc: session.ssrc(),
            fraction_lost,
            cumulative_lost: 0,
            highest_seq: 0,
            jitter: 0,
            lsr: 0,
            dlsr: 0,
        };
        let mut buf = [0u8; 128];
        let n = rtcp::write_rr(0x1234, &[block], &mut buf);
        peer.send_to(&buf[..n], session.local_addr())
            .unwrap_or_else(|e| panic!("{e}"));
        // Loopback delivers on send; poll until the report is read.
        for _ in 0..100 {
            session.poll_receive(Instant::now(), &mut digits);
            if session.encoder_settings() == Some(expected) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(
            session.encoder_settings(),
            Some(expected),
            "report with fraction lost {fraction_lost}/256"
        );
    }
}
