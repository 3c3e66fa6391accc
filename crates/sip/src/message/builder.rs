//! Building requests and responses.

use super::reason::reason_phrase;
use super::{new_call_id, ParseError};
use rsip::prelude::*;

/// The status code rsip should carry: the known variant when the reason is the standard one (so
/// `== rsip::StatusCode::Ok` works), else `Other` so that a custom reason phrase reaches the wire.
pub(crate) fn status_code(code: u16, reason: &str) -> rsip::StatusCode {
    let standard = reason_phrase(code);
    let known = rsip::StatusCode::from(code);
    let is_known = !matches!(known, rsip::StatusCode::Other(..));
    if is_known && (reason.is_empty() || reason.eq_ignore_ascii_case(standard)) {
        known
    } else if reason.is_empty() {
        rsip::StatusCode::Other(code, standard.to_string())
    } else {
        let clean: String = reason.chars().filter(|c| !c.is_control()).collect();
        rsip::StatusCode::Other(code, clean)
    }
}

/// A response to `req`: copies Via(s), From, To (adding `to_tag` if To has none), Call-ID, CSeq
/// (and Record-Route for 101–299); Content-Length 0.
pub fn response(
    req: &rsip::Request,
    code: u16,
    reason: &str,
    to_tag: Option<&str>,
) -> rsip::Response {
    let mut headers = rsip::Headers::default();
    let copy_record_route = (101..300).contains(&code);
    for h in req.headers.iter() {
        match h {
            rsip::Header::Via(_)
            | rsip::Header::From(_)
            | rsip::Header::CallId(_)
            | rsip::Header::CSeq(_) => headers.push(h.clone()),
            rsip::Header::RecordRoute(_) if copy_record_route => headers.push(h.clone()),
            rsip::Header::To(to) => headers.push(rsip::Header::To(with_tag(to, to_tag))),
            _ => {}
        }
    }
    rsip::Response {
        status_code: status_code(code, reason),
        version: rsip::Version::V2,
        headers,
        body: Vec::new(),
    }
}

fn with_tag(to: &rsip::headers::To, tag: Option<&str>) -> rsip::headers::To {
    let Some(tag) = tag else { return to.clone() };
    let has_tag = to.typed().map(|t| t.tag().is_some()).unwrap_or(false);
    if has_tag {
        to.clone()
    } else {
        rsip::headers::To::new(format!("{};tag={}", to.value(), tag))
    }
}

/// `"Name" <uri>` or `<uri>`, with the display name quoted and escaped.
pub(crate) fn name_addr(display: Option<&str>, uri: &str) -> String {
    let uri = super::ipv6::escape(uri);
    match display.filter(|d| !d.is_empty()) {
        Some(d) => {
            let escaped: String = d
                .chars()
                .filter(|c| !c.is_control())
                .flat_map(|c| match c {
                    '"' | '\\' => vec!['\\', c],
                    c => vec![c],
                })
                .collect();
            format!("\"{escaped}\" <{uri}>")
        }
        None => format!("<{uri}>"),
    }
}

/// Builder for requests outside a dialog (REGISTER, initial INVITE, OPTIONS...).
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    method: rsip::Method,
    uri: rsip::Uri,
    from: Option<String>,
    to: Option<String>,
    call_id: Option<String>,
    cseq: u32,
    contact: Option<String>,
    extra: Vec<rsip::Header>,
    body: Option<(String, Vec<u8>)>,
    error: Option<String>,
}

impl RequestBuilder {
    /// Start a request for `method` to `uri`.
    pub fn new(method: rsip::Method, uri: &str) -> Result<Self, ParseError> {
        let uri = super::parse::parse_uri(uri)
            .ok_or_else(|| ParseError::new(format!("Malformed Request-URI {uri}")))?;
        Ok(RequestBuilder {
            method,
            uri,
            from: None,
            to: None,
            call_id: None,
            cseq: 1,
            contact: None,
            extra: Vec::new(),
            body: None,
            error: None,
        })
    }

    fn check_uri(&mut self, what: &str, uri: &str) {
        if self.error.is_none() && super::parse::parse_uri(uri).is_none() {
            self.error = Some(format!("Malformed {what} URI {uri}"));
        }
    }

    /// From header.
    pub fn from(mut self, display: Option<&str>, uri: &str, tag: &str) -> Self {
        self.check_uri("From", uri);
        self.from = Some(format!("{};tag={tag}", name_addr(display, uri)));
        self
    }

    /// To header.
    pub fn to(mut self, display: Option<&str>, uri: &str, tag: Option<&str>) -> Self {
        self.check_uri("To", uri);
        let mut value = name_addr(display, uri);
        if let Some(tag) = tag {
            value.push_str(";tag=");
            value.push_str(tag);
        }
        self.to = Some(value);
        self
    }

    /// Call-ID (a random one when not set).
    pub fn call_id(mut self, id: &str) -> Self {
        self.call_id = Some(id.to_string());
        self
    }

    /// CSeq number (method = the request's; 1 when not set).
    pub fn cseq(mut self, n: u32) -> Self {
        self.cseq = n;
        self
    }

    /// Contact URI.
    pub fn contact(mut self, uri: &str) -> Self {
        self.check_uri("Contact", uri);
        self.contact = Some(name_addr(None, uri));
        self
    }

    /// Contact with header parameters after the URI, e.g. `isfocus` (RFC 4579) → `<uri>;isfocus`.
    pub fn contact_with_params(mut self, uri: &str, params: &str) -> Self {
        self.check_uri("Contact", uri);
        self.contact = Some(format!("{};{params}", name_addr(None, uri)));
        self
    }

    /// Any extra header (compact names are expanded).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let full = super::compact::expand_name(name);
        self.extra.push(super::helpers::make_header(full, value));
        self
    }

    /// Body and its Content-Type.
    pub fn body(mut self, content_type: &str, body: Vec<u8>) -> Self {
        self.body = Some((content_type.to_string(), body));
        self
    }

    /// The request (Via is added by the endpoint; Max-Forwards 70).
    pub fn build(self) -> Result<rsip::Request, ParseError> {
        if let Some(e) = self.error {
            return Err(ParseError::new(e));
        }
        let from = self.from.ok_or_else(|| ParseError::new("Missing From"))?;
        let to = self.to.ok_or_else(|| ParseError::new("Missing To"))?;
        let mut headers = rsip::Headers::default();
        headers.push(rsip::headers::MaxForwards::new("70").into());
        headers.push(rsip::headers::From::new(from).into());
        headers.push(rsip::headers::To::new(to).into());
        let call_id = self.call_id.unwrap_or_else(new_call_id);
        headers.push(rsip::headers::CallId::new(call_id).into());
        headers.push(rsip::headers::CSeq::new(format!("{} {}", self.cseq, self.method)).into());
        if let Some(contact) = self.contact {
            headers.push(rsip::headers::Contact::new(contact).into());
        }
        for h in self.extra {
            headers.push(h);
        }
        let body = match self.body {
            Some((ct, body)) => {
                headers.push(rsip::headers::ContentType::new(ct).into());
                body
            }
            None => Vec::new(),
        };
        headers.push(rsip::headers::ContentLength::new(body.len().to_string()).into());
        Ok(rsip::Request {
            method: self.method,
            uri: self.uri,
            version: rsip::Version::V2,
            headers,
            body,
        })
    }
}
