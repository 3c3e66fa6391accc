//! Building requests and responses.

use super::ParseError;

/// A response to `req`: copies Via(s), From, To (adding `to_tag` if To has none), Call-ID, CSeq;
/// Content-Length 0.
pub fn response(
    req: &rsip::Request,
    code: u16,
    reason: &str,
    to_tag: Option<&str>,
) -> rsip::Response {
    let _ = (req, code, reason, to_tag);
    todo!()
}

/// Builder for requests outside a dialog (REGISTER, initial INVITE, OPTIONS...).
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    method: rsip::Method,
    uri: rsip::Uri,
}

impl RequestBuilder {
    /// Start a request for `method` to `uri`.
    pub fn new(method: rsip::Method, uri: &str) -> Result<Self, ParseError> {
        let _ = (method, uri);
        todo!()
    }
    /// From header.
    pub fn from(self, display: Option<&str>, uri: &str, tag: &str) -> Self {
        let _ = (display, uri, tag);
        todo!()
    }
    /// To header.
    pub fn to(self, display: Option<&str>, uri: &str, tag: Option<&str>) -> Self {
        let _ = (display, uri, tag);
        todo!()
    }
    /// Call-ID.
    pub fn call_id(self, id: &str) -> Self {
        let _ = id;
        todo!()
    }
    /// CSeq number (method = the request's).
    pub fn cseq(self, n: u32) -> Self {
        let _ = n;
        todo!()
    }
    /// Contact URI.
    pub fn contact(self, uri: &str) -> Self {
        let _ = uri;
        todo!()
    }
    /// Any extra header.
    pub fn header(self, name: &str, value: &str) -> Self {
        let _ = (name, value);
        todo!()
    }
    /// Body and its Content-Type.
    pub fn body(self, content_type: &str, body: Vec<u8>) -> Self {
        let _ = (content_type, body);
        todo!()
    }
    /// The request (Via is added by the endpoint; Max-Forwards 70).
    pub fn build(self) -> Result<rsip::Request, ParseError> {
        let _ = (self.method, self.uri);
        todo!()
    }
}
