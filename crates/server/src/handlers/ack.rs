//! ACK outside any known dialog (e.g. after the room ended): nothing to answer, nothing to do.

use agentphone_sip::endpoint::ServerTransaction;

/// Drop a stray ACK.
pub fn handle(tx: ServerTransaction) {
    tracing::debug!(peer = %tx.peer.addr, "ACK for no known dialog: ignored");
}
