//! Everything the Phone engine needs to know at start-up.

use agentphone_sip::endpoint::Timers;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::audio::{SinkSpec, SourceSpec};

/// SIP transport towards the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Transport {
    /// UDP (default).
    #[default]
    Udp,
    /// TCP (one connection to the server, re-used for requests to us).
    Tcp,
    /// TLS over TCP (like TCP; the server's certificate is verified).
    Tls,
}

pub use agentphone_server::security::srtp::SrtpPolicy;

/// Configuration of one Phone engine.
#[derive(Clone, Debug)]
pub struct PhoneConfig {
    /// The server: outbound proxy for every request. None = requests go to the URI's host.
    pub server: Option<SocketAddr>,
    /// SIP user name (an agent's username, or any name for a customer).
    pub user: String,
    /// Digest password; None = never answer challenges.
    pub password: Option<String>,
    /// Display name put in From.
    pub display: Option<String>,
    /// SIP domain of our address of record; default = the server's IP (or the bind IP).
    pub domain: Option<String>,
    /// Transport towards the server.
    pub transport: Transport,
    /// Local IP for SIP and RTP; ports are ephemeral.
    pub bind: IpAddr,
    /// Registration lifetime asked for, in seconds.
    pub register_expires: u32,
    /// Answer incoming calls at once.
    pub auto_answer: bool,
    /// What the microphone sends.
    pub source: SourceSpec,
    /// A connected call (not on hold) that receives no RTP for this long is hung up
    /// ("media timeout"): the far end or the server is gone.
    pub media_timeout: Duration,
    /// SIP transaction timers (T1 decides how long an unanswered request takes to fail).
    pub sip_timers: Timers,
    /// Where everything heard goes (a recording gets one frame per 20 ms of call time).
    pub sink: SinkSpec,
    /// TLS: the CA file the server's certificate must chain to (None: the system's CAs).
    pub tls_ca: Option<std::path::PathBuf>,
    /// TLS: the name the server's certificate must carry (None: `domain`, else the server's IP).
    pub tls_server_name: Option<String>,
    /// SRTP (SDES, only over TLS): off, optional (offered, plain accepted) or required.
    pub srtp: SrtpPolicy,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig {
            server: None,
            user: "agentphone".to_string(),
            password: None,
            display: None,
            domain: None,
            transport: Transport::Udp,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            register_expires: 300,
            auto_answer: false,
            source: SourceSpec::Silence,
            media_timeout: Duration::from_secs(20),
            sip_timers: Timers::default(),
            sink: SinkSpec::Null,
            tls_ca: None,
            tls_server_name: None,
            srtp: SrtpPolicy::Optional,
        }
    }
}

impl PhoneConfig {
    /// The host part of our address of record (`sip:user@HOST`).
    pub fn domain(&self) -> String {
        if let Some(d) = &self.domain {
            return d.clone();
        }
        match self.server {
            Some(s) => s.ip().to_string(),
            None => self.bind.to_string(),
        }
    }

    /// Our address of record, `sip:user@domain`.
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain())
    }
}
