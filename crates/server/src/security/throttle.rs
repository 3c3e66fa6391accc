//! Throttling of failed digest answers that an attacker cannot aim at somebody else (issue 11
//! §3). Failures are counted per (account, source address) with exponential back-off, so an
//! attacker's failures only slow the attacker's own source; and per account across all sources,
//! where a token bucket bounds how many answers from sources the account never logged in from
//! are checked at all — guessing from rotating addresses is slowed to the bucket's rate, while
//! the agent's own recent sources are never slowed by it. Sans-IO: time is a parameter.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The throttle's rules (`[security]` in the config).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleRules {
    /// Failures of one (account, source) before back-off starts.
    pub free_failures: u32,
    /// First back-off; doubles with each further failure.
    pub backoff_base: Duration,
    /// Longest back-off.
    pub backoff_max: Duration,
    /// Answers from untrusted sources checked per minute and account (after the burst).
    pub account_checks_per_minute: u32,
    /// Answers from untrusted sources checked at once before the rate applies.
    pub account_burst: u32,
    /// How long a source that logged in to an account stays trusted for it.
    pub trusted_for: Duration,
}

impl Default for ThrottleRules {
    fn default() -> Self {
        ThrottleRules {
            free_failures: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(600),
            account_checks_per_minute: 10,
            account_burst: 10,
            trusted_for: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Whether an answer may be checked now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Check it.
    Check,
    /// This source failed too often for this account: refuse for this long.
    BackOff(Duration),
    /// The account is being guessed from many sources: come back after this long.
    Slowed(Duration),
}

/// Bound on (account, source) pairs and trusted sources remembered.
const MAX_PAIRS: usize = 20_000;
/// Trusted sources kept per account.
const MAX_TRUSTED_PER_ACCOUNT: usize = 16;

/// The throttle state.
pub struct Throttle {
    rules: ThrottleRules,
    pairs: HashMap<(String, IpAddr), PairFailures>,
    accounts: HashMap<String, Account>,
}

struct PairFailures {
    count: u32,
    last: Instant,
    blocked_until: Option<Instant>,
}

struct Account {
    tokens: f64,
    refilled: Instant,
    /// Sources that logged in, with when.
    trusted: Vec<(IpAddr, Instant)>,
}

impl Throttle {
    /// A throttle with these rules.
    pub fn new(rules: ThrottleRules) -> Self {
        Throttle {
            rules,
            pairs: HashMap::new(),
            accounts: HashMap::new(),
        }
    }

    /// May an answer for `account` from `source` be checked now? A `Check` from an untrusted
    /// source takes one of the account's tokens (given back by [`Throttle::succeeded`]).
    /// `account` is `None` for unknown user names: they share one bucket.
    pub fn gate(&mut self, account: Option<&str>, source: IpAddr, now: Instant) -> Gate {
        let key = account.unwrap_or("");
        if let Some(p) = self.pairs.get(&(key.to_string(), source)) {
            if let Some(until) = p.blocked_until.filter(|u| *u > now) {
                return Gate::BackOff(until - now);
            }
        }
        let rules = &self.rules;
        let acc = self
            .accounts
            .entry(key.to_string())
            .or_insert_with(|| Account::new(rules, now));
        if acc.trusts(source, now, rules.trusted_for) {
            return Gate::Check;
        }
        acc.refill(rules, now);
        if acc.tokens >= 1.0 {
            acc.tokens -= 1.0;
            Gate::Check
        } else {
            let per_token = 60.0 / f64::from(rules.account_checks_per_minute.max(1));
            let wait = (1.0 - acc.tokens) * per_token;
            Gate::Slowed(Duration::from_secs_f64(wait.max(1.0)))
        }
    }

    /// A checked answer was wrong: the back-off this source now gets for this account, if any.
    pub fn failed(
        &mut self,
        account: Option<&str>,
        source: IpAddr,
        now: Instant,
    ) -> Option<Duration> {
        let key = (account.unwrap_or("").to_string(), source);
        if self.pairs.len() >= MAX_PAIRS && !self.pairs.contains_key(&key) {
            let max = self.rules.backoff_max;
            self.pairs.retain(|_, p| now.duration_since(p.last) < max);
            if self.pairs.len() >= MAX_PAIRS {
                // Still full of live attackers: the account bucket still bounds the guessing.
                return None;
            }
        }
        let p = self.pairs.entry(key).or_insert(PairFailures {
            count: 0,
            last: now,
            blocked_until: None,
        });
        // A quiet back-off period forgives (the agent fixed the password).
        if now.duration_since(p.last) >= self.rules.backoff_max {
            p.count = 0;
        }
        p.count = p.count.saturating_add(1);
        p.last = now;
        let over = p.count.checked_sub(self.rules.free_failures)?;
        let backoff = self
            .rules
            .backoff_base
            .saturating_mul(1u32 << over.min(20))
            .min(self.rules.backoff_max);
        p.blocked_until = Some(now + backoff);
        Some(backoff)
    }

    /// A checked answer was right: this source is trusted for the account from now on, its
    /// failures are forgotten and the token it took is given back.
    pub fn succeeded(&mut self, account: &str, source: IpAddr, now: Instant) {
        self.pairs.remove(&(account.to_string(), source));
        let rules = &self.rules;
        let acc = self
            .accounts
            .entry(account.to_string())
            .or_insert_with(|| Account::new(rules, now));
        if !acc.trusts(source, now, rules.trusted_for) {
            acc.tokens = (acc.tokens + 1.0).min(f64::from(rules.account_burst));
        }
        acc.trusted.retain(|(ip, _)| *ip != source);
        if acc.trusted.len() >= MAX_TRUSTED_PER_ACCOUNT {
            acc.trusted.remove(0);
        }
        acc.trusted.push((source, now));
    }
}

impl Account {
    fn new(rules: &ThrottleRules, now: Instant) -> Self {
        Account {
            tokens: f64::from(rules.account_burst),
            refilled: now,
            trusted: Vec::new(),
        }
    }

    fn trusts(&self, source: IpAddr, now: Instant, trusted_for: Duration) -> bool {
        self.trusted
            .iter()
            .any(|(ip, at)| *ip == source && now.duration_since(*at) < trusted_for)
    }

    fn refill(&mut self, rules: &ThrottleRules, now: Instant) {
        let per_sec = f64::from(rules.account_checks_per_minute) / 60.0;
        let gained = now.duration_since(self.refilled).as_secs_f64() * per_sec;
        self.tokens = (self.tokens + gained).min(f64::from(rules.account_burst));
        self.refilled = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn one_source_backs_off_exponentially_for_that_account_only() {
        let t0 = Instant::now();
        let mut t = Throttle::new(ThrottleRules::default());
        let a = Some("alice");
        // (seconds after t0, failure from 127.0.0.2 → back-off it gets)
        let table = [
            (0, None),
            (0, None),
            (0, Some(1)),
            (1, Some(2)),
            (3, Some(4)),
            (7, Some(8)),
        ];
        for (at, want) in table {
            let now = t0 + secs(at);
            assert_eq!(t.gate(a, ip(2), now), Gate::Check, "at {at}s");
            assert_eq!(t.failed(a, ip(2), now), want.map(secs), "at {at}s");
        }
        assert_eq!(t.gate(a, ip(2), t0 + secs(8)), Gate::BackOff(secs(7)));
        // Not the account from another source, not another account from that source.
        assert_eq!(t.gate(a, ip(1), t0 + secs(8)), Gate::Check);
        assert_eq!(t.gate(Some("bob"), ip(2), t0 + secs(8)), Gate::Check);
        // Back-off is capped, and a long quiet period forgives.
        for _ in 0..30 {
            t.failed(a, ip(2), t0 + secs(9));
        }
        assert_eq!(t.gate(a, ip(2), t0 + secs(9)), Gate::BackOff(secs(600)));
        let later = t0 + secs(9 + 600 + 1);
        assert_eq!(t.failed(a, ip(2), later), None);
    }

    #[test]
    fn rotating_sources_are_slowed_to_the_account_rate_but_trusted_sources_are_not() {
        let t0 = Instant::now();
        let mut t = Throttle::new(ThrottleRules::default());
        let a = Some("alice");
        t.succeeded("alice", ip(1), t0);
        // 200 guesses from 200 sources within 10 s: the burst (10) + 10 s at 10/min ≈ 1.
        let mut checked = 0;
        for i in 0..200u32 {
            let now = t0 + Duration::from_millis(u64::from(i) * 50);
            let source = IpAddr::from([10, 0, (i / 250) as u8, (i % 250) as u8]);
            match t.gate(a, source, now) {
                Gate::Check => {
                    checked += 1;
                    t.failed(a, source, now);
                }
                Gate::Slowed(wait) => assert!(wait >= secs(1) && wait <= secs(6), "{wait:?}"),
                Gate::BackOff(_) => panic!("one failure per source cannot back off"),
            }
        }
        assert_eq!(checked, 11, "burst 10 + one token in 10 s");
        // The agent's own source is still checked at once.
        assert_eq!(t.gate(a, ip(1), t0 + secs(10)), Gate::Check);
        // A new source of hers is slowed, not locked: a token comes back every 6 s.
        assert!(matches!(t.gate(a, ip(3), t0 + secs(10)), Gate::Slowed(_)));
        assert_eq!(t.gate(a, ip(3), t0 + secs(17)), Gate::Check);
        // Unknown user names share one bucket, apart from real accounts.
        for _ in 0..10 {
            assert_eq!(t.gate(None, ip(9), t0), Gate::Check);
        }
        assert!(matches!(t.gate(None, ip(9), t0), Gate::Slowed(_)));
        assert_eq!(t.gate(Some("bob"), ip(9), t0), Gate::Check);
    }

    #[test]
    fn a_success_gives_the_token_back_and_clears_the_source() {
        let t0 = Instant::now();
        let mut t = Throttle::new(ThrottleRules {
            account_burst: 1,
            ..ThrottleRules::default()
        });
        assert_eq!(t.gate(Some("a"), ip(5), t0), Gate::Check);
        t.succeeded("a", ip(5), t0);
        assert_eq!(t.gate(Some("a"), ip(6), t0), Gate::Check, "token returned");
        for _ in 0..3 {
            t.failed(Some("a"), ip(5), t0);
        }
        // Trusted, but failing now: back-off still applies until it succeeds again.
        assert!(matches!(t.gate(Some("a"), ip(5), t0), Gate::BackOff(_)));
        t.succeeded("a", ip(5), t0);
        assert_eq!(t.gate(Some("a"), ip(5), t0), Gate::Check);
    }
}
