//! A trivial transaction user for load tests of the endpoint: answers every REGISTER `200 OK`
//! (in its transaction) or, with `--stateless`, `401` without state, and OPTIONS `200`.
//!
//! `cargo run --release -p agentphone-sip --example register_uas -- 127.0.0.1:5099 2 [--stateless]`
//! (address, shards). Prints the shard count and the requests answered every second.

use agentphone_sip::endpoint::{Endpoint, EndpointConfig};
use agentphone_sip::message::response;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:5099".into())
        .parse()
        .map_err(|_| std::io::Error::other("bad address"))?;
    let shards = args.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let stateless = args.any(|a| a == "--stateless");
    let config = EndpointConfig {
        shards,
        ..EndpointConfig::default()
    };
    let (endpoint, mut incoming) = Endpoint::bind_with(addr, config).await?;
    println!(
        "listening on {} with {} shard(s), {}",
        endpoint.local_addr(),
        endpoint.shards(),
        if stateless {
            "401 stateless"
        } else {
            "200 in a transaction"
        }
    );
    let answered = Arc::new(AtomicU64::new(0));
    let counter = answered.clone();
    tokio::spawn(async move {
        let mut last = 0;
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            let now = counter.load(Ordering::Relaxed);
            println!("{} answered/s", now - last);
            last = now;
        }
    });
    while let Some(tx) = incoming.recv().await {
        if tx.request.method == rsip::Method::Ack {
            continue;
        }
        let answered = answered.clone();
        tokio::spawn(async move {
            let result = if stateless {
                let resp = response(&tx.request, 401, "Unauthorized", Some("uas"));
                tx.respond_stateless(resp).await
            } else {
                tx.respond(response(&tx.request, 200, "OK", Some("uas")))
                    .await
            };
            if result.is_ok() {
                answered.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    Ok(())
}
