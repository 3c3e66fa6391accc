//! Reading a REFER's `Refer-To` (protocol.md "Transfer"): the target user, whether it names a team
//! (`;agentphone-target=team`), listen-only (`;agentphone-mode=listen`) and the reason
//! (`?Subject=…`, percent-encoded).

/// What a Refer-To asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferTarget {
    /// The user part (agent or team name, or a team's inbound address).
    pub user: String,
    /// `agentphone-target=team`.
    pub team: bool,
    /// `agentphone-mode=listen`.
    pub listen_only: bool,
    /// The `Subject` header parameter, decoded; None when absent or empty.
    pub reason: Option<String>,
}

/// Parse a Refer-To value; Err says what is wrong.
pub fn parse(value: &str) -> Result<ReferTarget, &'static str> {
    let value = value.trim();
    // name-addr (`"Bob" <sip:…>;params`) or a bare URI.
    // Parameters after the `>` (header parameters) are read like URI parameters, for lenience.
    let (uri, outer_params) = match (value.find('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => (
            value.get(a + 1..b).ok_or("bad Refer-To")?,
            value.get(b + 1..).unwrap_or_default(),
        ),
        _ => (value, ""),
    };
    let rest = uri
        .strip_prefix("sip:")
        .or_else(|| uri.strip_prefix("sips:"))
        .ok_or("Refer-To is not a SIP URI")?;
    let (before_headers, headers) = match rest.split_once('?') {
        Some((a, h)) => (a, Some(h)),
        None => (rest, None),
    };
    let mut parts = before_headers.split(';');
    let user_host = parts.next().unwrap_or_default();
    let (user, _host) = user_host
        .split_once('@')
        .ok_or("Refer-To has no user part")?;
    let user = percent_decode(user);
    if user.is_empty() {
        return Err("Refer-To has no user part");
    }
    let mut target = ReferTarget {
        user,
        team: false,
        listen_only: false,
        reason: None,
    };
    for p in parts.chain(outer_params.split(';')) {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        match (
            k.trim().to_ascii_lowercase().as_str(),
            v.trim().to_ascii_lowercase().as_str(),
        ) {
            ("agentphone-target", "team") => target.team = true,
            ("agentphone-mode", "listen") => target.listen_only = true,
            _ => {}
        }
    }
    for h in headers.unwrap_or_default().split('&') {
        if let Some((k, v)) = h.split_once('=') {
            if k.trim().eq_ignore_ascii_case("subject") {
                let reason = percent_decode(v).trim().to_string();
                target.reason = (!reason.is_empty()).then_some(reason);
            }
        }
    }
    Ok(target)
}

/// `%XX` → byte (invalid escapes are kept as they are; invalid UTF-8 is replaced).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes.get(i).copied().unwrap_or(0);
        if b == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_agent_team_listen_and_subject() {
        let t = parse("<sip:bob@127.0.0.1?Subject=billing%20question>")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            t,
            ReferTarget {
                user: "bob".into(),
                team: false,
                listen_only: false,
                reason: Some("billing question".into())
            }
        );
        let t = parse("<sip:support@h;agentphone-target=team?Subject=x%C3%A9>")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(t.team && !t.listen_only);
        assert_eq!(t.reason.as_deref(), Some("xé"));
        let t = parse("sip:carol@h;agentphone-mode=listen").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.listen_only && t.reason.is_none());
        let t = parse("<sip:carol@h>;agentphone-mode=listen").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.listen_only);
        for bad in ["", "<tel:123>", "<sip:host-only>", "<sip:@h>", "%"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(percent_decode("a%zz%4"), "a%zz%4");
    }
}
