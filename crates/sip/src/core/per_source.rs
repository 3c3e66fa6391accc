//! Live non-INVITE server transactions per source IP (issue 11 §4): one address cannot fill a
//! shard's transaction table with MESSAGEs, SUBSCRIBEs or BYEs that each stay 32 s (Timer J) and
//! push everybody else into 503s. Past the cap its new requests get the stateless 503 with
//! Retry-After. INVITEs are left to the TU's call caps, CANCEL always gets through (it ends a
//! call), ACK makes no transaction.

use std::collections::HashMap;
use std::net::IpAddr;

/// Counts per source IP; an address with none has no entry, so the map is never larger than
/// the table of live transactions.
#[derive(Debug, Default)]
pub(crate) struct PerSource {
    counts: HashMap<IpAddr, u32>,
}

impl PerSource {
    /// Is a server transaction of `method` counted (and capped)?
    pub fn counts(method: &rsip::Method) -> bool {
        !matches!(
            method,
            rsip::Method::Invite | rsip::Method::Cancel | rsip::Method::Ack
        )
    }

    /// `ip` already has `cap` transactions (0: no cap).
    pub fn full(&self, ip: IpAddr, cap: usize) -> bool {
        cap > 0 && self.counts.get(&ip).map_or(0, |n| *n as usize) >= cap
    }

    /// A transaction of `ip` began.
    pub fn add(&mut self, ip: IpAddr) {
        *self.counts.entry(ip).or_default() += 1;
    }

    /// A transaction of `ip` ended.
    pub fn remove(&mut self, ip: IpAddr) {
        if let Some(n) = self.counts.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.counts.remove(&ip);
            }
        }
    }
}
