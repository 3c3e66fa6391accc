//! A response read without building an rsip message: its status code and the fields that match
//! it to a client transaction (top Via branch, CSeq method, Call-ID for the shard), borrowed from
//! the datagram. Used for the responses to tagged client transactions, whose sender only learns
//! the status code (the 200s to the directory's NOTIFYs: one per subscriber per change). Only
//! the plain form is read — CRLF line ends, no folding, one Via value per line, the mandatory
//! headers present once — anything else returns `None` and takes the full parser.

use super::compact::expand_name;
use super::lite::header_param;

/// What matches a response to its client transaction.
#[derive(Debug, PartialEq, Eq)]
pub struct LiteResponse<'a> {
    /// Status code (100–699).
    pub code: u16,
    /// The top Via's branch.
    pub branch: &'a str,
    /// The CSeq method.
    pub method: rsip::Method,
    /// Call-ID value.
    pub call_id: &'a str,
}

impl<'a> LiteResponse<'a> {
    /// Read a plain response's head; None for a request or anything not plain.
    pub fn parse(bytes: &'a [u8]) -> Option<LiteResponse<'a>> {
        if !bytes.starts_with(b"SIP/2.0 ") {
            return None;
        }
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(bytes.get(..end)?).ok()?;
        if head.contains(['\t', '[']) {
            return None; // LWS tabs, IPv6 references: the full parser's business
        }
        let mut lines = head.split("\r\n");
        let code = status_code(lines.next()?)?;
        let mut fields = Fields::default();
        for line in lines {
            if line.is_empty() || line.starts_with(' ') || line.contains('\n') {
                return None;
            }
            let (name, value) = line.split_once(':')?;
            fields.add(expand_name(name.trim_end()), value.trim())?;
        }
        fields.finish(code)
    }
}

/// `SIP/2.0 <3 digits> <reason>`.
fn status_code(line: &str) -> Option<u16> {
    let rest = line.strip_prefix("SIP/2.0 ")?;
    let digits = rest.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !matches!(rest.get(3..4), None | Some(" ")) {
        return None;
    }
    digits.parse().ok().filter(|c| (100..700).contains(c))
}

#[derive(Default)]
struct Fields<'a> {
    top_via: Option<&'a str>,
    call_id: Option<&'a str>,
    cseq: Option<&'a str>,
    from: bool,
    to: bool,
}

impl<'a> Fields<'a> {
    fn add(&mut self, name: &str, value: &'a str) -> Option<()> {
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        let once = |slot: &mut Option<&'a str>| slot.replace(value).is_none().then_some(());
        if is("Via") {
            if value.contains(',') {
                return None;
            }
            self.top_via.get_or_insert(value);
            Some(())
        } else if is("Call-ID") {
            once(&mut self.call_id)
        } else if is("CSeq") {
            once(&mut self.cseq)
        } else if is("From") {
            (!std::mem::replace(&mut self.from, true)).then_some(())
        } else if is("To") {
            (!std::mem::replace(&mut self.to, true)).then_some(())
        } else {
            Some(())
        }
    }

    fn finish(self, code: u16) -> Option<LiteResponse<'a>> {
        if !(self.from && self.to) {
            return None;
        }
        let call_id = self.call_id.filter(|c| !c.is_empty() && !c.contains(' '))?;
        let (seq, method) = self.cseq?.split_once(' ')?;
        seq.parse::<u32>().ok()?;
        let method = method.trim().parse::<rsip::Method>().ok()?;
        let branch = header_param(self.top_via?, "branch").filter(|b| !b.is_empty())?;
        Some(LiteResponse {
            code,
            branch,
            method,
            call_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-s1-abc;rport=5060;received=127.0.0.1\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-other\r\nFrom: <sip:dir@127.0.0.1>;tag=a\r\nTo: <sip:bob@127.0.0.1>;tag=b\r\nCall-ID: sub-1@127.0.0.1\r\nCSeq: 12 NOTIFY\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn reads_what_matches_a_transaction() {
        let want = LiteResponse {
            code: 200,
            branch: "z9hG4bK-s1-abc",
            method: rsip::Method::Notify,
            call_id: "sub-1@127.0.0.1",
        };
        assert_eq!(LiteResponse::parse(OK.as_bytes()), Some(want));
        // Compact names, another order, a body.
        let compact = "SIP/2.0 481 Subscription does not exist\r\ni: c-2\r\nv: SIP/2.0/UDP h;branch=z9hG4bK-2\r\nf: <sip:a@h>;tag=1\r\nt: <sip:b@h>\r\nCSeq: 3 OPTIONS\r\nl: 2\r\n\r\n{}";
        let got = LiteResponse::parse(compact.as_bytes()).expect("lite");
        assert_eq!(
            (got.code, got.branch, got.call_id),
            (481, "z9hG4bK-2", "c-2")
        );
        assert_eq!(got.method, rsip::Method::Options);
    }

    #[test]
    fn anything_not_plain_takes_the_full_parser() {
        let cases = [
            (
                "a request",
                OK.replace("SIP/2.0 200 OK", "NOTIFY sip:a@h SIP/2.0"),
            ),
            ("no blank line", OK.trim_end().to_string()),
            ("bare LF", OK.replace("\r\n", "\n")),
            ("folded", OK.replace("Call-ID: ", "Call-ID:\r\n ")),
            ("two Call-IDs", OK.replace("CSeq:", "Call-ID: x\r\nCSeq:")),
            (
                "no From",
                OK.replace("From: <sip:dir@127.0.0.1>;tag=a\r\n", ""),
            ),
            ("no branch", OK.replace("branch=z9hG4bK-s1-abc;", "")),
            (
                "joined Vias",
                OK.replace("rport=5060;received=127.0.0.1\r\nVia:", "rport,"),
            ),
            ("bad code", OK.replace(" 200 ", " 2000 ")),
            ("code out of range", OK.replace(" 200 ", " 099 ")),
            ("bad CSeq", OK.replace("CSeq: 12 NOTIFY", "CSeq: x NOTIFY")),
            ("IPv6", OK.replace("10.0.0.1", "[::1]")),
        ];
        for (name, text) in cases {
            assert_eq!(LiteResponse::parse(text.as_bytes()), None, "{name}");
        }
    }
}
