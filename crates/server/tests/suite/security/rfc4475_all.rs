//! Issue 11 §8: every one of the 49 RFC 4475 §3 torture messages, sent over real UDP to the
//! server, answered as the RFC prefers — valid requests get a real answer (never 400), invalid
//! ones 400 (or the status the RFC names), responses that match nothing are dropped — and the
//! server still answers an OPTIONS after each. Messages are written here from the RFC's
//! descriptions, addressed to the test server (`{a}`) instead of the RFC's example hosts.

use std::net::SocketAddr;

use agentphone_testkit::server::TestServer;
use agentphone_testkit::torture;
use tokio::net::UdpSocket;

use super::rfc4475::{bext01, esc02, final_response, header, intmeth, mcl01, status};

/// What the RFC prefers for a message.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// A final response with one of these codes.
    Codes(&'static [u16]),
    /// A final response with this code carrying this header (the one the status calls for).
    CodeWith(u16, &'static str),
    /// A valid request: a final response that is neither 400 nor 500.
    Served,
    /// As `Served`, and the answer is for this CSeq method (the rest of the datagram ignored).
    ServedAs(&'static str),
    /// Nothing comes back (a response matching no transaction, or no way to answer).
    Silent,
}

/// A message: `head` lines, then a Content-Length counted from `body`, then `body`.
fn with_body(head: &[String], body: &str) -> String {
    let mut text = head.join("\r\n");
    text.push_str(&format!("\r\nContent-Length: {}\r\n\r\n{body}", body.len()));
    text
}

/// `head` lines joined and an empty body (Content-Length 0).
fn bare(head: &[String]) -> String {
    with_body(head, "")
}

/// Turn `&str` lines into owned lines.
fn lines(text: &[&str]) -> Vec<String> {
    text.iter().map(|l| (*l).to_string()).collect()
}

const SDP: &str =
    "v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\ns=-\r\nc=IN IP4 192.0.2.4\r\n\
t=0 0\r\nm=audio 49217 RTP/AVP 0 12\r\nm=video 3227 RTP/AVP 31\r\na=rtpmap:31 LPC\r\n";

/// §3.1.1 valid messages.
fn valid(a: &str, addr: SocketAddr) -> Vec<(&'static str, String, Want)> {
    let long = "amazinglylongvalue".repeat(30);
    let mut longreq = vec![
        format!("INVITE sip:user@{a} SIP/2.0"),
        format!(
            "To: \"I have a user name of {long} proportion\" <sip:user@{a};unknownparam={long}>"
        ),
        format!("From: sip:{long}@example.net;tag={long}"),
        format!("Call-ID: longreq.{long}"),
        "CSeq: 1 INVITE".into(),
        "Max-Forwards: 70".into(),
        format!("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK{long}"),
    ];
    for i in 0..15 {
        longreq.push(format!(
            "Via: SIP/2.0/TCP sip{i}.example.com;branch=z9hG4bK{i}{long}"
        ));
    }
    longreq.extend([
        format!("Contact: <sip:{long}@host5.example.net>"),
        format!("X-{long}: {long}"),
        "Content-Type: application/sdp".into(),
    ]);
    let register = |id: &str| {
        lines(&[
            &format!("REGISTER sip:{a} SIP/2.0"),
            &format!("To: sip:alice@{a}"),
            &format!("From: sip:alice@{a};tag={id}"),
            &format!("Call-ID: {id}.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf"),
            "CSeq: 2 REGISTER",
            &format!("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK{id}"),
            "Max-Forwards: 70",
            "Contact: <sip:alice@127.0.0.1>",
        ])
    };
    let dblreq_invite = bare(&lines(&[
        &format!("INVITE sip:joe@{a} SIP/2.0"),
        &format!("t: sip:joe@{a}"),
        "From: sip:caller@example.net;tag=141334",
        "Max-Forwards: 8",
        "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15",
        "CSeq: 8 INVITE",
        "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKkdjuw380234",
        "Content-Type: application/sdp",
    ]));
    let boundary = "----- =_aaaaaaaaaa0";
    let mpart_body = format!(
        "--{boundary}\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         first part\r\nIf the MESSAGE is parsed right, this is text.\r\n\
         --{boundary}\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\
         Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=smime.p7s;\r\n   handling=required\r\n\r\n\
         MIIBFQYJKoZIhvcNAQcCoIIBBjCCAQICAQExCTAHBgUrDgMCGjALBgkqhkiG9w0BBwExgeQw\r\n\
         --{boundary}--\r\n"
    );
    vec![
        ("wsinv", torture::wsinv(a, ["127.0.0.1", "127.0.0.2", "127.0.0.3"]), Want::Codes(&[481])),
        ("intmeth", intmeth(addr), Want::CodeWith(501, "Allow")),
        (
            "esc01",
            with_body(
                &lines(&[
                    &format!("INVITE sip:sips%3Auser%40example.com@{a} SIP/2.0"),
                    &format!("To: sip:%75se%72@{a}"),
                    "From: <sip:I%20have%20spaces@example.net>;tag=938",
                    "Max-Forwards: 87",
                    "i: esc01.239409asdfakjkn23onasd0-3234",
                    "CSeq: 234234 INVITE",
                    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKkdjuw-esc01",
                    "C: application/sdp",
                    "Contact:",
                    "  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>",
                ]),
                SDP,
            ),
            Want::Served,
        ),
        (
            "escnull",
            bare(&lines(&[
                &format!("REGISTER sip:{a} SIP/2.0"),
                &format!("To: sip:null-%00-null@{a}"),
                &format!("From: sip:null-%00-null@{a};tag=839923423"),
                "Max-Forwards: 70",
                "Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
                "CSeq: 14398234 REGISTER",
                "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKkdjuw-escnull",
                "Contact: <sip:%00@host5.example.com>",
                "Contact: <sip:%00%00@host5.example.com>",
                "L:0",
            ]))
            .replace("Content-Length: 0\r\n", ""),
            Want::Served,
        ),
        ("esc02", esc02(addr), Want::CodeWith(501, "Allow")),
        (
            "lwsdisp",
            bare(&lines(&[
                &format!("OPTIONS sip:user@{a} SIP/2.0"),
                &format!("To: sip:user@{a}"),
                "From: caller<sip:caller@example.com>;tag=323",
                "Max-Forwards: 70",
                "Call-ID: lwsdisp.1234abcd@funky.example.com",
                "CSeq: 60 OPTIONS",
                "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKkdjuw-lwsdisp",
            ])),
            Want::Codes(&[200]),
        ),
        ("longreq", with_body(&longreq, SDP), Want::Served),
        (
            "dblreq",
            format!("{}{dblreq_invite}", bare(&register("dblreq"))),
            Want::ServedAs("REGISTER"),
        ),
        ("semiuri", torture::semiuri(a, "127.0.0.1"), Want::Codes(&[200])),
        (
            "transports",
            bare(&lines(&[
                &format!("OPTIONS sip:user@{a} SIP/2.0"),
                &format!("To: sip:user@{a}"),
                "From: <sip:caller@example.com>;tag=323",
                "Max-Forwards: 70",
                "Call-ID: transports.kijh4akdnaqjkwendsasfdj",
                "Accept: application/sdp",
                "CSeq: 60 OPTIONS",
                "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKkdjuw-transports",
                "Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf",
                "Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj",
                "Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en",
                "Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee",
            ])),
            Want::Codes(&[200]),
        ),
        (
            "mpart01",
            with_body(
                &lines(&[
                    &format!("MESSAGE sip:kumiko@{a} SIP/2.0"),
                    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-mpart01",
                    "Max-Forwards: 70",
                    "From: \"Chris\" <sip:chris@example.com>;tag=2398kdls",
                    &format!("To: <sip:kumiko@{a}>"),
                    "Call-ID: mpart01.203n45sadf8fsdf@chris-pc.example.com",
                    "CSeq: 1 MESSAGE",
                    "MIME-Version: 1.0",
                    &format!(
                        "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha1; boundary=\"{boundary}\""
                    ),
                ]),
                &mpart_body,
            ),
            Want::Served,
        ),
        (
            "unreason",
            with_body(
                &lines(&[
                    "SIP/2.0 200 = 2**3 * 5**2 \u{43d}\u{43e} \u{441}\u{442}\u{43e} \u{434}\u{435}\u{432}\u{44f}\u{43d}\u{43e}\u{441}\u{442}\u{43e} \u{434}\u{435}\u{432}\u{44f}\u{442}\u{44c} - \u{43f}\u{440}\u{43e}\u{441}\u{442}\u{43e}\u{435}",
                    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK1324923",
                    "Call-ID: unreason.1234ksdfak3j2erwedfsASdf",
                    "CSeq: 35 INVITE",
                    "From: sip:user@example.com;tag=11141343",
                    "To: sip:user@example.edu;tag=2229",
                    "Content-Type: application/sdp",
                    "Contact: <sip:user@host198.example.com>",
                ]),
                SDP,
            ),
            Want::Silent,
        ),
        (
            "noreason",
            bare(&lines(&[
                "SIP/2.0 100 ",
                "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-noreason",
                "Call-ID: noreason.asndj203insdf99223ndf",
                "CSeq: 35 INVITE",
                "From: <sip:user@example.com>;tag=39ansfi3",
                "To: <sip:user@example.edu>;tag=902jndnke3",
                "Contact: <sip:user@host105.example.com>",
            ])),
            Want::Silent,
        ),
    ]
}

/// An INVITE to `nobody` with `extra` header lines and a counted SDP body.
fn invite(a: &str, id: &str, extra: &[&str]) -> Vec<String> {
    let mut head = lines(&[
        &format!("INVITE sip:nobody@{a} SIP/2.0"),
        &format!("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-{id}"),
        "Max-Forwards: 70",
        "From: sip:caller@example.net;tag=3415132",
        &format!("To: sip:nobody@{a}"),
        &format!("Call-ID: {id}.2398kdjf923@example.net"),
        "CSeq: 1 INVITE",
        "Contact: <sip:caller@127.0.0.1>",
    ]);
    head.extend(extra.iter().map(|l| (*l).to_string()));
    head
}

/// An OPTIONS built from `first` (request line) and `headers`.
fn options(first: &str, headers: &[&str]) -> String {
    let mut head = vec![first.to_string()];
    head.extend(headers.iter().map(|l| (*l).to_string()));
    bare(&head)
}

/// §3.1.2 invalid messages.
fn invalid(a: &str) -> Vec<(&'static str, String, Want)> {
    let std_opts = |id: &str| {
        vec![
            format!("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-{id}"),
            "Max-Forwards: 70".to_string(),
            "From: sip:caller@example.net;tag=134161461246".to_string(),
            format!("To: sip:user@{a}"),
            format!("Call-ID: {id}.8865ijnaqhksdfasdf"),
            "CSeq: 8 OPTIONS".to_string(),
        ]
    };
    let opt = |first: String, id: &str| {
        let mut head = vec![first];
        head.extend(std_opts(id));
        bare(&head)
    };
    let sdp_invite = |id: &str, extra: &[&str]| {
        let mut head = invite(a, id, extra);
        head.push("Content-Type: application/sdp".into());
        with_body(&head, SDP)
    };
    vec![
        (
            "badinv01",
            with_body(
                &lines(&[
                    &format!("INVITE sip:user@{a} SIP/2.0"),
                    &format!("To: sip:j.user@{a}"),
                    "From: sip:caller@example.net;tag=134161461246",
                    "Max-Forwards: 7",
                    "Call-ID: badinv01.0ha0isndaksdjasdf3234nas",
                    "CSeq: 8 INVITE",
                    "Via: SIP/2.0/UDP 127.0.0.1;;,;,,",
                    "Contact: \"Joe\" <sip:joe@example.org>;;,,;;,;",
                    "Content-Type: application/sdp",
                ]),
                SDP,
            ),
            Want::Codes(&[400]),
        ),
        (
            "clerr",
            {
                let mut head = invite(a, "clerr", &["Content-Type: application/sdp"]);
                head.push("Content-Length: 9999".into());
                format!("{}\r\n\r\n{SDP}", head.join("\r\n"))
            },
            Want::Codes(&[400]),
        ),
        (
            "scalar02",
            {
                let mut head = invite(a, "scalar02", &["Content-Type: application/sdp"]);
                head.push("Content-Length: -999".into());
                format!("{}\r\n\r\n{SDP}", head.join("\r\n"))
            },
            Want::Codes(&[400]),
        ),
        (
            "scalarlg",
            bare(&lines(&[
                &format!("REGISTER sip:{a} SIP/2.0"),
                "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKkdjuw-scalarlg",
                "Max-Forwards: 300",
                &format!("From: sip:alice@{a};tag=239232jh3"),
                &format!("To: sip:alice@{a}"),
                "Call-ID: scalarlg.39203ndfvkjdasfkq3w4otrq0adsfdfnavd",
                "CSeq: 36893488147419103232 REGISTER",
                "Contact: <sip:alice@127.0.0.1>;expires=280297596632815",
                "Expires: 1020202020202020202020202020",
            ])),
            Want::Codes(&[400]),
        ),
        (
            "scalarlg-response",
            bare(&lines(&[
                "SIP/2.0 503 Service Unavailable",
                "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKzzxdiwo34sw",
                "To: <sip:user@example.com>;tag=2348",
                "From: <sip:caller@example.net>;tag=zzzz",
                "Call-ID: scalarlg.resp.2309adf3ndsvnkasdf",
                "CSeq: 1 OPTIONS",
                "Retry-After: 949302838503028349304023988",
                "Warning: 1812 overture \"In Progress\"",
            ])),
            Want::Silent,
        ),
        (
            "quotbal",
            sdp_invite("quotbal", &["To: \"Mr. J. User <sip:j.user@example.com>"]).replacen(
                &format!("To: sip:nobody@{a}\r\n"),
                "",
                1,
            ),
            Want::Codes(&[400]),
        ),
        (
            "ltgtruri",
            sdp_invite("ltgtruri", &[]).replacen(
                &format!("INVITE sip:nobody@{a} SIP/2.0"),
                &format!("INVITE <sip:nobody@{a}> SIP/2.0"),
                1,
            ),
            Want::Codes(&[400]),
        ),
        (
            "lwsruri",
            sdp_invite("lwsruri", &[]).replacen(
                &format!("INVITE sip:nobody@{a} SIP/2.0"),
                &format!("INVITE sip:nobody@{a}; lr SIP/2.0"),
                1,
            ),
            Want::Codes(&[400]),
        ),
        (
            "lwsstart",
            sdp_invite("lwsstart", &[]).replacen(
                &format!("INVITE sip:nobody@{a} SIP/2.0"),
                &format!("INVITE  sip:nobody@{a}  SIP/2.0"),
                1,
            ),
            Want::Codes(&[400]),
        ),
        (
            "trws",
            opt(format!("OPTIONS sip:remote-target@{a} SIP/2.0  "), "trws"),
            Want::Codes(&[400]),
        ),
        (
            "escruri",
            sdp_invite("escruri", &[]).replacen(
                &format!("INVITE sip:nobody@{a} SIP/2.0"),
                &format!("INVITE sip:nobody@{a}?Route=%3Csip:example.com%3E SIP/2.0"),
                1,
            ),
            Want::Codes(&[400]),
        ),
        (
            // §3.1.2.12: reject only when the Date matters to the element; it never does here.
            "baddate",
            sdp_invite("baddate", &["Date: Fri, 01 Jan 2010 16:00:00 EST"]),
            Want::Served,
        ),
        (
            "regbadct",
            bare(&lines(&[
                &format!("REGISTER sip:{a} SIP/2.0"),
                &format!("To: sip:alice@{a}"),
                &format!("From: sip:alice@{a};tag=998332"),
                "Max-Forwards: 70",
                "Call-ID: regbadct.k345asrl3fdbv@10.0.0.1",
                "CSeq: 1 REGISTER",
                "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKregbadct",
                "Contact: sip:alice@127.0.0.1?Route=%3Csip:sip.example.com%3E",
            ])),
            Want::Codes(&[400]),
        ),
        (
            "badaor",
            options(
                &format!("OPTIONS sip:t.watson@{a} SIP/2.0"),
                &[
                    "Via:     SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-badaor",
                    "Max-Forwards:     70",
                    "From:    \"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423",
                    &format!("To: \"Watson, Thomas\" < sip:t.watson@{a} >"),
                    "Call-ID: badaor.31415@c.example.com",
                    "CSeq: 3 OPTIONS",
                ],
            ),
            Want::Codes(&[400]),
        ),
        (
            "baddn",
            options(
                &format!("OPTIONS sip:t.watson@{a} SIP/2.0"),
                &[
                    "Via:     SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-baddn",
                    "Max-Forwards:     70",
                    "From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
                    &format!("To:      Watson, Thomas <sip:t.watson@{a}>"),
                    "Call-ID: baddn.31415@c.example.com",
                    "CSeq:    3923239 OPTIONS",
                ],
            ),
            Want::Codes(&[400]),
        ),
        (
            "badvers",
            opt(format!("OPTIONS sip:t.watson@{a} SIP/7.0"), "badvers"),
            Want::Codes(&[505]),
        ),
        (
            "mismatch01",
            opt(format!("OPTIONS sip:user@{a} SIP/2.0"), "mismatch01")
                .replace("CSeq: 8 OPTIONS", "CSeq: 8 INVITE"),
            Want::Codes(&[400]),
        ),
        (
            "mismatch02",
            opt(format!("NEWMETHOD sip:user@{a} SIP/2.0"), "mismatch02")
                .replace("CSeq: 8 OPTIONS", "CSeq: 8 INVITE"),
            // §3.1.2.16: 400 is acceptable, 501 better.
            Want::CodeWith(501, "Allow"),
        ),
        (
            "bigcode",
            bare(&lines(&[
                "SIP/2.0 4294967301 better not break the receiver",
                "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-bigcode",
                "Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3",
                "CSeq: 3923239 OPTIONS",
                "From: <sip:user@example.edu>;tag=39ansfi3",
                "To: <sip:user@example.com>;tag=902jndnke3",
            ])),
            Want::Silent,
        ),
    ]
}

/// §3.2 transaction layer, §3.3 application layer and §3.4 backward compatibility.
fn semantics(a: &str, addr: SocketAddr) -> Vec<(&'static str, String, Want)> {
    let register = |id: &str, contact: &str, extra: &[&str]| {
        let mut head = lines(&[
            &format!("REGISTER sip:{a} SIP/2.0"),
            &format!("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-{id}"),
            "Max-Forwards: 70",
            &format!("From: sip:alice@{a};tag=2321{id}"),
            &format!("To: sip:alice@{a}"),
            &format!("Call-ID: {id}.sdf0234n2nds0a099u23h3hnnw009cdkne3"),
            "CSeq: 3298 REGISTER",
            contact,
        ]);
        head.extend(extra.iter().map(|l| (*l).to_string()));
        bare(&head)
    };
    let sdp_invite = |id: &str, extra: &[&str]| {
        let mut head = invite(a, id, extra);
        if !extra.iter().any(|l| l.starts_with("Content-Type")) {
            head.push("Content-Type: application/sdp".into());
        }
        with_body(&head, SDP)
    };
    vec![
        (
            "badbranch",
            options(
                &format!("OPTIONS sip:user@{a} SIP/2.0"),
                &[
                    &format!("To: sip:user@{a}"),
                    "From: sip:caller@example.org;tag=33242",
                    "Max-Forwards: 3",
                    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK",
                    "Accept: application/sdp",
                    "Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n",
                    "CSeq: 8 OPTIONS",
                ],
            ),
            Want::Codes(&[200, 400]),
        ),
        (
            "insuf",
            with_body(
                &lines(&[
                    &format!("INVITE sip:user@{a} SIP/2.0"),
                    "CSeq: 193942 INVITE",
                    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKkdj.insuf",
                    "Content-Type: application/sdp",
                ]),
                SDP,
            ),
            Want::Codes(&[400]),
        ),
        (
            "unkscm",
            opt_scheme("nobodyKnowsThisScheme:totallyopaquecontent", "unkscm", a),
            Want::Codes(&[416]),
        ),
        (
            "novelsc",
            opt_scheme("soap.beep://192.0.2.103:3002", "novelsc", a),
            Want::Codes(&[416]),
        ),
        (
            "unksm2",
            bare(&lines(&[
                &format!("REGISTER sip:{a} SIP/2.0"),
                "To: isbn:2983792873",
                "From: <http://www.example.com>;tag=3234233",
                "Call-ID: unksm2.daksdj@hyphenated-host.example.com",
                "CSeq: 234902 REGISTER",
                "Max-Forwards: 70",
                "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKkdjuw-unksm2",
                "Contact: <name:John_Smith>",
            ])),
            // §3.3.6: a registrar answers 400 (the AOR must be a SIP or SIPS URI).
            Want::Codes(&[400]),
        ),
        (
            "bext01",
            bext01(addr, "OPTIONS"),
            Want::CodeWith(420, "Unsupported"),
        ),
        (
            // To the inbound address, which takes calls without credentials (RFC 3261 §8.2
            // authenticates first: to `nobody` this is a 401).
            "invut",
            with_body(
                &invite(a, "invut", &["Content-Type: application/unknownformat"]),
                "<audio>\r\n <pcmu port=\"443\"/>\r\n</audio>\r\n",
            )
            .replace("sip:nobody@", "sip:support@"),
            Want::CodeWith(415, "Accept"),
        ),
        (
            "regaut01",
            register(
                "regaut01",
                "Contact: <sip:alice@127.0.0.1>",
                &["Authorization: NoOneKnowsThisScheme opaque-data=here"],
            ),
            Want::CodeWith(401, "WWW-Authenticate"),
        ),
        (
            "multi01",
            sdp_invite(
                "multi01",
                &[
                    "Max-Forwards: 70",
                    "Call-ID: multi01.98asdh@192.0.2.2",
                    "From: sip:caller@example.com;tag=3413415",
                    &format!("To: sip:user@{a}"),
                ],
            ),
            Want::Codes(&[400]),
        ),
        ("mcl01", mcl01(addr, "UDP"), Want::Codes(&[400])),
        (
            "bcast",
            bare(&lines(&[
                "SIP/2.0 200 OK",
                "Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923",
                "Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23",
                "Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf",
                "CSeq: 35 INVITE",
                "From: sip:user@example.com;tag=11141343",
                "To: sip:user@example.edu;tag=2229",
                "Contact: <sip:user@host28.example.com>",
            ])),
            Want::Silent,
        ),
        (
            "zeromf",
            options(
                &format!("OPTIONS sip:user@{a} SIP/2.0"),
                &[
                    "Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-zeromf",
                    "Max-Forwards: 0",
                    "From: sip:caller@example.net;tag=3ghdkfd3",
                    &format!("To: sip:user@{a}"),
                    "Call-ID: zeromf.0234nd02nklsdf",
                    "CSeq: 2 OPTIONS",
                ],
            ),
            Want::Codes(&[200, 483]),
        ),
        (
            "cparam01",
            register(
                "cparam01",
                "Contact: sip:+19725552222@127.0.0.1;unknownparam",
                &[],
            ),
            Want::Codes(&[401]),
        ),
        (
            "cparam02",
            register(
                "cparam02",
                "Contact: <sip:+19725552222@127.0.0.1;unknownparam>",
                &[],
            ),
            Want::Codes(&[401]),
        ),
        (
            "regescrt",
            register(
                "regescrt",
                "Contact: <sip:alice@127.0.0.1?Route=%3Csip:sip.example.com%3E>",
                &[],
            ),
            Want::Codes(&[401, 403]),
        ),
        (
            // To the inbound address, as `invut`.
            "sdp01",
            sdp_invite("sdp01", &["Accept: text/nobodyKnowsThis"])
                .replace("sip:nobody@", "sip:support@"),
            Want::CodeWith(406, "Warning"),
        ),
        (
            "inv2543",
            with_body(
                &lines(&[
                    &format!("INVITE sip:UserB@{a} SIP/2.0"),
                    "Via: SIP/2.0/UDP 127.0.0.1",
                    "From: <sip:UserA@example.com>",
                    &format!("To: <sip:UserB@{a}>"),
                    "Call-ID: inv2543.0ha0isndaksdj@10.0.0.1",
                    "CSeq: 1 INVITE",
                    "Max-Forwards: 70",
                    "Contact: <sip:UserA@127.0.0.1>",
                    "Content-Type: application/sdp",
                ]),
                SDP,
            ),
            Want::Served,
        ),
    ]
}

/// An OPTIONS whose Request-URI has an unusual scheme.
fn opt_scheme(uri: &str, id: &str, a: &str) -> String {
    options(
        &format!("OPTIONS {uri} SIP/2.0"),
        &[
            &format!("To: sip:user@{a}"),
            "From: sip:caller@example.net;tag=384",
            "Max-Forwards: 3",
            &format!("Call-ID: {id}.nasdfasser0q239nwsdfasdkl34"),
            "CSeq: 3923423 OPTIONS",
            &format!("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKkdjuw39234{id}"),
        ],
    )
}

/// Whether `got` is what `want` asks for.
fn answered_as_preferred(want: Want, got: Option<&str>) -> bool {
    match (want, got) {
        (Want::Silent, got) => got.is_none(),
        (_, None) => false,
        (Want::Codes(codes), Some(text)) => codes.contains(&status(text)),
        (Want::CodeWith(code, name), Some(text)) => {
            status(text) == code && header(text, name).is_some()
        }
        (Want::Served, Some(text)) => !matches!(status(text), 400 | 500),
        (Want::ServedAs(method), Some(text)) => {
            !matches!(status(text), 400 | 500)
                && header(text, "CSeq").is_some_and(|c| c.ends_with(method))
        }
    }
}

/// Send `text` from a fresh socket; the first final response within `ms`.
async fn exchange(server: SocketAddr, text: &str, ms: u64) -> Option<String> {
    let sock = UdpSocket::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sock.send_to(text.as_bytes(), server)
        .await
        .unwrap_or_else(|e| panic!("send: {e}"));
    final_response(&sock, ms).await
}

#[tokio::test]
async fn all_49_torture_messages_are_answered_as_the_rfc_prefers() {
    let server = TestServer::start("").await;
    let addr = server.addr();
    let a = addr.to_string();
    let mut rows = valid(&a, addr);
    rows.extend(invalid(&a));
    rows.extend(semantics(&a, addr));
    assert_eq!(rows.len(), 49, "RFC 4475 §3 has 49 messages");

    let mut failing = Vec::new();
    for (i, (name, text, want)) in rows.iter().enumerate() {
        let wait = if matches!(want, Want::Silent) {
            700
        } else {
            2000
        };
        let got = exchange(addr, text, wait).await;
        let first = got
            .as_deref()
            .and_then(|t| t.lines().next())
            .unwrap_or("nothing");
        if answered_as_preferred(*want, got.as_deref()) {
            eprintln!("{name}: {first}");
        } else {
            eprintln!("{name}: want {want:?}, got {got:?}");
            failing.push(*name);
        }
        // The server is still alive.
        let ping = options(
            &format!("OPTIONS sip:{a} SIP/2.0"),
            &[
                &format!("Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-alive{i}"),
                "Max-Forwards: 70",
                "From: <sip:tester@127.0.0.1>;tag=alive",
                &format!("To: <sip:{a}>"),
                &format!("Call-ID: alive-{i}@test"),
                "CSeq: 1 OPTIONS",
            ],
        );
        let pong = exchange(addr, &ping, 2000).await;
        assert_eq!(pong.as_deref().map(status), Some(200), "dead after {name}");
    }
    assert!(
        failing.is_empty(),
        "rows answered otherwise than the RFC prefers: {failing:?}"
    );
}
