//! TLS: the TCP transport's connection code over `tokio_rustls` streams. Accepting runs the
//! handshake in its own task (bounded by the header timeout, so a silent client cannot hold a
//! connection slot); connecting verifies the server's certificate and names the reason when it
//! does not verify.

use super::tcp::start_connection;
use crate::endpoint::{Endpoint, Peer, TransportKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// Accept TLS connections until the endpoint shuts down.
pub(crate) async fn accept_loop(
    endpoint: Endpoint,
    listener: TcpListener,
    config: Arc<rustls::ServerConfig>,
) {
    let acceptor = TlsAcceptor::from(config);
    loop {
        match listener.accept().await {
            Ok((stream, addr)) => {
                if !endpoint.shared().tcp.open(addr.ip()) {
                    tracing::debug!(%addr, "too many connections from this address: closed");
                    continue;
                }
                let _ = stream.set_nodelay(true);
                tokio::spawn(handshake(endpoint.clone(), acceptor.clone(), stream, addr));
            }
            Err(e) => {
                tracing::warn!(error = %e, "sip tls accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn handshake(endpoint: Endpoint, acceptor: TlsAcceptor, stream: TcpStream, addr: SocketAddr) {
    let timeout = endpoint.shared().tcp.limits.header_timeout;
    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => {
            let peer = Peer {
                addr,
                transport: TransportKind::Tls,
            };
            start_connection(&endpoint, tls, peer);
        }
        Ok(Err(e)) => {
            tracing::info!(%addr, error = %e, "tls handshake failed");
            endpoint.shared().tcp.closed(addr.ip());
        }
        Err(_) => {
            tracing::debug!(%addr, "tls handshake timed out");
            endpoint.shared().tcp.closed(addr.ip());
        }
    }
}

/// The client side of the handshake on `stream` (connected to `addr`); the error says why the
/// server was refused (e.g. "invalid peer certificate: UnknownIssuer").
pub(crate) async fn connect(
    endpoint: &Endpoint,
    stream: TcpStream,
    addr: SocketAddr,
    timeout: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let Some(client) = endpoint.shared().tls_client.as_ref() else {
        return Err(format!(
            "no TLS connection to {addr} and no TLS client configured"
        ));
    };
    let name = client
        .server_name
        .clone()
        .unwrap_or_else(|| addr.ip().into());
    let connector = TlsConnector::from(client.config.clone());
    match tokio::time::timeout(timeout, connector.connect(name, stream)).await {
        Ok(Ok(tls)) => Ok(tls),
        Ok(Err(e)) => Err(format!("TLS handshake with {addr} failed: {e}")),
        Err(_) => Err(format!("TLS handshake with {addr} timed out")),
    }
}
