//! TCP: Content-Length framing, one reader and one writer task per connection (not per
//! transaction), connections kept in a table keyed by the peer address so that requests to a peer
//! reuse the connection it opened (e.g. the server reaching an agent over its REGISTER
//! connection). Each frame is handled by the shard of its Call-ID, right in the reader task.

use super::framing::{next_frame, Frame};
use crate::core::ClientId;
use crate::endpoint::{Endpoint, Peer, TransportKind};
use bytes::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

/// Messages waiting for one connection's writer; past it the connection is too slow: dropped.
const WRITE_QUEUE: usize = 1024;

struct Conn {
    id: u64,
    writer: mpsc::Sender<Bytes>,
    tasks: [AbortHandle; 2],
}

/// Open connections by peer address.
#[derive(Default)]
pub(crate) struct TcpConnections {
    table: Mutex<HashMap<SocketAddr, Conn>>,
    next_id: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TcpConnections {
    fn writer(&self, addr: SocketAddr) -> Option<mpsc::Sender<Bytes>> {
        lock(&self.table).get(&addr).map(|c| c.writer.clone())
    }

    fn remove(&self, addr: SocketAddr, id: u64) {
        let mut table = lock(&self.table);
        if table.get(&addr).is_some_and(|c| c.id == id) {
            table.remove(&addr);
        }
    }

    /// Close every connection.
    pub(crate) fn clear(&self) {
        for (_, conn) in lock(&self.table).drain() {
            for task in conn.tasks {
                task.abort();
            }
        }
    }
}

/// Accept connections until the endpoint shuts down.
pub(crate) async fn accept_loop(endpoint: Endpoint, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                start_connection(&endpoint, stream, addr);
            }
            Err(e) => {
                tracing::warn!(error = %e, "sip tcp accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Send over the connection to `addr`, opening one if needed. `origin`: the shard and client
/// transaction to tell when this cannot be delivered: an error right away (the caller holds that
/// shard's lock and tells it once released), or later from the task that connects.
pub(crate) fn send(
    endpoint: &Endpoint,
    addr: SocketAddr,
    bytes: Bytes,
    origin: Option<(usize, ClientId)>,
) -> Result<(), (usize, ClientId, String)> {
    let bytes = match endpoint.shared().tcp.writer(addr) {
        Some(writer) => match writer.try_send(bytes) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => {
                return match origin {
                    Some((shard, id)) => Err((shard, id, "tcp send queue full".into())),
                    None => Ok(()),
                };
            }
            Err(mpsc::error::TrySendError::Closed(bytes)) => bytes, // closed meanwhile: reconnect
        },
        None => bytes,
    };
    let endpoint = endpoint.clone();
    tokio::spawn(async move {
        let sent = match TcpStream::connect(addr).await {
            Ok(stream) => {
                let writer = start_connection(&endpoint, stream, addr);
                writer
                    .send(bytes)
                    .await
                    .map_err(|_| "tcp connection closed".to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        if let (Err(reason), Some((shard, id))) = (sent, origin) {
            endpoint.transport_error(shard, id, reason);
        }
    });
    Ok(())
}

fn start_connection(
    endpoint: &Endpoint,
    stream: TcpStream,
    addr: SocketAddr,
) -> mpsc::Sender<Bytes> {
    let _ = stream.set_nodelay(true);
    let (reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(WRITE_QUEUE);
    let table = &endpoint.shared().tcp;
    let id = table.next_id.fetch_add(1, Ordering::Relaxed);
    let write_task = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    });
    let read_task = tokio::spawn(read_loop(endpoint.clone(), reader, addr, id, tx.clone()));
    let conn = Conn {
        id,
        writer: tx.clone(),
        tasks: [write_task.abort_handle(), read_task.abort_handle()],
    };
    if let Some(old) = lock(&table.table).insert(addr, conn) {
        // A second connection to the same address: the old one keeps its tasks until it closes.
        drop(old.writer);
    }
    tx
}

async fn read_loop(
    endpoint: Endpoint,
    mut reader: tokio::net::tcp::OwnedReadHalf,
    addr: SocketAddr,
    id: u64,
    reply: mpsc::Sender<Bytes>,
) {
    let peer = Peer {
        addr,
        transport: TransportKind::Tcp,
    };
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut pings = super::keepalive::PingDetector::default();
    'read: loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
        }
        loop {
            match next_frame(&buf) {
                Frame::Incomplete => break,
                Frame::KeepAlive(n) => {
                    let n = n.min(buf.len());
                    for _ in 0..pings.feed(buf.get(..n).unwrap_or_default()) {
                        let _ = reply.try_send(Bytes::from_static(b"\r\n"));
                    }
                    buf.drain(..n);
                }
                Frame::Message(len) => {
                    pings.reset();
                    endpoint.wait_for_tu().await;
                    let len = len.min(buf.len());
                    // Handled before the next read: a busy shard slows this reader down.
                    endpoint.receive(peer, buf.get(..len).unwrap_or_default());
                    buf.drain(..len);
                }
                Frame::Broken { reason, len } => {
                    // The stream cannot be resynchronised: answer if possible, then close.
                    let head = buf.get(..len).unwrap_or_default();
                    if let Some(reply_bytes) = crate::message::bad_request_reply(head, reason) {
                        let _ = reply.try_send(Bytes::from(reply_bytes));
                    }
                    break 'read;
                }
            }
        }
    }
    endpoint.shared().tcp.remove(addr, id);
}
