//! TCP: Content-Length framing, one reader and one writer task per connection, connections kept
//! in a table keyed by the peer address so that requests to a peer reuse the connection it opened
//! (e.g. the server reaching an agent over its REGISTER connection).

use super::framing::{next_frame, Frame};
use crate::endpoint::inner::{lock, Inner};
use crate::endpoint::{Peer, TransportKind};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Bytes queued for one connection's writer task.
type WriteQueue = mpsc::UnboundedSender<Vec<u8>>;

/// Open connections: peer address → (connection id, queue of bytes to write).
#[derive(Default)]
pub(crate) struct TcpConnections {
    table: Mutex<HashMap<SocketAddr, (u64, WriteQueue)>>,
    next_id: AtomicU64,
}

impl TcpConnections {
    fn sender(&self, addr: SocketAddr) -> Option<mpsc::UnboundedSender<Vec<u8>>> {
        lock(&self.table).get(&addr).map(|(_, tx)| tx.clone())
    }

    fn register(&self, addr: SocketAddr, tx: mpsc::UnboundedSender<Vec<u8>>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.table).insert(addr, (id, tx));
        id
    }

    fn remove(&self, addr: SocketAddr, id: u64) {
        let mut table = lock(&self.table);
        if table.get(&addr).is_some_and(|(current, _)| *current == id) {
            table.remove(&addr);
        }
    }

    /// Close every connection (their writer tasks end when the queues are dropped).
    pub(crate) fn clear(&self) {
        lock(&self.table).clear();
    }
}

/// Accept connections until the endpoint shuts down.
pub(crate) async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                start_connection(&inner, stream, addr);
            }
            Err(e) => {
                tracing::warn!(error = %e, "sip tcp accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

/// Send over the connection to `addr`, opening one if needed.
pub(crate) async fn send(
    inner: &Arc<Inner>,
    addr: SocketAddr,
    bytes: Vec<u8>,
) -> std::io::Result<()> {
    let bytes = match inner.tcp.sender(addr) {
        Some(tx) => match tx.send(bytes) {
            Ok(()) => return Ok(()),
            Err(mpsc::error::SendError(bytes)) => bytes, // closed meanwhile: reconnect
        },
        None => bytes,
    };
    let stream = TcpStream::connect(addr).await?;
    let tx = start_connection(inner, stream, addr);
    tx.send(bytes)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "tcp connection closed"))
}

fn start_connection(
    inner: &Arc<Inner>,
    stream: TcpStream,
    addr: SocketAddr,
) -> mpsc::UnboundedSender<Vec<u8>> {
    let _ = stream.set_nodelay(true);
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let id = inner.tcp.register(addr, tx.clone());
    inner.track(tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = writer.shutdown().await;
    }));
    let reader_inner = inner.clone();
    let reply = tx.clone();
    inner.track(tokio::spawn(async move {
        let inner = reader_inner;
        let peer = Peer {
            addr,
            transport: TransportKind::Tcp,
        };
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = vec![0u8; 16 * 1024];
        'read: loop {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            }
            loop {
                match next_frame(&buf) {
                    Frame::Incomplete => break,
                    Frame::KeepAlive(n) => {
                        buf.drain(..n.min(buf.len()));
                    }
                    Frame::Message(len) => {
                        let frame: Vec<u8> = buf.drain(..len.min(buf.len())).collect();
                        crate::endpoint::receive::handle_bytes(&inner, peer, &frame).await;
                    }
                    Frame::Broken { reason, len } => {
                        // The stream cannot be resynchronised: answer if possible, then close.
                        let head = buf.get(..len).unwrap_or_default();
                        if let Some(reply_bytes) = crate::message::bad_request_reply(head, reason) {
                            let _ = reply.send(reply_bytes);
                        }
                        break 'read;
                    }
                }
            }
        }
        inner.tcp.remove(addr, id);
    }));
    tx
}
