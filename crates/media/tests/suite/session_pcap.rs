//! sipp's shipped `g711a.pcap` (Debian package sip-tester): PCMA in 30 ms packets, as a real
//! peer sends it. Its RTP is replayed at the recorded pace into an RtpSession; what the session
//! plays must match the pcap's own decoded A-law, 100 ms window by 100 ms window.

use crate::common::stream::{play_through_session, window_levels, Packet, WINDOW};
use agentphone_media::codec::CodecKind;
use agentphone_media::g711::{self, Law};
use agentphone_media::rtp;
use agentphone_media::session::FrameStatus;
use std::path::Path;

const PCAP: &str = "/usr/share/sip-tester/g711a.pcap";

fn u16_at(b: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let x = [*b.get(at)?, *b.get(at + 1)?];
    Some(if big_endian {
        u16::from_be_bytes(x)
    } else {
        u16::from_le_bytes(x)
    })
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let x = [
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ];
    Some(if big_endian {
        u32::from_be_bytes(x)
    } else {
        u32::from_le_bytes(x)
    })
}

/// The UDP payloads of a classic pcap file (Ethernet, IPv4), with their capture time in µs.
fn udp_payloads(file: &[u8]) -> Result<Vec<(u64, Vec<u8>)>, String> {
    // Global header: magic, version, zone, sigfigs, snaplen, link type (24 bytes).
    let magic = u32_at(file, 0, false).ok_or("no pcap header")?;
    let (big_endian, nanos) = match magic {
        0xA1B2_C3D4 => (false, false),
        0xA1B2_3C4D => (false, true),
        0xD4C3_B2A1 => (true, false),
        0x4D3C_B2A1 => (true, true),
        m => return Err(format!("not a pcap file (magic {m:#x})")),
    };
    let link = u32_at(file, 20, big_endian).ok_or("short pcap header")?;
    if link != 1 {
        return Err(format!("link type {link}, only Ethernet (1) is read"));
    }
    let mut out = Vec::new();
    let mut at = 24;
    while at < file.len() {
        // Record header: seconds, sub-seconds, captured length, original length (16 bytes).
        let secs = u32_at(file, at, big_endian).ok_or("short record header")?;
        let frac = u32_at(file, at + 4, big_endian).ok_or("short record header")?;
        let incl = u32_at(file, at + 8, big_endian).ok_or("short record header")? as usize;
        let frame = file
            .get(at + 16..at + 16 + incl)
            .ok_or("record runs past the end of the file")?;
        at += 16 + incl;
        let micros = u64::from(secs) * 1_000_000
            + if nanos {
                u64::from(frac) / 1000
            } else {
                u64::from(frac)
            };
        // Ethernet: 14 bytes, EtherType 0x0800 = IPv4.
        if u16_at(frame, 12, true) != Some(0x0800) {
            continue;
        }
        let ip = &frame[14.min(frame.len())..];
        let (Some(&version_ihl), Some(&proto)) = (ip.first(), ip.get(9)) else {
            continue;
        };
        if version_ihl >> 4 != 4 || proto != 17 {
            continue;
        }
        let ihl = usize::from(version_ihl & 0x0F) * 4;
        let udp_len = u16_at(ip, ihl + 4, true).ok_or("short UDP header")? as usize;
        let payload = ip
            .get(ihl + 8..ihl + udp_len)
            .ok_or("UDP length runs past the frame")?;
        out.push((micros, payload.to_vec()));
    }
    Ok(out)
}

#[test]
fn sipp_g711a_pcap_plays_at_its_recorded_level() {
    let path = Path::new(PCAP);
    if !path.exists() {
        eprintln!(
            "SKIPPED: {PCAP} is not installed (Debian package sip-tester); nothing to replay"
        );
        return;
    }
    let file = std::fs::read(path).expect("read the pcap");
    let udp = udp_payloads(&file).expect("a readable pcap");
    // The RTP of the call: PCMA (PT 8) packets, in capture order.
    let rtp_packets: Vec<(u64, Vec<u8>)> = udp
        .into_iter()
        .filter(|(_, d)| matches!(rtp::parse(d), Ok((h, _)) if h.pt == 8))
        .collect();
    assert!(rtp_packets.len() > 100, "{} RTP packets", rtp_packets.len());

    // The reference: the pcap's A-law decoded directly, at 8 kHz.
    let mut reference = Vec::new();
    let mut payload_bytes = Vec::new();
    for (_, d) in &rtp_packets {
        let (_, payload) = rtp::parse(d).expect("RTP");
        payload_bytes.push(payload.len());
        let mut pcm = vec![0i16; payload.len()];
        g711::decode(Law::A, payload, &mut pcm);
        reference.extend_from_slice(&pcm);
    }
    // It really is a 30 ms stream (the case that used to play nothing).
    assert!(payload_bytes.iter().all(|&n| n == 240), "{payload_bytes:?}");
    let sent_ms = reference.len() as u32 / 8;

    // Replay at the recorded pace.
    let t0 = rtp_packets[0].0;
    let packets: Vec<Packet> = rtp_packets
        .iter()
        .map(|(at, d)| Packet {
            send_at_ms: (at - t0) / 1000,
            datagram: d.clone(),
        })
        .collect();
    let played = play_through_session(CodecKind::Pcma, 8, &packets, &|_| false, 300);

    // All of it was played, in time.
    let audio = played.count(FrameStatus::Audio);
    assert!(
        audio.abs_diff(sent_ms as usize / 20) <= 2,
        "{audio} frames of audio for {sent_ms} ms sent"
    );
    assert_eq!(played.concealed_inside(), 0, "{:?}", played.statuses);

    // Same level, window by window, wherever the recording is not near silence.
    let ours = window_levels(
        played.samples_after_first_sound(reference.len() * 6),
        WINDOW,
    );
    let theirs = window_levels(&reference, WINDOW / 6);
    assert_eq!(ours.len(), theirs.len());
    let mut compared = 0;
    for (i, (o, t)) in ours.iter().zip(&theirs).enumerate() {
        if *t > -40.0 {
            compared += 1;
            assert!(
                (o - t).abs() <= 3.0,
                "window {i}: played {o:.1} dBFS, pcap {t:.1} dBFS\nplayed: {ours:?}\npcap:   {theirs:?}"
            );
        }
    }
    assert!(
        compared >= theirs.len() / 2,
        "only {compared} of {} windows above -40 dBFS",
        theirs.len()
    );
}
