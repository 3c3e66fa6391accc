//! Registrar rules (RFC 3261 §10.3): which Contact and for how long, from a REGISTER.

use std::time::{Duration, Instant};

use agentphone_sip::endpoint::Peer;
use agentphone_sip::message::lite::addr_uri;
use agentphone_sip::message::parse_uri;

use crate::directory::{Binding, MAX_REGISTRATION};

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

/// Read the Contact and Expires values of a REGISTER (Contact's `expires` parameter wins over the
/// header).
pub fn read_values(
    raw_contact: Option<&str>,
    raw_expires: Option<&str>,
) -> Result<RegisterRequest, &'static str> {
    let header_expires = match raw_expires {
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
    let contact = addr_uri(raw_contact)
        .and_then(parse_uri)
        .ok_or("Bad Contact header")?;
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
    use super::{contact_expires_param, read_values, RegisterRequest};
    use std::time::Duration;

    #[test]
    fn values_give_the_binding_the_removal_or_the_query() {
        let bind = read_values(
            Some("\"Pat\" <sip:alice@127.0.0.1:5070>;expires=60"),
            Some("30"),
        );
        match bind {
            Ok(RegisterRequest::Bind { contact, expires }) => {
                assert_eq!(contact.to_string(), "sip:alice@127.0.0.1:5070");
                assert_eq!(expires, Duration::from_secs(60));
            }
            other => panic!("not a binding: {other:?}"),
        }
        let header_expires = read_values(Some("sip:alice@127.0.0.1"), Some("30"));
        assert!(
            matches!(header_expires, Ok(RegisterRequest::Bind { expires, .. }) if expires.as_secs() == 30)
        );
        assert!(matches!(
            read_values(Some("*"), Some("0")),
            Ok(RegisterRequest::Unbind)
        ));
        assert!(matches!(
            read_values(Some("<sip:a@h>"), Some("0")),
            Ok(RegisterRequest::Unbind)
        ));
        assert!(matches!(
            read_values(None, None),
            Ok(RegisterRequest::Query)
        ));
        assert!(read_values(Some("*"), None).is_err());
        assert!(read_values(Some("<nonsense"), None).is_err());
        assert!(read_values(Some("<sip:a@h>"), Some("soon")).is_err());
    }

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
