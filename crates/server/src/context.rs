//! Everything a request handler or a room needs, shared behind one `Arc`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use agentphone_sip::endpoint::Endpoint;

use crate::auth_guard::AuthGuard;
use crate::config::Config;
use crate::dialog_table::DialogTable;
use crate::directory::DirectoryHandle;
use crate::liveness::LivenessHandle;
use crate::log_limit::LogLimiter;
use crate::media_engine::{MediaCmd, MediaHandle};
use crate::records::RecordsHandle;
use crate::room_handle::RoomMsg;

/// The server's shared state.
pub struct Ctx {
    /// The configuration.
    pub config: Arc<Config>,
    /// SIP endpoint (UDP + TCP, transactions).
    pub endpoint: Endpoint,
    /// Agents' live state.
    pub directory: DirectoryHandle,
    /// The media thread.
    pub media: MediaHandle,
    /// Call records writer.
    pub records: RecordsHandle,
    /// Digest authentication.
    pub auth: AuthGuard,
    /// Dialog → room routing.
    pub dialogs: DialogTable,
    /// Our Contact URI (`sip:agentphone@IP:PORT`).
    pub local_contact: rsip::Uri,
    /// Rate limit for warnings about bad input.
    pub bad_input_log: LogLimiter,
    /// Keepalive OPTIONS to registered agents.
    pub liveness: LivenessHandle,
    /// Caps on customer calls in progress.
    pub admission: Arc<crate::security::admission::Admission>,
    /// Overload shedding of new calls (calls waiting for their early answer).
    pub setup_gate: Arc<crate::security::setup_gate::SharedSetupGate>,
    /// Requests queued for the router when it last took one (for the load report).
    pub router_queue: std::sync::atomic::AtomicUsize,
    /// The ports RTP sockets bind.
    pub rtp_ports: crate::rtp_ports::RtpPorts,
    /// Routing across nodes (cluster mode with the shared directory); None: this node's agents
    /// only, as a single server.
    pub cluster: Option<crate::cluster::routing::ClusterRouting>,
}

impl Ctx {
    /// Our Contact towards a party whose SIP comes over `transport`: over TLS our TLS port with
    /// `transport=tls` (so that its in-dialog requests, e.g. the ACK, stay on TLS), else
    /// `local_contact`.
    pub fn contact_for(&self, transport: agentphone_sip::endpoint::TransportKind) -> rsip::Uri {
        let tls = self.endpoint.tls_local_addr();
        match (transport, tls) {
            (agentphone_sip::endpoint::TransportKind::Tls, Some(tls)) => {
                let ip = self.local_contact.host_with_port.host.to_string();
                let ip = ip.trim_matches(['[', ']']);
                let addr = ip
                    .parse()
                    .map(|ip| SocketAddr::new(ip, tls.port()).to_string())
                    .unwrap_or_else(|_| format!("{ip}:{}", tls.port()));
                rsip::Uri::try_from(format!("sip:agentphone@{addr};transport=tls"))
                    .unwrap_or_else(|_| self.local_contact.clone())
            }
            _ => self.local_contact.clone(),
        }
    }

    /// Start the directory, the media engine and the records writer around a bound endpoint.
    pub fn start(config: Arc<Config>, endpoint: Endpoint) -> anyhow::Result<Arc<Ctx>> {
        let sip_addr = endpoint.local_addr();
        let contact_ip = if sip_addr.ip().is_unspecified() {
            config.media_ip
        } else {
            sip_addr.ip()
        };
        let local_contact = rsip::Uri::try_from(format!(
            "sip:agentphone@{}",
            SocketAddr::new(contact_ip, sip_addr.port())
        ))
        .map_err(|e| anyhow::anyhow!("cannot build our Contact URI: {e}"))?;
        let (media, _media_thread) = MediaHandle::start_with_workers(
            &config.music_on_hold,
            &config.ringback,
            config.max_participants,
            config.rtp_timeout,
            config.media_workers,
        )?;
        let (records, _records_thread) = match &config.cluster {
            Some(cluster) => RecordsHandle::open_postgres(&cluster.records).map_err(|e| {
                anyhow::anyhow!(
                    "cannot open the call records in PostgreSQL (node {}): {e:#}",
                    cluster.records.node
                )
            })?,
            None => RecordsHandle::open(&config.database).map_err(|e| {
                anyhow::anyhow!(
                    "cannot open the call records database {}: {e}",
                    config.database.display()
                )
            })?,
        };
        let configured: Vec<_> = config
            .agents
            .iter()
            .map(|a| crate::security::secrets::ConfiguredAgent {
                username: &a.username,
                password: a.password.as_deref(),
            })
            .collect();
        let secrets =
            crate::security::secrets::load_for(&config.database, &config.realm, &configured)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot read the agents' secrets from {}: {e}",
                        config.database.display()
                    )
                })?;
        let shared = config
            .cluster
            .as_ref()
            .and_then(|c| Some((c.records.clone(), c.shared.clone()?)));
        let cluster = shared.as_ref().map(|(records, settings)| {
            let agents = config.agents.iter().map(|a| a.username.clone()).collect();
            crate::cluster::routing::ClusterRouting::start(
                &records.node,
                settings,
                records.lease,
                agents,
            )
        });
        let directory = DirectoryHandle::spawn_with_feed(
            config.clone(),
            Some(endpoint.clone()),
            cluster.as_ref().map(|c| c.feed()),
        );
        if let (Some(c), Some((_, settings))) = (&cluster, &shared) {
            c.listen(&settings.redis, directory.clone());
        }
        seed_team_day(&config, &directory);
        let liveness = LivenessHandle::spawn(
            config.security.keepalive_interval,
            endpoint.clone(),
            directory.clone(),
            local_contact.clone(),
        );
        Ok(Arc::new(Ctx {
            cluster,
            directory,
            liveness,
            admission: crate::security::admission::Admission::new(config.security.calls),
            setup_gate: crate::security::setup_gate::SharedSetupGate::new(config.security.setup),
            router_queue: Default::default(),
            rtp_ports: crate::rtp_ports::RtpPorts::new(config.rtp_ports.clone()),
            auth: AuthGuard::new(config.clone(), secrets),
            config,
            endpoint,
            media,
            records,
            dialogs: DialogTable::default(),
            local_contact,
            bad_input_log: LogLimiter::new(20, Duration::from_secs(10)),
        }))
    }

    /// Stop everything: rooms say BYE (waiting up to 2 s for them to end), then the media engine,
    /// the records writer (flushed) and the endpoint stop.
    pub async fn shutdown(self: Arc<Self>) {
        for room in self.dialogs.rooms() {
            room.send(RoomMsg::Shutdown);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while !self.dialogs.rooms().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Let the BYEs leave before the transport closes.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let ctx = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            ctx.media.send(MediaCmd::Stop);
            ctx.records.flush_blocking();
            ctx.endpoint.shutdown();
        })
        .await;
    }
}

/// The supervisor view's counts of today start from the call records (a restart does not zero
/// them). Read on a connection of its own before any call of this run exists (the router is not
/// running yet), so the records' counts and the ones the directory makes from this run's calls
/// add up without counting a call twice.
fn seed_team_day(config: &Config, directory: &DirectoryHandle) {
    if config.database.as_os_str() == ":memory:" {
        return; // a database of this run only: nothing from before
    }
    if config.cluster.is_some() {
        // The records are in PostgreSQL, shared by the nodes: the floor counts this node's calls
        // only (counting from PostgreSQL is not built yet).
        return;
    }
    let wall_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    match crate::records_day::read_file(&config.database, wall_ms) {
        Ok(counts) => directory.team_day(counts),
        Err(e) => tracing::error!(error = %e, "could not count today's calls in the records"),
    }
}
