//! Optional deadlines for `select!`.

use tokio::time::Instant;

/// Sleep until `deadline`, or forever when there is none.
pub(crate) async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
