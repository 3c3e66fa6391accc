//! Header look-ups on a borrowed request, without copying the message (agentphone-sip's `message`
//! helpers take a whole `SipMessage`, which the REGISTER path would have to clone per request).
//! Compact names need no care here: the parser expands them before rsip types the headers.

use rsip::prelude::*;

/// First header of a kind, as its trimmed value.
macro_rules! first_value {
    ($req:expr, $variant:path) => {
        $req.headers.iter().find_map(|h| match h {
            $variant(v) => Some(v.value().trim()),
            _ => None,
        })
    };
}

/// The Call-ID.
pub fn call_id(req: &rsip::Request) -> Option<&str> {
    first_value!(req, rsip::Header::CallId)
}

/// The first Contact value (`<uri>;params` or `*`).
pub fn contact(req: &rsip::Request) -> Option<&str> {
    first_value!(req, rsip::Header::Contact)
}

/// The Expires header's value.
pub fn expires(req: &rsip::Request) -> Option<&str> {
    first_value!(req, rsip::Header::Expires)
}

/// The Authorization value, else the Proxy-Authorization one.
pub fn authorization(req: &rsip::Request) -> Option<&str> {
    first_value!(req, rsip::Header::Authorization)
        .or_else(|| first_value!(req, rsip::Header::ProxyAuthorization))
}

/// Whether the To header carries a tag (the request is inside a dialog).
pub fn has_to_tag(req: &rsip::Request) -> bool {
    let Some(to) = first_value!(req, rsip::Header::To) else {
        return false;
    };
    // Parameters follow the URI (after `>` when bracketed); `tag` is one of them.
    let params = match to.rfind('>') {
        Some(i) => to.get(i + 1..).unwrap_or_default(),
        None => to.split_once(';').map_or("", |(_, p)| p),
    };
    params.split(';').any(|p| {
        p.split_once('=')
            .is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("tag"))
    })
}

/// The user part of the To URI.
pub fn to_user(req: &rsip::Request) -> Option<String> {
    let to = req.to_header().ok()?.typed().ok()?;
    to.uri.user().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &str) -> rsip::Request {
        let text = format!(
            "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n\
             From: <sip:alice@127.0.0.1>;tag=1\r\nCSeq: 1 REGISTER\r\n{headers}Content-Length: 0\r\n\r\n"
        );
        match agentphone_sip::message::parse(text.as_bytes()) {
            Ok(rsip::SipMessage::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    #[test]
    fn values_are_read_by_kind_compact_names_included() {
        let req = request(
            "t: <sip:alice@127.0.0.1>\r\ni: abc@h\r\nm: <sip:alice@127.0.0.1:5070>;expires=60\r\n\
             Expires: 30\r\nProxy-Authorization: Digest username=\"alice\"\r\n",
        );
        assert_eq!(call_id(&req), Some("abc@h"));
        assert_eq!(contact(&req), Some("<sip:alice@127.0.0.1:5070>;expires=60"));
        assert_eq!(expires(&req), Some("30"));
        assert_eq!(authorization(&req), Some("Digest username=\"alice\""));
        assert_eq!(to_user(&req).as_deref(), Some("alice"));
        assert!(!has_to_tag(&req));
    }

    #[test]
    fn a_to_tag_is_found_after_the_uri_only() {
        let tagged = request("To: <sip:a@h;tag=x>;tag=abc\r\nCall-ID: 1\r\n");
        assert!(has_to_tag(&tagged));
        let uri_param_only = request("To: <sip:a@h;tag=x>\r\nCall-ID: 1\r\n");
        assert!(!has_to_tag(&uri_param_only));
        let bare = request("To: sip:a@h;tag=abc\r\nCall-ID: 1\r\n");
        assert!(has_to_tag(&bare));
    }
}
