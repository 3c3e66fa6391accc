//! In-dialog requests written as bytes from a template: the request line and the headers that
//! never change in a dialog (From, To, Call-ID, Contact, Route, Content-Type, event package…)
//! are serialised once; each request only fills in the top Via, the CSeq number, its own headers
//! (e.g. Subscription-State), Content-Length and the body. For a TU that sends the same kind of
//! request in one dialog again and again (a NOTIFY to each subscriber on every change), with
//! [`crate::endpoint::Endpoint::request_tagged`]. The bytes are the same as those of
//! [`Dialog::request`] with the extra headers pushed and the endpoint's Via on top.

use crate::dialog::Dialog;
use crate::message::request_bytes;
use std::io::Write;

/// A dialog's request of one method, less what changes per request.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    method: rsip::Method,
    /// `METHOD target SIP/2.0\r\n`.
    line: Vec<u8>,
    /// The header lines between Via and CSeq (Max-Forwards, From, To, Call-ID).
    before_cseq: Vec<u8>,
    /// The header lines after CSeq (Contact, Route…, Content-Type, the fixed extra headers).
    after_cseq: Vec<u8>,
}

impl Dialog {
    /// A template for this dialog's `method` requests with `content_type` bodies (None: no
    /// body) and `fixed` headers after the dialog's own (e.g. `Event`).
    pub fn template(
        &self,
        method: rsip::Method,
        content_type: Option<&str>,
        fixed: &[(&str, &str)],
    ) -> RequestTemplate {
        // The dialog's own request (on a copy: its CSeq is not taken), split at the CSeq line.
        let mut probe = self.clone();
        let mut req = probe.request(method, content_type.map(|ct| (ct, Vec::new())));
        for (name, value) in fixed {
            req.headers
                .push(rsip::Header::Other((*name).into(), (*value).into()));
        }
        let bytes = request_bytes(&req);
        let mut lines = bytes.split_inclusive(|&b| b == b'\n');
        let line = lines.next().unwrap_or_default().to_vec();
        let (mut before_cseq, mut after_cseq) = (Vec::new(), Vec::new());
        let mut seen_cseq = false;
        for header in lines {
            if header == b"\r\n" {
                break; // end of the headers; the body is empty
            }
            if header.starts_with(b"CSeq:") {
                seen_cseq = true;
            } else if !header.starts_with(b"Content-Length:") {
                let part = if seen_cseq {
                    &mut after_cseq
                } else {
                    &mut before_cseq
                };
                part.extend_from_slice(header);
            }
        }
        RequestTemplate {
            method,
            line,
            before_cseq,
            after_cseq,
        }
    }
}

impl RequestTemplate {
    /// The method of its requests.
    pub fn method(&self) -> &rsip::Method {
        &self.method
    }

    /// One request: `via` (the top Via's value), CSeq `cseq`, then `headers`, Content-Length and
    /// `body`.
    pub fn write(&self, via: &str, cseq: u32, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
        let own: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
        let fixed = self.line.len() + self.before_cseq.len() + self.after_cseq.len();
        let mut out = Vec::with_capacity(fixed + own + via.len() + body.len() + 64);
        out.extend_from_slice(&self.line);
        out.extend_from_slice(b"Via: ");
        out.extend_from_slice(via.as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.before_cseq);
        // Writing to a Vec cannot fail.
        let _ = write!(out, "CSeq: {cseq} {}\r\n", self.method);
        out.extend_from_slice(&self.after_cseq);
        for (name, value) in headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
        out.extend_from_slice(body);
        out
    }
}
