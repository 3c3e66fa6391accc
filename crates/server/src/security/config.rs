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
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            throttle: ThrottleRules::default(),
            keepalive_interval: Some(std::time::Duration::from_secs(DEFAULT_KEEPALIVE_S)),
        }
    }
}

/// Default `keepalive_interval_s`.
const DEFAULT_KEEPALIVE_S: u64 = 30;

/// `[security]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawSecurity {
    auth_failures_before_backoff: Option<Spanned<u64>>,
    auth_backoff_max_s: Option<Spanned<u64>>,
    account_checks_per_minute: Option<Spanned<u64>>,
    account_burst: Option<Spanned<u64>>,
    keepalive_interval_s: Option<Spanned<u64>>,
}

/// A rejected key: where, which, why.
pub type KeyError = (std::ops::Range<usize>, &'static str, String);

fn bounded(
    v: &Option<Spanned<u64>>,
    key: &'static str,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
) -> Result<u64, KeyError> {
    match v {
        None => Ok(default),
        Some(v) if range.contains(v.get_ref()) => Ok(*v.get_ref()),
        Some(v) => Err((
            v.span(),
            key,
            format!("must be between {} and {}", range.start(), range.end()),
        )),
    }
}

impl RawSecurity {
    /// Check ranges and fill defaults.
    pub fn validate(self) -> Result<SecurityConfig, KeyError> {
        let d = ThrottleRules::default();
        let throttle = ThrottleRules {
            free_failures: bounded(
                &self.auth_failures_before_backoff,
                "auth_failures_before_backoff",
                1..=100,
                u64::from(d.free_failures),
            )? as u32,
            backoff_max: std::time::Duration::from_secs(bounded(
                &self.auth_backoff_max_s,
                "auth_backoff_max_s",
                1..=86_400,
                d.backoff_max.as_secs(),
            )?),
            account_checks_per_minute: bounded(
                &self.account_checks_per_minute,
                "account_checks_per_minute",
                1..=10_000,
                u64::from(d.account_checks_per_minute),
            )? as u32,
            account_burst: bounded(
                &self.account_burst,
                "account_burst",
                1..=10_000,
                u64::from(d.account_burst),
            )? as u32,
            ..d
        };
        let keepalive = bounded(
            &self.keepalive_interval_s,
            "keepalive_interval_s",
            0..=3600,
            DEFAULT_KEEPALIVE_S,
        )?;
        Ok(SecurityConfig {
            throttle,
            keepalive_interval: (keepalive > 0).then(|| std::time::Duration::from_secs(keepalive)),
        })
    }
}
