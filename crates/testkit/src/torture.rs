//! RFC 4475 torture messages written from the RFC's text (CRLF line ends), with the hosts a test
//! needs: the sip crate parses them, the server answers them over real sockets.

/// §3.1.1.1 `wsinv`, "A Short Tortuous INVITE": line folding, white space around colons and a
/// Via's slashes, compact and mixed-case names, escaped quotes, leading zeros, unknown
/// parameters and header fields — well-formed. `to` replaces the RFC's
/// `chair-dnrc.example.com` (Request-URI and To); `vias` the three Vias' hosts (RFC: 192.0.2.2,
/// spindle.example.com, 192.168.255.111).
pub fn wsinv(to: &str, vias: [&str; 3]) -> String {
    let [v1, v2, v3] = vias;
    [
        &format!("INVITE sip:vivekg@{to};unknownparam SIP/2.0"),
        "TO :",
        &format!(" sip:vivekg@{to} ;   tag    = 1918181833n"),
        "from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>",
        "  ;",
        "  tag = 98asjd8",
        "MaX-fOrWaRdS: 0068",
        "Call-ID: wsinv.ndaksdj@192.0.2.1",
        "Content-Length   : 150",
        "cseq: 0009",
        "  INVITE",
        "Via  : SIP  /   2.0",
        " /UDP",
        &format!("    {v1};branch=390skdjuw"),
        "s :",
        "NewFangledHeader:   newfangled value",
        " continued newfangled value",
        "UnknownHeaderWithUnusualValue: ;;,,;;,;",
        "Content-Type: application/sdp",
        "Route:",
        " <sip:services.example.com;lr;unknownwith=value;unknown-no-value>",
        &format!("v:  SIP  / 2.0  / TCP     {v2}   ;"),
        "  branch  =   z9hG4bK9ikj8  ,",
        &format!(" SIP  /    2.0   / UDP  {v3}   ; branch="),
        " z9hG4bK30239",
        "m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =",
        "      newvalue ;",
        "  secondparam ; q = 0.33",
        "",
        "v=0",
        "o=mhandley 29739 7272939 IN IP4 192.0.2.3",
        "s=-",
        "c=IN IP4 192.0.2.4",
        "t=0 0",
        "m=audio 49217 RTP/AVP 0 12",
        "m=video 3227 RTP/AVP 31",
        "a=rtpmap:31 LPC",
        "",
    ]
    .join("\r\n")
}

/// §3.1.1.9 `semiuri`: a `;` parameter inside the Request-URI's user part (with an escaped `@`),
/// a folded Accept and a compact Content-Length — well-formed; the user part is
/// `user;par=u@example.net`. `host` replaces the RFC's `example.com`; `via` the Via's host.
pub fn semiuri(host: &str, via: &str) -> String {
    [
        &format!("OPTIONS sip:user;par=u%40example.net@{host} SIP/2.0"),
        &format!("To: sip:j_user@{host}"),
        "From: sip:caller@example.org;tag=33242",
        "Max-Forwards: 3",
        "Call-ID: semiuri.0ha0isndaksdj",
        "CSeq: 8 OPTIONS",
        "Accept: application/sdp, application/pkcs7-mime,",
        "        multipart/mixed, multipart/signed,",
        "        message/sip, message/sipfrag",
        &format!("Via: SIP/2.0/UDP {via};branch=z9hG4bKkdjuw"),
        "l: 0",
        "",
        "",
    ]
    .join("\r\n")
}
