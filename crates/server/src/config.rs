//! The server's configuration: a TOML file (`[server]`, `[[agents]]`, `[[teams]]`, and an opaque
//! `[phone]` table that belongs to the softphone). Unknown keys are errors; every error names the
//! file, the line and the key (SPEC B5).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::security::srtp::SrtpPolicy;
use agentphone_sip::auth::Algorithm;
use serde::Deserialize;
use toml::Spanned;

pub use crate::config_error::ConfigError;

/// The validated configuration the server runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where SIP (UDP and TCP) listens; port 0 = ephemeral.
    pub listen: SocketAddr,
    /// The host name/IP that request-URIs use for "us" (any port).
    pub domain: String,
    /// The IP RTP sockets bind to and SDP announces.
    pub media_ip: IpAddr,
    /// Digest realm.
    pub realm: String,
    /// How long a nonce stays valid.
    pub nonce_lifetime: Duration,
    /// Digest algorithms offered in a 401, in this order (one `WWW-Authenticate` each).
    pub digest_algorithms: Vec<Algorithm>,
    /// How long one agent is rung before the next is tried.
    pub ring_timeout: Duration,
    /// Silence on a leg after which it is considered gone.
    pub rtp_timeout: Duration,
    /// Most parties in one room (counting one being rung).
    pub max_participants: usize,
    /// How long a customer waits (music on hold) for a team member to free up (SPEC R1).
    pub queue_timeout: Duration,
    /// Put the customer on hold with music while a transfer rings and during the consultation (T2).
    pub hold_customer_on_transfer: bool,
    /// Music on hold WAV (resolved against the config file's directory).
    pub music_on_hold: PathBuf,
    /// Ringback WAV (resolved against the config file's directory).
    pub ringback: PathBuf,
    /// SQLite database for call records, or `:memory:`.
    pub database: PathBuf,
    /// Media worker threads (`[media] workers`; default one per core).
    pub media_workers: usize,
    /// UDP ports RTP sockets bind (`[media] rtp_ports = "FIRST-LAST"`); None: ephemeral ports.
    pub rtp_ports: Option<std::ops::RangeInclusive<u16>>,
    /// Agent accounts.
    pub agents: Vec<AgentConfig>,
    /// Teams, with ordered members.
    pub teams: Vec<TeamConfig>,
    /// The reasons an agent may give for being away (`[agent_states] away_reasons`).
    pub away_reasons: Vec<String>,
    /// The disposition codes an agent may set on a call (`[dispositions] codes`).
    pub disposition_codes: Vec<String>,
    /// Throttles and limits against attackers (`[security]`).
    pub security: crate::security::SecurityConfig,
    /// SIP over TLS (`[tls] cert`, `key`, `listen`); None: no TLS listener.
    pub tls: Option<TlsFiles>,
    /// SRTP for accounts and teams that say nothing (`[tls] srtp`).
    pub srtp: SrtpPolicy,
    /// Accept and send SDES keys over plain UDP/TCP SIP too (`[tls] sdes_over_plain`).
    pub sdes_over_plain: bool,
    /// Cluster mode (`[cluster]`): None runs alone with SQLite.
    pub cluster: Option<crate::cluster::ClusterConfig>,
}

/// Where SIP over TLS listens and with which certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// Default: the SIP listen IP, port 5061 (port 0 when SIP's port is 0).
    pub listen: SocketAddr,
    /// PEM certificate chain (resolved against the config file's directory).
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// One agent account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// SIP user name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Digest password from the config, if still there: imported into the database as a hash at
    /// start-up (with a warning). Agents without one log in with the secret stored by
    /// `agentphone-server agent add`.
    pub password: Option<String>,
    /// `role = "supervisor"`: may watch the floor and listen, whisper or barge (SPEC V3).
    pub supervisor: bool,
    /// `srtp = "off" | "optional" | "required"` for this agent's legs (None: `[tls] srtp`).
    pub srtp: Option<SrtpPolicy>,
}

/// One team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamConfig {
    /// Team name.
    pub name: String,
    /// Members (agent user names); order is only a tie-break.
    pub members: Vec<String>,
    /// User part of the inbound address (`sip:INBOUND@domain`) that customers call, if any.
    pub inbound: Option<String>,
    /// After-call work after each call of a member (`wrap_up_s`; zero = none).
    pub wrap_up: Duration,
    /// `srtp` for the calls to this team (None: `[tls] srtp`).
    pub srtp: Option<SrtpPolicy>,
}

impl Config {
    /// Parse and validate a configuration. `file_name` is used in error messages and to resolve
    /// relative asset/database paths (against its directory).
    pub fn from_toml_str(text: &str, file_name: &str) -> Result<Config, ConfigError> {
        let raw: RawFile =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file_name, text, &e))?;
        let base = Path::new(file_name)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Validator {
            file: file_name,
            text,
        }
        .build(raw, &base)
    }

    /// The agent with this user name.
    pub fn agent(&self, username: &str) -> Option<&AgentConfig> {
        self.agents.iter().find(|a| a.username == username)
    }

    /// Does this account have the supervisor role (SPEC V3)?
    pub fn is_supervisor(&self, username: &str) -> bool {
        self.agent(username).is_some_and(|a| a.supervisor)
    }

    /// The SRTP policy of an agent's legs.
    pub fn agent_srtp(&self, username: &str) -> SrtpPolicy {
        self.agent(username)
            .and_then(|a| a.srtp)
            .unwrap_or(self.srtp)
    }

    /// The SRTP policy of the calls to a team.
    pub fn team_srtp(&self, name: &str) -> SrtpPolicy {
        self.team(name).and_then(|t| t.srtp).unwrap_or(self.srtp)
    }

    /// The team with this name.
    pub fn team(&self, name: &str) -> Option<&TeamConfig> {
        self.teams.iter().find(|t| t.name == name)
    }

    /// How long `user` wraps up after a call: the longest `wrap_up_s` of their teams.
    pub fn wrap_up_of(&self, user: &str) -> Duration {
        self.teams
            .iter()
            .filter(|t| t.members.iter().any(|m| m == user))
            .map(|t| t.wrap_up)
            .max()
            .unwrap_or_default()
    }

    /// The team whose inbound address has this user part.
    pub fn team_by_inbound(&self, user: &str) -> Option<&TeamConfig> {
        self.teams
            .iter()
            .find(|t| t.inbound.as_deref() == Some(user))
    }

    /// A configuration for tests and embedding: listen on `listen`, no agents or teams,
    /// in-memory database, defaults elsewhere.
    pub fn minimal(listen: SocketAddr) -> Config {
        let ip = listen_ip_or_loopback(listen.ip());
        Config {
            listen,
            domain: ip.to_string(),
            media_ip: ip,
            realm: DEFAULT_REALM.into(),
            nonce_lifetime: Duration::from_secs(300),
            digest_algorithms: DEFAULT_DIGEST_ALGORITHMS.to_vec(),
            ring_timeout: Duration::from_secs(15),
            rtp_timeout: Duration::from_secs(8),
            max_participants: 3,
            queue_timeout: Duration::from_secs(120),
            hold_customer_on_transfer: true,
            music_on_hold: PathBuf::from("assets/music-on-hold.wav"),
            ringback: PathBuf::from("assets/ringback.wav"),
            database: PathBuf::from(":memory:"),
            media_workers: crate::media_engine::default_workers(),
            rtp_ports: None,
            agents: Vec::new(),
            teams: Vec::new(),
            away_reasons: default_away_reasons(),
            disposition_codes: default_disposition_codes(),
            security: Default::default(),
            tls: None,
            srtp: SrtpPolicy::default(),
            sdes_over_plain: false,
            cluster: None,
        }
    }
}

/// Read and parse a configuration file.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        line: None,
        key: None,
        message: format!("cannot read the file: {e}"),
    })?;
    Config::from_toml_str(&text, &file)
}

const DEFAULT_REALM: &str = "agentphone";

/// The away reasons when the file names none.
fn default_away_reasons() -> Vec<String> {
    ["break", "lunch", "training", "meeting"]
        .map(String::from)
        .to_vec()
}
/// The disposition codes when the file names none.
fn default_disposition_codes() -> Vec<String> {
    ["resolved", "callback", "escalated", "wrong number"]
        .map(String::from)
        .to_vec()
}

/// RFC 8760 §2.4: the preferred (strongest) algorithm first.
const DEFAULT_DIGEST_ALGORITHMS: [Algorithm; 2] = [Algorithm::Sha256, Algorithm::Md5];

fn listen_ip_or_loopback(ip: IpAddr) -> IpAddr {
    if ip.is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        ip
    }
}

// ---- the file as written (spans kept for validation messages) ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    agents: Vec<RawAgent>,
    #[serde(default)]
    teams: Vec<RawTeam>,
    #[serde(default)]
    media: RawMedia,
    #[serde(default)]
    agent_states: RawAgentStates,
    #[serde(default)]
    dispositions: RawDispositions,
    #[serde(default)]
    security: crate::security::config::RawSecurity,
    #[serde(default)]
    tls: RawTls,
    #[serde(default)]
    cluster: Option<crate::cluster::config::RawCluster>,
    /// The softphone's section: not ours to check.
    #[serde(default)]
    #[allow(dead_code)]
    phone: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    domain: Option<Spanned<String>>,
    media_ip: Option<Spanned<String>>,
    realm: Option<String>,
    nonce_lifetime_s: Option<Spanned<u64>>,
    digest_algorithms: Option<Spanned<Vec<Spanned<String>>>>,
    ring_timeout_s: Option<Spanned<u64>>,
    rtp_timeout_s: Option<Spanned<u64>>,
    max_participants: Option<Spanned<u64>>,
    queue_timeout_s: Option<Spanned<u64>>,
    hold_customer_on_transfer: Option<bool>,
    music_on_hold: Option<String>,
    ringback: Option<String>,
    database: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTls {
    listen: Option<Spanned<String>>,
    cert: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    srtp: Option<Spanned<String>>,
    sdes_over_plain: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    workers: Option<Spanned<u64>>,
    rtp_ports: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAgentStates {
    away_reasons: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDispositions {
    codes: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    username: Spanned<String>,
    display_name: Option<String>,
    password: Option<Spanned<String>>,
    role: Option<Spanned<String>>,
    srtp: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    name: Spanned<String>,
    #[serde(default)]
    members: Vec<Spanned<String>>,
    inbound: Option<Spanned<String>>,
    wrap_up_s: Option<Spanned<u64>>,
    srtp: Option<Spanned<String>>,
}

struct Validator<'a> {
    file: &'a str,
    text: &'a str,
}

impl Validator<'_> {
    fn error_at(&self, span: std::ops::Range<usize>, key: &str, message: String) -> ConfigError {
        ConfigError::at_offset(
            self.file,
            self.text,
            span.start,
            Some(key.to_string()),
            message,
        )
    }

    fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        key: &str,
        message: impl Into<String>,
    ) -> Result<T, ConfigError> {
        Err(ConfigError::at_offset(
            self.file,
            self.text,
            span.start,
            Some(key.to_string()),
            message,
        ))
    }

    fn build(&self, raw: RawFile, base: &Path) -> Result<Config, ConfigError> {
        let s = raw.server;
        let listen = self.socket_addr(&s.listen, SocketAddr::from(([127, 0, 0, 1], 5060)))?;
        let media_ip = match &s.media_ip {
            None => listen_ip_or_loopback(listen.ip()),
            Some(v) => match v.get_ref().parse::<IpAddr>() {
                Ok(ip) if !ip.is_unspecified() => ip,
                _ => {
                    return self.err(
                        v.span(),
                        "media_ip",
                        format!("`{}` is not a usable IP address", v.get_ref()),
                    )
                }
            },
        };
        let domain = match &s.domain {
            None => listen_ip_or_loopback(listen.ip()).to_string(),
            Some(v) if v.get_ref().trim().is_empty() || v.get_ref().contains(['@', ' ', ':']) => {
                return self.err(v.span(), "domain", "must be a host name or IP without port")
            }
            Some(v) => v.get_ref().clone(),
        };
        let nonce_lifetime = self.seconds(&s.nonce_lifetime_s, "nonce_lifetime_s", 300)?;
        let digest_algorithms = self.digest_algorithms(&s.digest_algorithms)?;
        let ring_timeout = self.seconds(&s.ring_timeout_s, "ring_timeout_s", 15)?;
        let rtp_timeout = self.seconds(&s.rtp_timeout_s, "rtp_timeout_s", 8)?;
        let max_participants = match &s.max_participants {
            None => 3,
            Some(v) if (2..=16).contains(v.get_ref()) => *v.get_ref() as usize,
            Some(v) => return self.err(v.span(), "max_participants", "must be between 2 and 16"),
        };
        let queue_timeout = self.seconds(&s.queue_timeout_s, "queue_timeout_s", 120)?;
        let media_workers = match &raw.media.workers {
            None => crate::media_engine::default_workers(),
            Some(v) if (1..=256).contains(v.get_ref()) => *v.get_ref() as usize,
            Some(v) => return self.err(v.span(), "workers", "must be between 1 and 256"),
        };
        let rtp_ports = match &raw.media.rtp_ports {
            None => None,
            Some(v) => match crate::rtp_ports::parse_range(v.get_ref()) {
                Some(range) => Some(range),
                None => {
                    let why = "must be \"FIRST-LAST\" with 1024 <= FIRST <= LAST <= 65535";
                    return self.err(v.span(), "rtp_ports", why);
                }
            },
        };
        let agents = self.agents(raw.agents)?;
        let teams = self.teams(raw.teams, &agents)?;
        let away_reasons = self.words(
            raw.agent_states.away_reasons,
            "away_reasons",
            default_away_reasons(),
            // The server's own reason is not one to pick.
            Some(agentphone_protocol::agent_state::MISSED_CALL),
        )?;
        let disposition_codes = self.words(
            raw.dispositions.codes,
            "codes",
            default_disposition_codes(),
            None,
        )?;
        let security = raw
            .security
            .validate()
            .map_err(|(span, key, msg)| self.error_at(span, key, msg))?;
        let tls = self.tls_files(&raw.tls, listen, base)?;
        let srtp = self.srtp(&raw.tls.srtp)?.unwrap_or_default();
        let cluster = raw
            .cluster
            .map(|c| c.validate())
            .transpose()
            .map_err(|(span, key, msg)| self.error_at(span, key, msg))?;
        Ok(Config {
            listen,
            domain,
            media_ip,
            realm: s.realm.unwrap_or_else(|| DEFAULT_REALM.into()),
            nonce_lifetime,
            digest_algorithms,
            ring_timeout,
            rtp_timeout,
            max_participants,
            queue_timeout,
            hold_customer_on_transfer: s.hold_customer_on_transfer.unwrap_or(true),
            music_on_hold: resolve(
                base,
                s.music_on_hold
                    .as_deref()
                    .unwrap_or("assets/music-on-hold.wav"),
            ),
            ringback: resolve(base, s.ringback.as_deref().unwrap_or("assets/ringback.wav")),
            database: match s.database.as_deref() {
                Some(":memory:") => PathBuf::from(":memory:"),
                other => resolve(base, other.unwrap_or("agentphone.db")),
            },
            media_workers,
            rtp_ports,
            agents,
            teams,
            away_reasons,
            disposition_codes,
            security,
            tls,
            srtp,
            sdes_over_plain: raw.tls.sdes_over_plain.unwrap_or(false),
            cluster,
        })
    }

    /// A `listen = "IP:PORT"` key (any section), or `default`.
    fn socket_addr(
        &self,
        v: &Option<Spanned<String>>,
        default: SocketAddr,
    ) -> Result<SocketAddr, ConfigError> {
        match v {
            None => Ok(default),
            Some(v) => match v.get_ref().parse::<SocketAddr>() {
                Ok(a) => Ok(a),
                Err(_) => self.err(
                    v.span(),
                    "listen",
                    format!("`{}` is not IP:PORT", v.get_ref()),
                ),
            },
        }
    }

    /// `srtp = "off" | "optional" | "required"` (any section).
    fn srtp(&self, v: &Option<Spanned<String>>) -> Result<Option<SrtpPolicy>, ConfigError> {
        match v {
            None => Ok(None),
            Some(v) => match SrtpPolicy::parse(v.get_ref()) {
                Some(p) => Ok(Some(p)),
                None => self.err(
                    v.span(),
                    "srtp",
                    "must be \"off\", \"optional\" or \"required\"",
                ),
            },
        }
    }

    /// `[tls]`: both `cert` and `key`, or neither (no TLS listener).
    fn tls_files(
        &self,
        t: &RawTls,
        sip: SocketAddr,
        base: &Path,
    ) -> Result<Option<TlsFiles>, ConfigError> {
        let (cert, key) = match (&t.cert, &t.key) {
            (None, None) => {
                if let Some(l) = &t.listen {
                    return self.err(l.span(), "listen", "TLS needs `cert` and `key`");
                }
                return Ok(None);
            }
            (Some(c), Some(k)) => (c, k),
            (Some(c), None) => return self.err(c.span(), "cert", "`key` is missing"),
            (None, Some(k)) => return self.err(k.span(), "key", "`cert` is missing"),
        };
        let default = SocketAddr::new(sip.ip(), if sip.port() == 0 { 0 } else { 5061 });
        let listen = self.socket_addr(&t.listen, default)?;
        Ok(Some(TlsFiles {
            listen,
            cert: resolve(base, cert.get_ref()),
            key: resolve(base, key.get_ref()),
        }))
    }

    /// A list of words an agent picks from (away reasons, disposition codes): non-empty,
    /// distinct, short, not `reserved`; `default` when the file names none.
    fn words(
        &self,
        raw: Option<Spanned<Vec<Spanned<String>>>>,
        key: &str,
        default: Vec<String>,
        reserved: Option<&str>,
    ) -> Result<Vec<String>, ConfigError> {
        let Some(list) = raw else {
            return Ok(default);
        };
        let mut out: Vec<String> = Vec::new();
        for r in list.into_inner() {
            let text = r.get_ref().trim();
            if text.is_empty() || text.chars().count() > 40 || text.chars().any(char::is_control) {
                return self.err(r.span(), key, "each is 1 to 40 plain characters");
            }
            if out.iter().any(|o| o == text) || Some(text) == reserved {
                return self.err(
                    r.span(),
                    key,
                    format!("`{text}` is listed twice or is the server's own"),
                );
            }
            out.push(text.to_string());
        }
        Ok(out)
    }

    fn seconds(
        &self,
        v: &Option<Spanned<u64>>,
        key: &str,
        default: u64,
    ) -> Result<Duration, ConfigError> {
        match v {
            None => Ok(Duration::from_secs(default)),
            Some(v) if *v.get_ref() == 0 || *v.get_ref() > 86_400 => {
                self.err(v.span(), key, "must be between 1 and 86400 seconds")
            }
            Some(v) => Ok(Duration::from_secs(*v.get_ref())),
        }
    }

    fn digest_algorithms(
        &self,
        v: &Option<Spanned<Vec<Spanned<String>>>>,
    ) -> Result<Vec<Algorithm>, ConfigError> {
        const KEY: &str = "digest_algorithms";
        let Some(v) = v else {
            return Ok(DEFAULT_DIGEST_ALGORITHMS.to_vec());
        };
        if v.get_ref().is_empty() {
            return self.err(
                v.span(),
                KEY,
                "must name at least one of \"SHA-256\", \"MD5\"",
            );
        }
        let mut out = Vec::with_capacity(v.get_ref().len());
        for name in v.get_ref() {
            let Some(algorithm) = Algorithm::from_name(Some(name.get_ref())) else {
                return self.err(
                    name.span(),
                    KEY,
                    format!("`{}` is not \"SHA-256\" or \"MD5\"", name.get_ref()),
                );
            };
            if out.contains(&algorithm) {
                return self.err(
                    name.span(),
                    KEY,
                    format!("`{}` is listed twice", name.get_ref()),
                );
            }
            out.push(algorithm);
        }
        Ok(out)
    }

    fn agents(&self, raw: Vec<RawAgent>) -> Result<Vec<AgentConfig>, ConfigError> {
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(raw.len());
        for a in raw {
            let name = a.username.get_ref();
            if !is_sip_user(name) {
                return self.err(
                    a.username.span(),
                    "username",
                    format!("`{name}` is not a valid SIP user name"),
                );
            }
            if !seen.insert(name.clone()) {
                return self.err(
                    a.username.span(),
                    "username",
                    format!("agent `{name}` is defined twice"),
                );
            }
            if let Some(p) = a.password.as_ref().filter(|p| p.get_ref().is_empty()) {
                return self.err(p.span(), "password", "must not be empty");
            }
            let supervisor = match a.role.as_ref().map(|r| r.get_ref().as_str()) {
                None | Some("agent") => false,
                Some("supervisor") => true,
                Some(other) => {
                    let span = a.role.as_ref().map(|r| r.span()).unwrap_or_default();
                    return self.err(
                        span,
                        "role",
                        format!("`{other}` is not a role: agent or supervisor"),
                    );
                }
            };
            out.push(AgentConfig {
                supervisor,
                srtp: self.srtp(&a.srtp)?,
                display_name: a.display_name.unwrap_or_else(|| name.clone()),
                username: a.username.into_inner(),
                password: a.password.map(Spanned::into_inner),
            });
        }
        Ok(out)
    }

    fn teams(
        &self,
        raw: Vec<RawTeam>,
        agents: &[AgentConfig],
    ) -> Result<Vec<TeamConfig>, ConfigError> {
        let mut names = HashSet::new();
        let mut inbounds = HashSet::new();
        let mut out = Vec::with_capacity(raw.len());
        for t in raw {
            let name = t.name.get_ref();
            if !is_sip_user(name) {
                return self.err(
                    t.name.span(),
                    "name",
                    format!("`{name}` is not a valid team name"),
                );
            }
            if !names.insert(name.clone()) {
                return self.err(
                    t.name.span(),
                    "name",
                    format!("team `{name}` is defined twice"),
                );
            }
            let mut members = Vec::with_capacity(t.members.len());
            for m in &t.members {
                if !agents.iter().any(|a| &a.username == m.get_ref()) {
                    return self.err(
                        m.span(),
                        "members",
                        format!("`{}` is not an agent", m.get_ref()),
                    );
                }
                if members.contains(m.get_ref()) {
                    return self.err(
                        m.span(),
                        "members",
                        format!("`{}` is listed twice", m.get_ref()),
                    );
                }
                members.push(m.get_ref().clone());
            }
            let inbound = match t.inbound {
                None => None,
                Some(v) => {
                    let user = v.get_ref();
                    if !is_sip_user(user) {
                        return self.err(
                            v.span(),
                            "inbound",
                            format!("`{user}` is not a valid SIP user part"),
                        );
                    }
                    if agents.iter().any(|a| &a.username == user) {
                        return self.err(
                            v.span(),
                            "inbound",
                            format!("`{user}` is also an agent's user name"),
                        );
                    }
                    if !inbounds.insert(user.clone()) {
                        return self.err(
                            v.span(),
                            "inbound",
                            format!("`{user}` is used by two teams"),
                        );
                    }
                    Some(v.into_inner())
                }
            };
            let wrap_up = match &t.wrap_up_s {
                None => Duration::ZERO,
                Some(v) if *v.get_ref() <= 3600 => Duration::from_secs(*v.get_ref()),
                Some(v) => {
                    return self.err(v.span(), "wrap_up_s", "must be between 0 and 3600 seconds")
                }
            };
            out.push(TeamConfig {
                srtp: self.srtp(&t.srtp)?,
                name: t.name.into_inner(),
                members,
                inbound,
                wrap_up,
            });
        }
        Ok(out)
    }
}

/// Letters, digits and `-_.+` — what we accept as a SIP user part in the configuration.
fn is_sip_user(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.+".contains(c))
}

fn resolve(base: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn algorithms(value: &str) -> Result<Vec<Algorithm>, ConfigError> {
        let text = format!("[server]\n\ndigest_algorithms = {value}\n");
        Config::from_toml_str(&text, "t.toml").map(|c| c.digest_algorithms)
    }

    #[test]
    fn digest_algorithms_keep_the_written_order_and_default_to_sha256_first() -> anyhow::Result<()>
    {
        let default = Config::from_toml_str("[server]\n", "t.toml")?;
        assert_eq!(
            default.digest_algorithms,
            [Algorithm::Sha256, Algorithm::Md5]
        );
        assert_eq!(
            algorithms(r#"["MD5", "sha-256"]"#)?,
            [Algorithm::Md5, Algorithm::Sha256]
        );
        assert_eq!(algorithms(r#"["MD5"]"#)?, [Algorithm::Md5]);
        Ok(())
    }

    #[test]
    fn bad_digest_algorithms_name_line_and_key() {
        for (value, message) in [
            ("[]", "at least one"),
            (r#"["MD5", "SHA-512"]"#, "`SHA-512` is not"),
            (r#"["MD5", "md5"]"#, "listed twice"),
        ] {
            let Err(e) = algorithms(value) else {
                panic!("{value} accepted");
            };
            assert_eq!(
                (e.line, e.key.as_deref()),
                (Some(3), Some("digest_algorithms")),
                "{e}"
            );
            assert!(e.message.contains(message), "{value}: {e}");
        }
    }

    #[test]
    fn away_reasons_and_wrap_up_per_team() -> anyhow::Result<()> {
        let text = "[agent_states]\naway_reasons = [\"break\", \"coaching\"]\n\
            [[agents]]\nusername = \"a\"\npassword = \"p\"\n\
            [[agents]]\nusername = \"b\"\npassword = \"p\"\n\
            [[teams]]\nname = \"support\"\nmembers = [\"a\", \"b\"]\nwrap_up_s = 20\n\
            [[teams]]\nname = \"sales\"\nmembers = [\"a\"]\nwrap_up_s = 45\n";
        let c = Config::from_toml_str(text, "t.toml")?;
        assert_eq!(c.away_reasons, ["break", "coaching"]);
        assert_eq!(c.wrap_up_of("a"), Duration::from_secs(45), "the longest");
        assert_eq!(c.wrap_up_of("b"), Duration::from_secs(20));
        assert_eq!(c.wrap_up_of("nobody"), Duration::ZERO);
        let default = Config::from_toml_str("[server]\n", "t.toml")?;
        assert_eq!(
            default.away_reasons,
            ["break", "lunch", "training", "meeting"]
        );
        assert_eq!(
            default.disposition_codes,
            ["resolved", "callback", "escalated", "wrong number"]
        );
        let c = Config::from_toml_str(
            "[dispositions]\ncodes = [\"sale\", \"no sale\"]\n",
            "t.toml",
        )?;
        assert_eq!(c.disposition_codes, ["sale", "no sale"]);
        for (text, line, key) in [
            ("[dispositions]\ncodes = [\"sale\", \"sale\"]\n", 2, "codes"),
            ("[dispositions]\ncodes = [\"\"]\n", 2, "codes"),
            (
                "[agent_states]\naway_reasons = [\"lunch\", \"missed call\"]\n",
                2,
                "away_reasons",
            ),
            (
                "[agent_states]\n\naway_reasons = [\" \"]\n",
                3,
                "away_reasons",
            ),
            (
                "[[teams]]\nname = \"s\"\nwrap_up_s = 9999\n",
                3,
                "wrap_up_s",
            ),
        ] {
            let Err(e) = Config::from_toml_str(text, "t.toml") else {
                panic!("{text} accepted");
            };
            assert_eq!((e.line, e.key.as_deref()), (Some(line), Some(key)), "{e}");
        }
        Ok(())
    }

    #[test]
    fn the_supervisor_role_is_read_and_a_wrong_role_named_with_its_line() -> anyhow::Result<()> {
        let text = "[[agents]]\nusername = \"sue\"\npassword = \"s\"\nrole = \"supervisor\"\n\
            [[agents]]\nusername = \"bob\"\npassword = \"b\"\nrole = \"agent\"\n\
            [[agents]]\nusername = \"al\"\npassword = \"a\"\n";
        let c = Config::from_toml_str(text, "t.toml")?;
        assert!(c.is_supervisor("sue"));
        assert!(!c.is_supervisor("bob") && !c.is_supervisor("al") && !c.is_supervisor("x"));
        let bad = "[[agents]]\nusername = \"sue\"\npassword = \"s\"\n\nrole = \"boss\"\n";
        let Err(e) = Config::from_toml_str(bad, "t.toml") else {
            panic!("role boss accepted");
        };
        assert_eq!((e.line, e.key.as_deref()), (Some(5), Some("role")), "{e}");
        assert!(e.to_string().contains("agent or supervisor"), "{e}");
        Ok(())
    }
}
