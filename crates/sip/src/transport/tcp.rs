//! TCP and TLS: Content-Length framing, one reader and one writer task per connection (not per
//! transaction), connections kept in a table keyed by the peer (address + transport) so that
//! requests to a peer reuse the connection it opened (e.g. the server reaching an agent over its
//! REGISTER connection). Each frame is handled by the shard of its Call-ID, right in the reader
//! task. TLS is the same code over a `tokio_rustls` stream (see `super::tls_stream`).

use super::framing::{next_frame, Frame};
use crate::core::ClientId;
use crate::endpoint::{Endpoint, Peer, TcpLimits, TransportKind};
use bytes::Bytes;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
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

/// Open connections by peer, and how many per IP (TCP and TLS together).
pub(crate) struct TcpConnections {
    table: Mutex<HashMap<Peer, Conn>>,
    next_id: AtomicU64,
    pub(crate) limits: TcpLimits,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl TcpConnections {
    pub(crate) fn new(limits: TcpLimits) -> Self {
        TcpConnections {
            table: Mutex::default(),
            next_id: AtomicU64::new(0),
            limits,
            per_ip: Mutex::default(),
        }
    }

    /// Count a new connection from/to `ip`; false (not counted) when it has too many.
    pub(crate) fn open(&self, ip: IpAddr) -> bool {
        let mut per_ip = lock(&self.per_ip);
        let n = per_ip.entry(ip).or_insert(0);
        if *n >= self.limits.per_source {
            return false;
        }
        *n += 1;
        true
    }

    pub(crate) fn closed(&self, ip: IpAddr) {
        let mut per_ip = lock(&self.per_ip);
        if let Some(n) = per_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_ip.remove(&ip);
            }
        }
    }

    fn writer(&self, peer: Peer) -> Option<mpsc::Sender<Bytes>> {
        lock(&self.table).get(&peer).map(|c| c.writer.clone())
    }

    fn remove(&self, peer: Peer, id: u64) {
        let mut table = lock(&self.table);
        if table.get(&peer).is_some_and(|c| c.id == id) {
            table.remove(&peer);
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
                if endpoint.shared().tcp.open(addr.ip()) {
                    let _ = stream.set_nodelay(true);
                    start_connection(&endpoint, stream, tcp_peer(addr));
                } else {
                    tracing::debug!(%addr, "too many tcp connections from this address: closed");
                    drop(stream);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "sip tcp accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

fn tcp_peer(addr: SocketAddr) -> Peer {
    Peer {
        addr,
        transport: TransportKind::Tcp,
    }
}

/// Send over the connection to `peer` (TCP or TLS), opening one if needed. `origin`: the shard
/// and client transaction to tell when this cannot be delivered: an error right away (the caller
/// holds that shard's lock and tells it once released), or later from the task that connects.
pub(crate) fn send(
    endpoint: &Endpoint,
    peer: Peer,
    bytes: Bytes,
    origin: Option<(usize, ClientId)>,
) -> Result<(), (usize, ClientId, String)> {
    let addr = peer.addr;
    let bytes = match endpoint.shared().tcp.writer(peer) {
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
        if !endpoint.shared().tcp.open(addr.ip()) {
            if let Some((shard, id)) = origin {
                endpoint.transport_error(shard, id, "too many tcp connections".into());
            }
            return;
        }
        let sent = match connect(&endpoint, peer).await {
            Ok(writer) => writer
                .send(bytes)
                .await
                .map_err(|_| "connection closed".to_string()),
            Err(e) => {
                endpoint.shared().tcp.closed(addr.ip());
                Err(e)
            }
        };
        if let (Err(reason), Some((shard, id))) = (sent, origin) {
            endpoint.transport_error(shard, id, reason);
        }
    });
    Ok(())
}

/// Open a connection to `peer` (TLS: with the handshake, the server's certificate verified)
/// and start its tasks.
async fn connect(endpoint: &Endpoint, peer: Peer) -> Result<mpsc::Sender<Bytes>, String> {
    let stream = TcpStream::connect(peer.addr)
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    match peer.transport {
        TransportKind::Tls => {
            let timeout = endpoint.shared().tcp.limits.header_timeout;
            let tls = super::tls_stream::connect(endpoint, stream, peer.addr, timeout).await?;
            Ok(start_connection(endpoint, tls, peer))
        }
        _ => Ok(start_connection(endpoint, stream, peer)),
    }
}

/// Start the reader and writer tasks of a connection (plain or TLS) to `peer`; returns the
/// writer's queue.
pub(crate) fn start_connection<S>(endpoint: &Endpoint, stream: S, peer: Peer) -> mpsc::Sender<Bytes>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (reader, mut writer) = tokio::io::split(stream);
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
    let read_task = tokio::spawn(read_loop(endpoint.clone(), reader, peer, id, tx.clone()));
    let conn = Conn {
        id,
        writer: tx.clone(),
        tasks: [write_task.abort_handle(), read_task.abort_handle()],
    };
    if let Some(old) = lock(&table.table).insert(peer, conn) {
        // A second connection to the same address: the old one keeps its tasks until it closes.
        drop(old.writer);
    }
    tx
}

async fn read_loop<R: AsyncRead + Unpin>(
    endpoint: Endpoint,
    mut reader: R,
    peer: Peer,
    id: u64,
    reply: mpsc::Sender<Bytes>,
) {
    let addr = peer.addr;
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut chunk = vec![0u8; 16 * 1024];
    let mut pings = super::keepalive::PingDetector::default();
    let limits = endpoint.shared().tcp.limits;
    // When the message now in `buf` began: it must be whole within the header timeout.
    let mut partial_since: Option<tokio::time::Instant> = None;
    'read: loop {
        let deadline = match partial_since {
            Some(since) => since + limits.header_timeout,
            None => tokio::time::Instant::now() + limits.idle_timeout,
        };
        match tokio::time::timeout_at(deadline, reader.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(_) => {
                tracing::debug!(%addr, slow = partial_since.is_some(), "tcp connection timed out: closed");
                break;
            }
        }
        loop {
            match next_frame(&buf) {
                Frame::Incomplete => {
                    if buf.is_empty() {
                        partial_since = None;
                    } else {
                        partial_since.get_or_insert_with(tokio::time::Instant::now);
                    }
                    break;
                }
                Frame::KeepAlive(n) => {
                    let n = n.min(buf.len());
                    for _ in 0..pings.feed(buf.get(..n).unwrap_or_default()) {
                        let _ = reply.try_send(Bytes::from_static(b"\r\n"));
                    }
                    buf.drain(..n);
                }
                Frame::Message(len) => {
                    pings.reset();
                    partial_since = None;
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
    endpoint.shared().tcp.remove(peer, id);
    endpoint.shared().tcp.closed(addr.ip());
}
