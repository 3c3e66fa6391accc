//! agentphone-server: the bundled SIP server — registrar with digest auth, directory of agents and
//! teams, team routing, B2BUA call rooms whose audio is mixed by a media engine thread, music on
//! hold, DTMF relay and call records in SQLite.
//!
//! Shape: the SIP endpoint hands every new server transaction to [`sip_router`], which answers
//! out-of-dialog requests through `handlers/` and forwards in-dialog ones to the room that owns the
//! dialog. Every call is a room actor (`room/`); agents' live state lives in one directory task
//! (`directory`); all RTP sessions live in one media engine thread (`media_engine`).

mod auth_guard;
mod call_history;
pub mod cluster;
pub mod config;
mod config_error;
mod context;
mod dialog_table;
mod directory;
mod handlers;
mod ids;
mod lazy_read;
mod liveness;
mod load_report;
mod log_limit;
pub mod media_engine;
mod notify;
pub mod records;
mod records_day;
mod records_recovery;
mod registrar;
mod request_headers;
mod room;
mod room_handle;
mod routing;
mod rtp_ports;
pub mod security;
mod sip_fast_path;
mod sip_reply;
mod sip_router;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::sync::watch;

pub use config::{Config, ConfigError};

/// A running server. Dropping it does not stop it; call [`ServerHandle::shutdown`] or
/// [`ServerHandle::shutdown_and_wait`].
pub struct ServerHandle {
    sip_addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    ctx: Arc<context::Ctx>,
    runtime: tokio::runtime::Handle,
}

impl ServerHandle {
    /// The address SIP listens on (UDP and TCP), with the real port when 0 was asked for.
    pub fn sip_addr(&self) -> SocketAddr {
        self.sip_addr
    }

    /// The directory subscriptions the server holds now: (whole directory, own entry only).
    pub fn directory_subscribers(&self) -> (usize, usize) {
        self.ctx.directory.subscribers()
    }

    /// Where SIP over TLS listens (`[tls]`), with the real port when 0 was asked for.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// Start stopping and return at once (callable from anywhere, also outside the runtime): every
    /// room says BYE to its parties, then the media engine and the endpoint stop and the call
    /// records are flushed — within about 2.5 s, provided the runtime keeps running that long.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
        self.runtime.spawn(self.ctx.clone().shutdown());
    }

    /// Stop and wait until it is done (rooms ended or 2 s passed, BYEs sent, records flushed).
    pub async fn shutdown_and_wait(&self) {
        let _ = self.stop.send(true);
        self.ctx.clone().shutdown().await;
    }
}

/// Start the server: bind SIP (UDP+TCP), open the call records database, start the directory,
/// the media engine and the request router.
pub async fn start(config: Config) -> anyhow::Result<ServerHandle> {
    let config = Arc::new(config);
    let tls = match &config.tls {
        Some(files) => agentphone_sip::tls::TlsSettings {
            listen: Some((
                files.listen,
                agentphone_sip::tls::server_config(&files.cert, &files.key)
                    .context("cannot load the TLS certificate")?,
            )),
            client: None,
        },
        None => Default::default(),
    };
    let (endpoint, incoming) = agentphone_sip::endpoint::Endpoint::bind_with(
        config.listen,
        agentphone_sip::endpoint::EndpointConfig {
            tcp: config.security.tcp,
            max_transactions_per_source: config.security.transactions_per_source,
            allow: Some(sip_reply::ALLOW),
            tls,
            ..Default::default()
        },
    )
    .await
    .with_context(|| format!("cannot bind SIP on {}", config.listen))?;
    let sip_addr = endpoint.local_addr();
    let tls_addr = endpoint.tls_local_addr();
    let fast = endpoint.clone();
    let ctx = context::Ctx::start(config, endpoint).context("cannot start the server")?;
    fast.set_fast_path(Arc::new(sip_fast_path::RegisterFastPath::new(&ctx)));
    let (stop, stop_rx) = watch::channel(false);
    tokio::spawn(sip_router::run(ctx.clone(), incoming, stop_rx));
    load_report::spawn(ctx.clone());
    tracing::info!(%sip_addr, tls = ?tls_addr, "agentphone-server listening");
    let runtime = tokio::runtime::Handle::current();
    Ok(ServerHandle {
        sip_addr,
        tls_addr,
        stop,
        ctx,
        runtime,
    })
}
