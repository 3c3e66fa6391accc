//! Hostile input against a live endpoint over UDP and TCP: it keeps working afterwards.

use crate::common::*;
use agentphone_sip::message;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

fn mutated_samples(seed: u64, count: usize) -> Vec<Vec<u8>> {
    let dir = format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"));
    let samples: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .expect("data dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sip"))
        .map(|p| std::fs::read(p).expect("sample"))
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let mut bytes = samples[rng.gen_range(0..samples.len())].clone();
            for _ in 0..rng.gen_range(1..6) {
                let pos = rng.gen_range(0..bytes.len());
                match rng.gen_range(0..3) {
                    0 => bytes[pos] = rng.gen(),
                    1 => bytes.truncate(pos.max(1)),
                    _ => bytes.insert(pos, b"\r\n:;,<>\"\0"[rng.gen_range(0..9)]),
                }
            }
            bytes
        })
        .collect()
}

async fn still_serves(
    b: &agentphone_sip::endpoint::Endpoint,
    b_in: &mut tokio::sync::mpsc::Receiver<agentphone_sip::endpoint::ServerTransaction>,
    raw: &RawPeer,
) {
    raw.send(
        &raw_request(
            "OPTIONS",
            b.local_addr(),
            raw.addr(),
            "z9hG4bKalive",
            "c-alive",
            1,
        ),
        b.local_addr(),
    )
    .await;
    within("the valid request after the noise", async {
        loop {
            let tx = b_in.recv().await.expect("endpoint alive");
            if message::call_id(&tx.request.clone().into()).as_deref() == Some("c-alive") {
                break;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn udp_endpoint_survives_mutated_messages() {
    let (b, mut b_in) = endpoint().await;
    let raw = RawPeer::new().await;
    for (i, bytes) in mutated_samples(3, 400).iter().enumerate() {
        raw.send(bytes, b.local_addr()).await;
        if i % 25 == 0 {
            // Pacing, so the burst does not overflow the socket's receive buffer; not a settle.
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    still_serves(&b, &mut b_in, &raw).await;
}

#[tokio::test]
async fn tcp_endpoint_survives_random_streams() {
    let (b, mut b_in) = endpoint().await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    for bytes in mutated_samples(9, 40) {
        let Ok(mut stream) = TcpStream::connect(b.local_addr()).await else {
            continue;
        };
        let noise: Vec<u8> = (0..rng.gen_range(0..200)).map(|_| rng.gen()).collect();
        let _ = stream.write_all(&bytes).await;
        let _ = stream.write_all(&noise).await;
        drop(stream);
    }
    let raw = RawPeer::new().await;
    still_serves(&b, &mut b_in, &raw).await;
}
