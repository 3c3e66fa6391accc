//! Admission control for calls nobody authenticated (issue 11 §4): each customer call holds a
//! room, an RTP socket and a record (≈ 140 KB and a file descriptor), so unauthenticated INVITEs
//! are capped per source address and in total; past a cap the INVITE gets `503` with
//! `Retry-After` and costs nothing more. A slot is held for the whole life of the call's room and
//! given back when the room ends (the [`CallSlot`] is dropped).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// The caps (`[security]` in the config).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallCaps {
    /// Customer calls in progress from one source IP.
    pub per_source: u32,
    /// Customer calls in progress in all.
    pub total: u32,
}

impl Default for CallCaps {
    fn default() -> Self {
        CallCaps {
            per_source: 20,
            total: 2000,
        }
    }
}

/// Counts of customer calls in progress.
pub struct Admission {
    caps: CallCaps,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    total: u32,
    by_source: HashMap<IpAddr, u32>,
}

/// Why a call was not admitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Full {
    /// This source has `per_source` calls in progress.
    Source,
    /// The server has `total` calls in progress.
    Server,
}

/// One admitted call; dropping it frees the slot.
pub struct CallSlot {
    admission: Arc<Admission>,
    source: IpAddr,
}

impl Admission {
    /// Admission under `caps`.
    pub fn new(caps: CallCaps) -> Arc<Admission> {
        Arc::new(Admission {
            caps,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for a call from `source`, or which cap is reached.
    pub fn admit(self: &Arc<Self>, source: IpAddr) -> Result<CallSlot, Full> {
        let mut c = self.lock();
        if c.total >= self.caps.total {
            return Err(Full::Server);
        }
        let n = c.by_source.entry(source).or_insert(0);
        if *n >= self.caps.per_source {
            return Err(Full::Source);
        }
        *n += 1;
        c.total += 1;
        Ok(CallSlot {
            admission: self.clone(),
            source,
        })
    }

    /// Customer calls in progress.
    pub fn total(&self) -> u32 {
        self.lock().total
    }
}

impl Drop for CallSlot {
    fn drop(&mut self) {
        let mut c = self.admission.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_source.get_mut(&self.source) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                c.by_source.remove(&self.source);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_per_source_and_in_total_and_slots_come_back() {
        let a = Admission::new(CallCaps {
            per_source: 2,
            total: 3,
        });
        let ip = |n: u8| IpAddr::from([127, 0, 0, n]);
        let s1 = a.admit(ip(2));
        let s2 = a.admit(ip(2));
        assert!(s1.is_ok() && s2.is_ok());
        assert_eq!(a.admit(ip(2)).err(), Some(Full::Source));
        let s3 = a.admit(ip(1));
        assert!(s3.is_ok());
        assert_eq!(a.admit(ip(3)).err(), Some(Full::Server));
        drop(s1);
        assert_eq!(a.total(), 2);
        assert!(
            a.admit(ip(2)).is_ok(),
            "a slot came back (and is dropped at once)"
        );
        drop((s2, s3));
        assert_eq!(a.total(), 0);
    }
}
