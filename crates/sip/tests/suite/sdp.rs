//! SDP parsing (real bodies from baresip and sipp) and offer/answer.

use agentphone_sip::message;
use agentphone_sip::sdp::{accept_answer, answer, Direction, Sdp};
use std::net::IpAddr;

fn body_of(sample: &str) -> String {
    let path = format!("{}/tests/data/{sample}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(path).expect("sample");
    let msg = message::parse(&bytes).expect("parses");
    String::from_utf8(msg.body().clone()).expect("utf8 body")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

#[test]
fn parses_baresip_offer() {
    let sdp = Sdp::parse(&body_of("baresip_invite.sip")).expect("parses");
    assert_eq!(sdp.address, ip("192.0.2.2"));
    assert_eq!(sdp.port, 3120);
    assert_eq!(sdp.session_id, 386896218);
    let names: Vec<_> = sdp
        .formats
        .iter()
        .map(|f| (f.pt, f.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (0, "PCMU"),
            (8, "PCMA"),
            (96, "opus"),
            (101, "telephone-event")
        ]
    );
    assert_eq!(sdp.formats[2].channels, 2);
    assert_eq!(
        sdp.formats[2].fmtp.as_deref(),
        Some("stereo=1;sprop-stereo=1")
    );
    assert_eq!(sdp.direction, Direction::SendRecv);
    assert_eq!(sdp.ptime, Some(20));
    assert!(!sdp.rtcp_mux);
}

#[test]
fn parses_sipp_offer_with_lf_only() {
    let body = body_of("sipp_uac_invite.sip");
    let lf = body.replace("\r\n", "\n");
    for text in [body.as_str(), lf.as_str()] {
        let sdp = Sdp::parse(text).expect("parses");
        assert_eq!(sdp.port, 6000);
        assert_eq!(sdp.formats.len(), 1);
        assert_eq!(sdp.formats[0].name, "PCMU");
        assert_eq!(sdp.formats[0].clock, 8000);
    }
}

#[test]
fn our_offer_round_trips_and_matches_the_protocol() {
    let offer = Sdp::offer(ip("10.0.0.5"), 40000, 42, Direction::SendRecv);
    let text = offer.to_string();
    assert!(
        text.contains("m=audio 40000 RTP/AVP 111 0 8 101 100\r\n"),
        "{text}"
    );
    assert!(text.contains("a=rtpmap:111 opus/48000/2\r\n"));
    assert!(text.contains("a=fmtp:111 useinbandfec=1;maxaveragebitrate=64000"));
    assert!(text.contains("a=rtpmap:101 telephone-event/48000\r\na=fmtp:101 0-15\r\n"));
    assert!(text.contains("a=rtpmap:100 telephone-event/8000\r\na=fmtp:100 0-15\r\n"));
    assert!(
        text.contains("a=rtcp-mux\r\n")
            && text.contains("a=sendrecv\r\n")
            && text.contains("a=ptime:20\r\n")
    );
    let again = Sdp::parse(&text).expect("re-parses");
    assert_eq!(again.formats, offer.formats);
    assert_eq!(again.port, 40000);
    assert!(again.rtcp_mux);
}

#[test]
fn answering_baresip_picks_its_first_supported_codec() {
    let offer = Sdp::parse(&body_of("baresip_invite.sip")).expect("parses");
    let n = answer(&offer, ip("10.0.0.1"), 5000, 7, Direction::SendRecv).expect("answer");
    assert_eq!(n.codec.name, "PCMU");
    assert_eq!(
        n.telephone_event.as_ref().map(|t| (t.pt, t.clock)),
        Some((101, 8000))
    );
    assert_eq!(n.remote_addr, "192.0.2.2:3120".parse().expect("addr"));
    let text = n.answer.to_string();
    assert!(text.contains("m=audio 5000 RTP/AVP 0 101\r\n"), "{text}");
    assert!(!text.contains("rtcp-mux"), "not offered, not answered");
}

#[test]
fn answering_our_offer_picks_opus_and_mirrors_hold() {
    let offer = Sdp::offer(ip("10.0.0.5"), 40000, 1, Direction::SendOnly);
    let n = answer(&offer, ip("10.0.0.1"), 5000, 2, Direction::SendRecv).expect("answer");
    assert_eq!((n.codec.pt, n.codec.name.as_str()), (111, "opus"));
    assert_eq!(n.answer.direction, Direction::RecvOnly);
    assert_eq!(n.remote_direction, Direction::SendOnly);
    assert!(n.answer.rtcp_mux);
    let inactive = answer(&offer, ip("10.0.0.1"), 5000, 2, Direction::SendOnly).expect("answer");
    assert_eq!(inactive.answer.direction, Direction::Inactive);

    let accepted = accept_answer(&offer, &n.answer).expect("accept");
    assert_eq!(accepted.codec.name, "opus");
    assert_eq!(accepted.remote_addr, "10.0.0.1:5000".parse().expect("addr"));
    assert_eq!(accepted.telephone_event.map(|t| t.pt), Some(101));
}

#[test]
fn no_common_codec_and_garbage_are_errors() {
    let g729 = "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\n";
    let offer = Sdp::parse(g729).expect("parses");
    assert!(answer(&offer, ip("1.1.1.1"), 1, 1, Direction::SendRecv).is_err());
    let rejected = g729.replace("4000 RTP/AVP 18", "0 RTP/AVP 0");
    let offer = Sdp::parse(&rejected).expect("parses");
    assert!(answer(&offer, ip("1.1.1.1"), 1, 1, Direction::SendRecv).is_err());
    for bad in [
        "",
        "garbage",
        "v=0\r\nm=video 4000 RTP/AVP 96\r\nc=IN IP4 1.2.3.4\r\n",
        "v=0\r\nm=audio 4000 RTP/AVP 0\r\n",
        "v=0\r\nc=IN IP4 host.example\r\nm=audio 4000 RTP/AVP 0\r\n",
        "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 99999 RTP/AVP 0\r\n",
        "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 4000 RTP/AVP 300\r\n",
    ] {
        assert!(Sdp::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn media_level_connection_and_direction_override_session_level() {
    let text = "v=0\no=- 5 6 IN IP4 1.1.1.1\ns=-\nc=IN IP4 1.1.1.1\na=recvonly\nt=0 0\nx-unknown=1\nm=audio 4000 RTP/AVP 8\nc=IN IP4 2.2.2.2\na=sendonly\na=weird:thing\nm=audio 5000 RTP/AVP 0\nc=IN IP4 3.3.3.3\n";
    let sdp = Sdp::parse(text).expect("parses");
    assert_eq!(sdp.address, ip("2.2.2.2"));
    assert_eq!(sdp.port, 4000);
    assert_eq!(sdp.direction, Direction::SendOnly);
    assert_eq!((sdp.session_id, sdp.version), (5, 6));
    let session_dir = "v=0\nc=IN IP4 1.1.1.1\na=recvonly\nm=audio 4000 RTP/AVP 8\n";
    assert_eq!(
        Sdp::parse(session_dir).expect("parses").direction,
        Direction::RecvOnly
    );
}

#[test]
fn other_media_sections_do_not_leak_into_audio() {
    let text = "v=0\r\no=- 1 1 IN IP4 9.9.9.9\r\ns=-\r\nt=0 0\r\nm=video 5002 RTP/AVP 96\r\nc=IN IP4 8.8.8.8\r\na=sendonly\r\na=rtcp-mux\r\nm=audio 5000 RTP/AVP 0\r\nc=IN IP4 7.7.7.7\r\n";
    let sdp = Sdp::parse(text).expect("parses");
    assert_eq!(sdp.address, ip("7.7.7.7"));
    assert_eq!(sdp.direction, Direction::SendRecv);
    assert!(!sdp.rtcp_mux);
    let without_audio_c = text.replace("c=IN IP4 7.7.7.7\r\n", "");
    assert!(
        Sdp::parse(&without_audio_c).is_err(),
        "the video c= line is not the session's"
    );
}

#[test]
fn mutated_bodies_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(17);
    let bodies = [
        body_of("baresip_invite.sip"),
        body_of("sipp_uac_invite.sip"),
        Sdp::offer(ip("1.2.3.4"), 4000, 1, Direction::SendRecv).to_string(),
    ];
    let alphabet: Vec<char> = " =:/\r\n0123456789amcoIP4é".chars().collect();
    for _ in 0..5000 {
        let mut chars: Vec<char> = bodies[rng.gen_range(0..bodies.len())].chars().collect();
        for _ in 0..rng.gen_range(1..6) {
            let pos = rng.gen_range(0..chars.len());
            match rng.gen_range(0..3) {
                0 => chars[pos] = alphabet[rng.gen_range(0..alphabet.len())],
                1 => chars.truncate(pos),
                _ => chars.insert(pos, alphabet[rng.gen_range(0..alphabet.len())]),
            }
            if chars.is_empty() {
                break;
            }
        }
        let text: String = chars.into_iter().collect();
        if let Ok(sdp) = Sdp::parse(&text) {
            let _ = answer(&sdp, ip("1.1.1.1"), 1, 1, Direction::SendRecv);
            assert!(
                Sdp::parse(&sdp.to_string()).is_ok(),
                "what we write must parse"
            );
        }
    }
}

#[test]
fn accepts_baresip_answer_to_an_offer() {
    let offer = Sdp::parse(&body_of("sipp_uac_invite.sip")).expect("offer");
    let answer_sdp = Sdp::parse(&body_of("baresip_200_answer.sip")).expect("answer");
    let n = accept_answer(&offer, &answer_sdp).expect("accepted");
    assert_eq!(n.codec.name, "PCMU");
    assert_eq!(n.remote_addr, "192.0.2.2:14948".parse().expect("addr"));
    assert!(n.telephone_event.is_none());
}

/// An offer's audio section over a fixed session part.
fn offer_text(m_line: &str, attributes: &[&str]) -> String {
    let mut text = format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio {m_line}\r\n"
    );
    for a in attributes {
        text.push_str(&format!("a={a}\r\n"));
    }
    text
}

/// RFC 4733 §2.1: the telephone-event negotiated is the one at the chosen codec's clock, and
/// only that one is answered.
#[test]
fn telephone_event_follows_the_codec_clock() {
    let baresip_both = [
        "rtpmap:96 opus/48000/2",
        "fmtp:96 stereo=1;sprop-stereo=1",
        "rtpmap:0 PCMU/8000",
        "rtpmap:8 PCMA/8000",
        "rtpmap:101 telephone-event/48000",
        "fmtp:101 0-15",
        "rtpmap:102 telephone-event/8000",
        "fmtp:102 0-15",
        "ptime:20",
    ];
    let ours = Sdp::offer(ip("10.0.0.5"), 40000, 1, Direction::SendRecv).to_string();
    let ours_g711_only = ours.replace("RTP/AVP 111 0 8 101 100", "RTP/AVP 8 0 101 100");
    let sipp = offer_text(
        "6000 RTP/AVP 8 101",
        &[
            "rtpmap:8 PCMA/8000",
            "rtpmap:101 telephone-event/8000",
            "fmtp:101 0-11,16",
        ],
    );
    // (what, offer, codec chosen, telephone-event chosen as (pt, clock))
    type Case<'a> = (&'a str, String, &'a str, Option<(u8, u32)>);
    let table: Vec<Case> = vec![
        (
            "baresip, Opus first, both clocks",
            offer_text("3120 RTP/AVP 96 0 8 101 102", &baresip_both),
            "opus",
            Some((101, 48_000)),
        ),
        (
            "baresip, PCMU first, both clocks",
            offer_text("3120 RTP/AVP 0 8 96 102 101", &baresip_both),
            "PCMU",
            Some((102, 8000)),
        ),
        (
            "sipp, PCMA + 101/8000",
            sipp.clone(),
            "PCMA",
            Some((101, 8000)),
        ),
        (
            "Opus with only an 8 kHz telephone-event",
            offer_text(
                "4000 RTP/AVP 96 101",
                &["rtpmap:96 opus/48000/2", "rtpmap:101 telephone-event/8000"],
            ),
            "opus",
            None,
        ),
        (
            "ours, both clocks",
            ours.clone(),
            "opus",
            Some((101, 48_000)),
        ),
        (
            "ours, G.711 first",
            ours_g711_only,
            "PCMA",
            Some((100, 8000)),
        ),
        (
            "no telephone-event",
            offer_text("4000 RTP/AVP 0", &["rtpmap:0 PCMU/8000"]),
            "PCMU",
            None,
        ),
    ];
    for (what, text, codec, te) in table {
        let offer = Sdp::parse(&text).expect(what);
        let n = answer(&offer, ip("10.0.0.1"), 5000, 2, Direction::SendRecv).expect(what);
        assert_eq!(n.codec.name, codec, "{what}");
        let got = n.telephone_event.as_ref().map(|t| (t.pt, t.clock));
        assert_eq!(got, te, "{what}");
        // The answer carries exactly the codec and that telephone-event.
        let events: Vec<_> = n
            .answer
            .formats
            .iter()
            .filter(|f| f.name == "telephone-event")
            .map(|f| (f.pt, f.clock))
            .collect();
        assert_eq!(events, te.into_iter().collect::<Vec<_>>(), "{what}");
        assert_eq!(n.answer.formats.len(), 1 + events.len(), "{what}");
        // The offerer reading that answer agrees.
        let back = Sdp::parse(&n.answer.to_string()).expect(what);
        let accepted = accept_answer(&offer, &back).expect(what);
        assert_eq!(accepted.codec.name, codec, "{what}");
        assert_eq!(
            accepted.telephone_event.map(|t| (t.pt, t.clock)),
            te,
            "{what}: accepted"
        );
    }
}

/// Answers to our offer: whatever telephone-events the answerer lists, we take the one at
/// its codec's clock.
#[test]
fn accepting_answers_picks_the_telephone_event_at_the_codec_clock() {
    let offer = Sdp::offer(ip("10.0.0.5"), 40000, 1, Direction::SendRecv);
    let cases = [
        // (answer m-line and attributes, telephone-event expected)
        (
            offer_text(
                "7000 RTP/AVP 8 100",
                &["rtpmap:8 PCMA/8000", "rtpmap:100 telephone-event/8000"],
            ),
            Some((100, 8000)),
        ),
        (
            offer_text(
                "7000 RTP/AVP 111 101 100",
                &[
                    "rtpmap:111 opus/48000/2",
                    "rtpmap:101 telephone-event/48000",
                    "rtpmap:100 telephone-event/8000",
                ],
            ),
            Some((101, 48_000)),
        ),
        (
            // An answerer that pairs Opus with the 8 kHz event: no DTMF rather than wrong
            // durations.
            offer_text(
                "7000 RTP/AVP 111 100",
                &["rtpmap:111 opus/48000/2", "rtpmap:100 telephone-event/8000"],
            ),
            None,
        ),
    ];
    for (text, te) in &cases {
        let answer_sdp = Sdp::parse(text).expect("answer parses");
        let n = accept_answer(&offer, &answer_sdp).expect("accepted");
        assert_eq!(n.telephone_event.map(|t| (t.pt, t.clock)), *te, "{text}");
    }
    // An offer without any telephone-event gets none, whatever the answer says.
    let mut plain = offer.clone();
    plain.formats.retain(|f| f.name != "telephone-event");
    let answer_sdp = Sdp::parse(&cases[0].0).expect("answer parses");
    assert!(accept_answer(&plain, &answer_sdp)
        .expect("accepted")
        .telephone_event
        .is_none());
}

#[test]
fn crypto_lines_and_the_savp_profile_round_trip() {
    let text = offer_text(
        "4000 RTP/SAVP 0",
        &[
            "crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4",
            "crypto:2 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj",
        ],
    );
    let offer = Sdp::parse(&text).expect("parse");
    assert!(offer.requires_srtp());
    assert_eq!(offer.crypto.len(), 2);
    let c = offer.crypto_of("AES_CM_128_HMAC_SHA1_80").expect("80");
    assert_eq!(c.tag, 1);
    assert!(c.key_params.starts_with("inline:WVNf") && c.key_params.ends_with("|1:4"));
    assert!(offer.crypto_of("AES_256_CM_HMAC_SHA1_80").is_none());

    // An answer starts plain; the answerer adds its key under the offer's tag and profile.
    let mut neg =
        agentphone_sip::sdp::answer(&offer, ip("127.0.0.1"), 5000, 7, Direction::SendRecv)
            .expect("answer");
    assert!(!neg.answer.requires_srtp() && neg.answer.crypto.is_empty());
    neg.answer.set_crypto(
        Some(agentphone_sip::sdp::Crypto {
            tag: 1,
            suite: "AES_CM_128_HMAC_SHA1_80".into(),
            key_params: "inline:KEY".into(),
        }),
        &offer.profile,
    );
    let written = neg.answer.to_string();
    assert!(written.contains("m=audio 5000 RTP/SAVP 0"), "{written}");
    assert!(
        written.contains("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY\r\n"),
        "{written}"
    );
    let back = Sdp::parse(&written).expect("reparse");
    assert_eq!(back.crypto, neg.answer.crypto);
    neg.answer.set_crypto(None, "");
    assert!(neg.answer.to_string().contains("m=audio 5000 RTP/AVP 0"));
}
