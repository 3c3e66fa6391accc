//! The `[security]` section of the server config: throttling of failed logins.

use serde::Deserialize;
use toml::Spanned;

use super::throttle::ThrottleRules;

/// Validated `[security]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecurityConfig {
    /// Failed-login throttling.
    pub throttle: ThrottleRules,
    /// OPTIONS keepalives to registered agents this often (None: off).
    pub keepalive_interval: Option<std::time::Duration>,
    /// Caps on customer calls in progress.
    pub calls: super::admission::CallCaps,
    /// TCP: connections per source IP, and how long a partial message or an idle connection
    /// may last.
    pub tcp: agentphone_sip::endpoint::TcpLimits,
    /// Live non-INVITE server transactions per source IP (0: no cap); past it, 503.
    pub transactions_per_source: usize,
    /// Overload shedding of new calls (calls in set-up, their oldest wait).
    pub setup: super::setup_gate::SetupLimits,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            throttle: ThrottleRules::default(),
            keepalive_interval: Some(std::time::Duration::from_secs(DEFAULT_KEEPALIVE_S)),
            calls: Default::default(),
            tcp: Default::default(),
            transactions_per_source: DEFAULT_TRANSACTIONS_PER_SOURCE,
            setup: Default::default(),
        }
    }
}

/// Default `keepalive_interval_s`.
const DEFAULT_KEEPALIVE_S: u64 = 30;
/// Default `transactions_per_source`: a BYE or MESSAGE stays 32 s (Timer J), so one address can
/// still end about 600 calls a second (an SBC or the call-rate bench) before it meets the cap.
const DEFAULT_TRANSACTIONS_PER_SOURCE: usize = 20_000;

/// `[security]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSecurity {
    auth_failures_before_backoff: Option<Spanned<u64>>,
    auth_backoff_max_s: Option<Spanned<u64>>,
    account_checks_per_minute: Option<Spanned<u64>>,
    account_burst: Option<Spanned<u64>>,
    keepalive_interval_s: Option<Spanned<u64>>,
    max_calls_per_source: Option<Spanned<u64>>,
    max_calls: Option<Spanned<u64>>,
    tcp_connections_per_source: Option<Spanned<u64>>,
    tcp_header_timeout_s: Option<Spanned<u64>>,
    tcp_idle_timeout_s: Option<Spanned<u64>>,
    transactions_per_source: Option<Spanned<u64>>,
    max_calls_in_setup: Option<Spanned<u64>>,
    max_setup_delay_ms: Option<Spanned<u64>>,
    max_queued_calls: Option<Spanned<u64>>,
    overload_queue_wait_s: Option<Spanned<u64>>,
}

/// A rejected key: where, which, why.
pub type KeyError = (std::ops::Range<usize>, &'static str, String);

fn bounded(
    v: &Option<Spanned<u64>>,
    key: &'static str,
    range: std::ops::RangeInclusive<u64>,
    default: impl Into<u64>,
) -> Result<u64, KeyError> {
    match v {
        None => Ok(default.into()),
        Some(v) if range.contains(v.get_ref()) => Ok(*v.get_ref()),
        Some(v) => Err((
            v.span(),
            key,
            format!("must be between {} and {}", range.start(), range.end()),
        )),
    }
}

/// `bounded` for the field of `RawSecurity` named as its key: the name is written once.
macro_rules! key {
    ($raw:ident, $key:ident, $range:expr, $default:expr) => {
        bounded(&$raw.$key, stringify!($key), $range, $default)
    };
}

impl RawSecurity {
    /// Check ranges and fill defaults.
    pub fn validate(self) -> Result<SecurityConfig, KeyError> {
        let r = self;
        let d = ThrottleRules::default();
        let throttle = ThrottleRules {
            free_failures: key!(r, auth_failures_before_backoff, 1..=100, d.free_failures)? as u32,
            backoff_max: std::time::Duration::from_secs(key!(
                r,
                auth_backoff_max_s,
                1..=86_400,
                d.backoff_max.as_secs()
            )?),
            account_checks_per_minute: key!(
                r,
                account_checks_per_minute,
                1..=10_000,
                d.account_checks_per_minute
            )? as u32,
            account_burst: key!(r, account_burst, 1..=10_000, d.account_burst)? as u32,
            ..d
        };
        let keepalive = key!(r, keepalive_interval_s, 0..=3600, DEFAULT_KEEPALIVE_S)?;
        let dc = super::admission::CallCaps::default();
        let calls = super::admission::CallCaps {
            per_source: key!(r, max_calls_per_source, 1..=100_000, dc.per_source)? as u32,
            total: key!(r, max_calls, 1..=1_000_000, dc.total)? as u32,
        };
        let dt = agentphone_sip::endpoint::TcpLimits::default();
        let secs = std::time::Duration::from_secs;
        let tcp = agentphone_sip::endpoint::TcpLimits {
            per_source: key!(
                r,
                tcp_connections_per_source,
                1..=100_000,
                dt.per_source as u64
            )? as usize,
            header_timeout: secs(key!(
                r,
                tcp_header_timeout_s,
                1..=3600,
                dt.header_timeout.as_secs()
            )?),
            idle_timeout: secs(key!(
                r,
                tcp_idle_timeout_s,
                1..=86_400,
                dt.idle_timeout.as_secs()
            )?),
        };
        let transactions_per_source = key!(
            r,
            transactions_per_source,
            0..=10_000_000,
            DEFAULT_TRANSACTIONS_PER_SOURCE as u64
        )? as usize;
        let ds = super::setup_gate::SetupLimits::default();
        let setup = super::setup_gate::SetupLimits {
            max_pending: key!(r, max_calls_in_setup, 1..=1_000_000, ds.max_pending)? as u32,
            max_delay: std::time::Duration::from_millis(key!(
                r,
                max_setup_delay_ms,
                0..=60_000,
                ds.max_delay.as_millis() as u64
            )?),
            max_queued: key!(r, max_queued_calls, 1..=1_000_000, ds.max_queued)? as u32,
            overload_queue_wait: std::time::Duration::from_secs(key!(
                r,
                overload_queue_wait_s,
                0..=86_400,
                ds.overload_queue_wait.as_secs()
            )?),
        };
        Ok(SecurityConfig {
            setup,
            throttle,
            keepalive_interval: (keepalive > 0).then(|| std::time::Duration::from_secs(keepalive)),
            calls,
            tcp,
            transactions_per_source,
        })
    }
}
