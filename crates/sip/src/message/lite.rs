//! A request read without building an rsip message: the request line and the headers a
//! stateless answer needs (Via, From, To, Call-ID, CSeq, Contact, Expires, Authorization), all
//! borrowed from the datagram, and a response written straight into bytes.
//!
//! This is the hot path of a registrar (a REGISTER and its 401 challenge are most of the traffic
//! of a contact center's SIP server): rsip's parser builds every header as a `String` and its
//! typed headers re-parse them, which was ≈ 40 % of the CPU of a REGISTER. The lite reader only
//! accepts the plain form of a request — CRLF line ends, no folded lines, no IPv6 reference, no
//! body, no Require, a `sip:`/`sips:` Request-URI, each of the headers above once (Via may
//! repeat), well-formed From/To/Via/CSeq, nothing the full parser's header checks refuse — and
//! returns `None` for anything else, which then takes the full parser (and its 400s) as before.

use super::compact::expand_name;
use super::parse::{is_sip_scheme, parse_uri, uri_scheme};
use super::strict::Strict;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// Most Via headers a lite request may carry (a REGISTER from a phone has one).
const MAX_VIAS: usize = 4;

/// The hot headers of a plain request, borrowed from its bytes.
#[derive(Debug)]
pub struct LiteRequest<'a> {
    /// Method token of the Request-Line (e.g. `REGISTER`).
    pub method: &'a str,
    /// Request-URI as written.
    pub uri: &'a str,
    vias: [&'a str; MAX_VIAS],
    via_count: usize,
    /// From value.
    pub from: &'a str,
    /// To value.
    pub to: &'a str,
    /// The To URI, parsed (the address-of-record of a REGISTER).
    pub to_uri: rsip::Uri,
    /// Call-ID value.
    pub call_id: &'a str,
    /// CSeq value (`1 REGISTER`).
    pub cseq: &'a str,
    /// Contact value (one contact: a comma-joined list is not lite).
    pub contact: Option<&'a str>,
    /// Expires value.
    pub expires: Option<&'a str>,
    /// Authorization value, else Proxy-Authorization.
    pub authorization: Option<&'a str>,
}

/// The method of a request's Request-Line, read without parsing anything else.
pub fn request_method(bytes: &[u8]) -> Option<&str> {
    let end = bytes.iter().take(32).position(|b| *b == b' ')?;
    std::str::from_utf8(bytes.get(..end)?).ok()
}

impl<'a> LiteRequest<'a> {
    /// Read a plain request; None when it is anything but (see the module documentation).
    pub fn parse(bytes: &'a [u8]) -> Option<LiteRequest<'a>> {
        let text = std::str::from_utf8(bytes).ok()?;
        let head = text.strip_suffix("\r\n\r\n")?; // no body, no trailing bytes
        if head.contains("\r\n\r\n") {
            return None;
        }
        if head.contains(['[', '\t']) {
            return None; // IPv6 references are escaped by the full parser; tabs are LWS
        }
        let mut lines = head.split("\r\n");
        let (method, uri) = request_line(lines.next()?)?;
        let mut req = Fields::default();
        for line in lines {
            if line.is_empty() || line.starts_with(' ') || line.contains('\n') {
                return None; // folding or bare LF
            }
            let (name, value) = line.split_once(':')?;
            req.add(expand_name(name.trim_end()), value.trim())?;
        }
        req.finish(method, uri)
    }

    /// The Via values, top first.
    pub fn vias(&self) -> &[&'a str] {
        self.vias.get(..self.via_count).unwrap_or_default()
    }

    /// Whether To carries a tag (the request is inside a dialog).
    pub fn to_has_tag(&self) -> bool {
        header_param(self.to, "tag").is_some()
    }

    /// The response to this request from `peer`: Vias (the top one stamped with `received` and
    /// `rport`, RFC 3581), From, To (with `to_tag` when it has none), Call-ID, CSeq, then
    /// `headers`; no body.
    pub fn response(
        &self,
        peer: SocketAddr,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        let reason: String = reason.chars().filter(|c| !c.is_control()).collect();
        let _ = write!(out, "SIP/2.0 {code} {reason}\r\n");
        for (i, via) in self.vias().iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "Via: {}\r\n", stamped_via(via, peer));
            } else {
                let _ = write!(out, "Via: {via}\r\n");
            }
        }
        let _ = write!(out, "From: {}\r\n", self.from);
        match to_tag.filter(|_| !self.to_has_tag()) {
            Some(tag) => write!(out, "To: {};tag={tag}\r\n", self.to),
            None => write!(out, "To: {}\r\n", self.to),
        }
        .unwrap_or_default();
        let _ = write!(out, "Call-ID: {}\r\nCSeq: {}\r\n", self.call_id, self.cseq);
        for (name, value) in headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        out.push_str("Content-Length: 0\r\n\r\n");
        out.into_bytes()
    }
}

/// `METHOD SP Request-URI SP SIP/2.0`, single spaces.
fn request_line(line: &str) -> Option<(&str, &str)> {
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some("SIP/2.0"), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let token = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
    // Another scheme is answered 416 by the full parser.
    let sip = uri_scheme(uri).is_some_and(is_sip_scheme);
    (token && sip).then_some((method, uri))
}

/// The headers as they are read (a singleton seen twice makes the request not lite).
#[derive(Default)]
struct Fields<'a> {
    vias: [&'a str; MAX_VIAS],
    via_count: usize,
    from: Option<&'a str>,
    to: Option<&'a str>,
    call_id: Option<&'a str>,
    cseq: Option<&'a str>,
    contact: Option<&'a str>,
    expires: Option<&'a str>,
    authorization: Option<&'a str>,
    proxy_authorization: Option<&'a str>,
    content_length: bool,
    /// The full parser's header checks, so that a request it refuses is not answered here.
    strict: Strict,
}

/// Store `value` in an empty slot; None when the slot is taken (a repeated header).
fn once<'a>(slot: &mut Option<&'a str>, value: &'a str) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

impl<'a> Fields<'a> {
    fn add(&mut self, name: &str, value: &'a str) -> Option<()> {
        self.strict.check(name, value).ok()?;
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("Via") {
            if value.contains(',') || !valid_via(value) {
                return None;
            }
            *self.vias.get_mut(self.via_count)? = value;
            self.via_count += 1;
            Some(())
        } else if is("From") {
            once(&mut self.from, value)
        } else if is("To") {
            once(&mut self.to, value)
        } else if is("Call-ID") {
            once(&mut self.call_id, value)
        } else if is("CSeq") {
            once(&mut self.cseq, value)
        } else if is("Contact") {
            once(&mut self.contact, value)
        } else if is("Expires") {
            once(&mut self.expires, value)
        } else if is("Authorization") {
            once(&mut self.authorization, value)
        } else if is("Proxy-Authorization") {
            once(&mut self.proxy_authorization, value)
        } else if is("Content-Length") {
            // Once, and 0 (a repeated one is refused by the full parser).
            let first = !std::mem::replace(&mut self.content_length, true);
            (first && value == "0").then_some(())
        } else if is("Record-Route") || is("Require") {
            // Copied into 2xx responses / answered 420 by the TU: leave those to the full path.
            None
        } else {
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c));
            token.then_some(())
        }
    }

    fn finish(self, method: &'a str, uri: &'a str) -> Option<LiteRequest<'a>> {
        let (from, to, call_id, cseq) = (self.from?, self.to?, self.call_id?, self.cseq?);
        if self.via_count == 0 || call_id.is_empty() || call_id.contains([' ', ',', ';']) {
            return None;
        }
        let (seq, cseq_method) = cseq.split_once(' ')?;
        if seq.parse::<u32>().is_err() || cseq_method != method {
            return None;
        }
        if self.contact.is_some_and(|c| c.contains(',')) {
            return None;
        }
        uri_scheme(addr_uri(from)?)?; // a From URI with a scheme
        let to_uri = parse_uri(addr_uri(to)?)?;
        Some(LiteRequest {
            method,
            uri,
            vias: self.vias,
            via_count: self.via_count,
            from,
            to,
            to_uri,
            call_id,
            cseq,
            contact: self.contact,
            expires: self.expires,
            authorization: self.authorization.or(self.proxy_authorization),
        })
    }
}

/// `SIP/2.0/<transport> <sent-by>[;params]` with a non-empty sent-by.
pub(crate) fn valid_via(value: &str) -> bool {
    let Some(rest) = value.strip_prefix("SIP/2.0/") else {
        return false;
    };
    let Some((transport, sent_by)) = rest.split_once(' ') else {
        return false;
    };
    let host = sent_by.split(';').next().unwrap_or_default().trim();
    !transport.is_empty()
        && transport.bytes().all(|b| b.is_ascii_alphanumeric())
        && !host.is_empty()
        && !host.contains(' ')
}

/// The URI of a `name-addr` (`"Pat" <sip:…>;tag=…`) or `addr-spec` (`sip:…;tag=…`) value.
pub fn addr_uri(value: &str) -> Option<&str> {
    let after_name = skip_quoted(value.trim_start())?;
    match after_name.find('<') {
        Some(open) => {
            let rest = after_name.get(open + 1..)?;
            rest.get(..rest.find('>')?)
        }
        // addr-spec: header parameters start at the first `;` (RFC 3261 §20.10).
        None => value.split(';').next().map(str::trim),
    }
}

/// What follows a leading quoted display name (`"A \"b\" <c>" <sip:…>`), or `value` itself when
/// it does not start with one; None when the quote is not closed.
fn skip_quoted(value: &str) -> Option<&str> {
    let Some(quoted) = value.strip_prefix('"') else {
        return Some(value);
    };
    let mut escaped = false;
    for (i, c) in quoted.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return quoted.get(i + 1..),
            _ => {}
        }
    }
    None
}

/// A header parameter (after the URI) of a `name-addr` or `addr-spec` value.
pub fn header_param<'v>(value: &'v str, name: &str) -> Option<&'v str> {
    let params = match value.rfind('>') {
        Some(i) => value.get(i + 1..)?,
        None => value.split_once(';').map(|(_, p)| p)?,
    };
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// RFC 3261 §18.2.1 + RFC 3581: a Via value with `received` (and `rport` filled in when the
/// client asked for it) from where the request really came.
pub(crate) fn stamped_via(value: &str, peer: SocketAddr) -> String {
    let mut parts = value.split(';');
    let mut out = String::with_capacity(value.len() + 40);
    out.push_str(parts.next().unwrap_or_default());
    let mut wants_rport = false;
    for p in parts {
        let key = p.split('=').next().unwrap_or_default().trim();
        if key.eq_ignore_ascii_case("rport") {
            wants_rport = true;
        } else if !key.eq_ignore_ascii_case("received") {
            out.push(';');
            out.push_str(p);
        }
    }
    let _ = write!(out, ";received={}", peer.ip());
    if wants_rport {
        let _ = write!(out, ";rport={}", peer.port());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "REGISTER sip:127.0.0.1:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;rport\r\n\
        v: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK0\r\n\
        From: \"Pat\" <sip:pat@127.0.0.1>;tag=f1\r\n\
        t: <sip:pat@127.0.0.1>\r\n\
        i: c1@h\r\n\
        CSeq: 2 REGISTER\r\n\
        m: <sip:pat@127.0.0.1:5070>;expires=60\r\n\
        Expires: 3600\r\n\
        Max-Forwards: 70\r\n\
        Authorization: Digest username=\"pat\"\r\n\
        l: 0\r\n\r\n";

    fn lite(text: &str) -> Option<LiteRequest<'_>> {
        LiteRequest::parse(text.as_bytes())
    }

    #[test]
    fn reads_the_hot_headers_of_a_plain_request_compact_names_included() {
        let req = lite(PLAIN).unwrap_or_else(|| panic!("plain request refused"));
        assert_eq!(req.method, "REGISTER");
        assert_eq!(req.uri, "sip:127.0.0.1:5060");
        assert_eq!(req.vias().len(), 2);
        assert_eq!(req.call_id, "c1@h");
        assert_eq!(req.cseq, "2 REGISTER");
        assert_eq!(req.to_uri.user(), Some("pat"));
        assert_eq!(req.contact, Some("<sip:pat@127.0.0.1:5070>;expires=60"));
        assert_eq!(req.expires, Some("3600"));
        assert_eq!(req.authorization, Some("Digest username=\"pat\""));
        assert!(!req.to_has_tag());
        assert_eq!(request_method(PLAIN.as_bytes()), Some("REGISTER"));
    }

    #[test]
    fn anything_but_the_plain_form_is_left_to_the_full_parser() {
        let cases = [
            ("folded line", "Expires: 3600\r\n", "Expires:\r\n 3600\r\n"),
            ("IPv6 reference", "10.0.0.1", "[::1]"),
            ("bare LF", "Max-Forwards: 70\r\n", "Max-Forwards: 70\n"),
            ("a body", "l: 0\r\n\r\n", "l: 2\r\n\r\nhi"),
            (
                "repeated From",
                "i: c1@h\r\n",
                "i: c1@h\r\nf: <sip:x@h>\r\n",
            ),
            ("Record-Route", "l: 0", "Record-Route: <sip:p;lr>\r\nl: 0"),
            ("no CSeq", "CSeq: 2 REGISTER\r\n", ""),
            ("CSeq of another method", "2 REGISTER", "2 INVITE"),
            ("bad CSeq number", "2 REGISTER", "x REGISTER"),
            (
                "comma-joined Via",
                ";rport\r\n",
                ";rport, SIP/2.0/UDP h\r\n",
            ),
            ("Via without sent-by", "UDP 127.0.0.1:5070", "UDP "),
            ("two contacts", ";expires=60", ", <sip:x@h>"),
            ("malformed To", "t: <sip:pat@127.0.0.1>", "t: <nonsense"),
            ("no Call-ID", "i: c1@h\r\n", ""),
            (
                "To URI rsip refuses",
                "t: <sip:pat@127.0.0.1>",
                "t: <sip:pat@>",
            ),
            (
                "From without a scheme",
                "<sip:pat@127.0.0.1>;tag=f1",
                "<pat>;tag=f1",
            ),
            (
                "Request-URI without a scheme",
                "sip:127.0.0.1:5060",
                "127.0.0.1",
            ),
            ("double space", "REGISTER sip:", "REGISTER  sip:"),
            ("bad header name", "Max-Forwards", "Max Forwards"),
            ("Require", "l: 0", "Require: foo\r\nl: 0"),
            (
                "two Content-Lengths",
                "l: 0\r\n",
                "l: 0\r\nContent-Length: 0\r\n",
            ),
            // what the full parser's header checks refuse (RFC 4475 regbadct, multi01, baddn)
            (
                "Contact with headers outside <>",
                "<sip:pat@127.0.0.1:5070>;expires=60",
                "sip:pat@127.0.0.1?Route=%3Csip:x%3E",
            ),
            (
                "repeated Max-Forwards",
                "Max-Forwards: 70\r\n",
                "Max-Forwards: 70\r\nMax-Forwards: 70\r\n",
            ),
            ("comma in a display name", "\"Pat\" <", "Pat, P <"),
            // another scheme is answered 416 by the full parser
            ("tel: Request-URI", "sip:127.0.0.1:5060", "tel:+15551234"),
        ];
        for (what, from, to) in cases {
            let text = PLAIN.replace(from, to);
            assert_ne!(text, PLAIN, "{what}: the case changed nothing");
            assert!(lite(&text).is_none(), "{what} was read as lite");
        }
    }

    #[test]
    fn a_response_copies_the_dialog_headers_and_stamps_the_top_via() {
        let req = lite(PLAIN).unwrap_or_else(|| panic!("plain request refused"));
        let peer: SocketAddr = "127.0.0.9:6000".parse().unwrap_or_else(|e| panic!("{e}"));
        let bytes = req.response(peer, 401, "Unauthorized", Some("t9"), &[("X-A", "b")]);
        let msg = crate::message::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let rsip::SipMessage::Response(resp) = msg else {
            panic!("not a response")
        };
        assert_eq!(resp.status_code.code(), 401);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(
            "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1;received=127.0.0.9;rport=6000\r\n"
        ));
        assert!(text.contains("Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK0\r\n"));
        assert!(text.contains("To: <sip:pat@127.0.0.1>;tag=t9\r\n"));
        assert!(text.contains("From: \"Pat\" <sip:pat@127.0.0.1>;tag=f1\r\n"));
        assert!(text.contains("Call-ID: c1@h\r\nCSeq: 2 REGISTER\r\nX-A: b\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn header_params_and_uris_are_read_after_the_brackets() {
        assert_eq!(header_param("<sip:a@h;tag=x>;tag=y", "tag"), Some("y"));
        assert_eq!(header_param("<sip:a@h;tag=x>", "tag"), None);
        assert_eq!(header_param("sip:a@h;tag=z", "tag"), Some("z"));
        assert_eq!(addr_uri("\"A <b> \\\"c\" <sip:a@h>"), Some("sip:a@h"));
        assert_eq!(addr_uri("\"open <sip:a@h>"), None);
        assert_eq!(addr_uri("sip:a@h;tag=z"), Some("sip:a@h"));
    }
}
