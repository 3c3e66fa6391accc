//! Registrar rules (RFC 3261 §10.3): which Contact and for how long, from a REGISTER.

use std::time::{Duration, Instant};

use agentphone_sip::endpoint::Peer;

use crate::directory::{Binding, MAX_REGISTRATION};
use crate::request_headers;

/// What a REGISTER asks for.
#[derive(Debug)]
pub enum RegisterRequest {
    /// Bind this contact for this long.
    Bind {
        contact: rsip::Uri,
        expires: Duration,
    },
    /// Remove the binding (`Expires: 0`, or `Contact: *`).
    Unbind,
    /// Only asks which bindings exist (no Contact).
    Query,
}

/// Read Contact and Expires (Contact's `expires` parameter wins over the header).
pub fn read(req: &rsip::Request) -> Result<RegisterRequest, &'static str> {
    let raw_contact = request_headers::contact(req);
    let header_expires = match request_headers::expires(req) {
        None => None,
        Some(v) => Some(v.trim().parse::<u64>().map_err(|_| "Bad Expires header")?),
    };
    let Some(raw_contact) = raw_contact else {
        return Ok(RegisterRequest::Query);
    };
    if raw_contact.trim() == "*" {
        return if header_expires == Some(0) {
            Ok(RegisterRequest::Unbind)
        } else {
            Err("Contact * needs Expires: 0")
        };
    }
    let contact = request_headers::contact_uri(req).ok_or("Bad Contact header")?;
    let param_expires = contact_expires_param(raw_contact);
    let secs = param_expires
        .or(header_expires)
        .unwrap_or(MAX_REGISTRATION.as_secs());
    if secs == 0 {
        return Ok(RegisterRequest::Unbind);
    }
    Ok(RegisterRequest::Bind {
        contact,
        expires: Duration::from_secs(secs).min(MAX_REGISTRATION),
    })
}

/// The binding to store for a contact registered from `peer`.
pub fn binding(contact: rsip::Uri, peer: Peer, expires: Duration) -> Binding {
    Binding {
        contact,
        peer,
        expires_at: Instant::now() + expires,
    }
}

/// `expires=N` among the Contact header's parameters (after the `>` when the URI is bracketed).
fn contact_expires_param(raw: &str) -> Option<u64> {
    let params = match raw.rfind('>') {
        Some(i) => raw.get(i + 1..)?,
        None => raw.split_once(';').map(|(_, p)| p)?,
    };
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("expires")
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::contact_expires_param;

    #[test]
    fn expires_param_is_read_after_the_uri() {
        assert_eq!(
            contact_expires_param("<sip:a@1.2.3.4:5;transport=udp>;expires=60"),
            Some(60)
        );
        assert_eq!(contact_expires_param("<sip:a@1.2.3.4;expires=5>"), None);
        assert_eq!(contact_expires_param("sip:a@1.2.3.4;expires=30"), Some(30));
        assert_eq!(contact_expires_param("<sip:a@1.2.3.4>"), None);
    }
}
