//! How messages find their transaction: keys from the top Via branch (RFC 3261 §17.1.3, §17.2.3),
//! dialog-level Call-ID + CSeq for 2xx/ACK, and the shard number our own branches carry.

use crate::message::fields;

/// Transactions are matched by top-Via branch + method (for a server transaction, ACK counts as
/// INVITE; for a client transaction, the CSeq method of the response). A server transaction's
/// `branch` also holds the top Via's sent-by (`<branch>|<sent-by>`, RFC 3261 §17.2.3): a request
/// from another host reusing a branch is a new transaction, not a retransmission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TxKey {
    pub branch: Box<str>,
    pub method: rsip::Method,
}

// rsip::Method has no Hash: hash its variant.
impl std::hash::Hash for TxKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.branch.hash(state);
        std::mem::discriminant(&self.method).hash(state);
    }
}

/// Dialog-level matching of a 2xx and its ACK: Call-ID + CSeq number.
pub(crate) type CallSeq = (Box<str>, u32);

/// Prefix of branches we generate: magic cookie, then `<shard>.`, then randomness.
const OWN_PREFIX: &str = "z9hG4bK.";

/// A new branch for a request sent by `shard`: `z9hG4bK.<shard>.<random>`. The shard number lets
/// whichever shard receives the response hand it to the one that owns the transaction.
pub fn shard_branch(shard: u16) -> String {
    let random = crate::message::new_branch();
    let tail = random.strip_prefix("z9hG4bK").unwrap_or(&random);
    format!("{OWN_PREFIX}{shard}.{tail}")
}

/// The shard encoded in one of our branches (None for branches others generated).
pub fn branch_shard(branch: &str) -> Option<u16> {
    let rest = branch.strip_prefix(OWN_PREFIX)?;
    let (shard, _) = rest.split_once('.')?;
    shard.parse().ok()
}

/// The shard (of `shards`) that owns every transaction of the call `call_id`: FNV-1a of the
/// Call-ID. Requests, their retransmissions, the ACK and CANCEL, the responses to requests we sent
/// and a retransmitted 2xx all carry the call's Call-ID, so they all land on one shard whichever
/// socket or worker received them.
pub fn call_id_shard(call_id: &str, shards: usize) -> usize {
    let hash = call_id
        .trim()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    usize::try_from(hash % (shards.max(1) as u64)).unwrap_or(0)
}

/// The method a server transaction is keyed by (an ACK belongs to its INVITE).
pub(crate) fn tx_method(method: rsip::Method) -> rsip::Method {
    match method {
        rsip::Method::Ack => rsip::Method::Invite,
        m => m,
    }
}

/// Call-ID + CSeq number of a parsed (hence validated) message.
pub(crate) fn call_seq<M: rsip::message::HeadersExt>(msg: &M) -> CallSeq {
    (
        fields::call_id(msg).unwrap_or_default().into_boxed_str(),
        fields::cseq(msg).map_or(0, |(n, _)| n),
    )
}

/// Server transaction key of a request: top-Via branch and sent-by (§17.2.3); RFC 2543 peers
/// without a magic-cookie branch get one built from Call-ID, CSeq number and From tag.
pub(crate) fn server_key(req: &rsip::Request) -> TxKey {
    let sent_by = fields::top_sent_by(req).unwrap_or_default();
    let branch = match fields::top_branch(req).filter(|b| b.starts_with("z9hG4bK")) {
        Some(branch) => format!("{branch}|{sent_by}"),
        None => {
            let (call_id, seq) = call_seq(req);
            let tag = fields::from_tag(req).unwrap_or_default();
            format!("rfc2543|{call_id}|{seq}|{tag}|{sent_by}")
        }
    };
    TxKey {
        branch: branch.into_boxed_str(),
        method: tx_method(req.method),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_id_always_maps_to_the_same_shard_in_range() {
        for shards in [1usize, 2, 3, 8] {
            let mut seen = vec![false; shards];
            for n in 0..200 {
                let id = format!("call-{n}@host");
                let s = call_id_shard(&id, shards);
                assert!(s < shards);
                assert_eq!(call_id_shard(&format!(" {id} "), shards), s);
                seen[s] = true;
            }
            assert!(seen.iter().all(|s| *s), "200 Call-IDs spread over {shards}");
        }
        assert_eq!(call_id_shard("x", 0), 0);
    }

    #[test]
    fn own_branches_carry_their_shard() {
        for shard in [0u16, 1, 7, 300] {
            let b = shard_branch(shard);
            assert!(b.starts_with("z9hG4bK"), "{b}");
            assert_eq!(branch_shard(&b), Some(shard), "{b}");
        }
        let cases = ["z9hG4bKabc", "z9hG4bK.x.y", "z9hG4bK.5", "foo"];
        for b in cases {
            assert_eq!(branch_shard(b), None, "{b}");
        }
    }
}
