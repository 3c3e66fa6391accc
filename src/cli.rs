//! Command-line options and how they combine with the config file's `[phone]` section.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use agentphone::audio::{SinkSpec, SourceSpec};
use agentphone::config_file::{PhoneSection, SrtpName, TransportName};
use agentphone::phone::{PhoneConfig, SrtpPolicy, Transport};

/// agentphone — a softphone for contact-center agents.
///
/// Without a subcommand it opens the terminal UI; `--headless` runs a script of commands and
/// prints one JSON event per line; `demo` starts a whole demo; `devices` lists audio devices.
#[derive(Debug, Parser)]
#[command(name = "agentphone", version)]
pub struct Cli {
    /// What to run instead of the softphone.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Run without a terminal UI: commands from --script or stdin, JSON events on stdout.
    #[arg(long)]
    pub headless: bool,
    /// Script of headless commands (default: read commands from stdin).
    #[arg(long, value_name = "FILE", requires = "headless")]
    pub script: Option<PathBuf>,
    /// Config file with a [phone] section (command-line options win).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log file of the terminal UI (default: $XDG_STATE_HOME/agentphone/agentphone.log, else
    /// ~/.local/state/agentphone/agentphone.log, else /tmp/agentphone.log).
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// Open the supervisor view (accounts with the supervisor role): the floor, and listen,
    /// whisper or barge on any call.
    #[arg(long, conflicts_with = "headless")]
    pub supervisor: bool,
    #[command(flatten)]
    pub phone: PhoneArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the bundled server with demo agents, a simulated customer calling Support, and the
    /// terminal UI as alice; prints how to open bob's in a second terminal.
    Demo {
        /// SIP port of the demo server (another free one is used if it is taken).
        #[arg(long, default_value_t = 5060)]
        port: u16,
    },
    /// List the audio input and output devices.
    Devices,
}

/// Options that configure the phone (each also settable in `[phone]`).
#[derive(Debug, Args)]
pub struct PhoneArgs {
    /// The server, IP:PORT (outbound proxy for every request).
    #[arg(long, value_name = "IP:PORT")]
    pub server: Option<SocketAddr>,
    /// SIP user name.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// Digest password.
    #[arg(long, value_name = "PW")]
    pub password: Option<String>,
    /// Display name in From.
    #[arg(long, value_name = "NAME")]
    pub display: Option<String>,
    /// SIP domain of our address (default: the server's IP).
    #[arg(long, value_name = "HOST")]
    pub domain: Option<String>,
    /// Transport to the server.
    #[arg(long, value_enum)]
    pub transport: Option<TransportArg>,
    /// TLS: the CA certificate (PEM) the server's certificate must chain to (default: the
    /// system's CAs).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Local IP (ports are ephemeral).
    #[arg(long, value_name = "IP")]
    pub bind: Option<IpAddr>,
    /// Microphone: a sine tone of HZ.
    #[arg(long, value_name = "HZ", conflicts_with_all = ["wav", "silence"])]
    pub tone: Option<f32>,
    /// Microphone: a WAV file, looped.
    #[arg(long, value_name = "FILE", conflicts_with = "silence")]
    pub wav: Option<PathBuf>,
    /// Microphone: silence (the default).
    #[arg(long)]
    pub silence: bool,
    /// Record everything heard (48 kHz mono 16-bit WAV, one frame per 20 ms of call time).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// Answer incoming calls at once.
    #[arg(long)]
    pub auto_answer: bool,
}

/// `--transport`.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TransportArg {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS (verify the server's certificate; `ca` in the file for a custom CA).
    Tls,
}

impl PhoneArgs {
    /// True when the options (or the file) say what the microphone sends or where sound goes:
    /// then the terminal UI uses those instead of the audio devices.
    pub fn sound_files_given(&self, file: &PhoneSection) -> bool {
        self.silence
            || self.tone.is_some()
            || self.wav.is_some()
            || self.record.is_some()
            || file.tone.is_some()
            || file.wav.is_some()
            || file.record.is_some()
    }

    /// The phone's configuration: defaults, then the file's section, then these options.
    pub fn to_config(&self, file: &PhoneSection) -> PhoneConfig {
        let defaults = PhoneConfig::default();
        let transport = match (self.transport, file.transport) {
            (Some(TransportArg::Tcp), _) | (None, Some(TransportName::Tcp)) => Transport::Tcp,
            (Some(TransportArg::Tls), _) | (None, Some(TransportName::Tls)) => Transport::Tls,
            _ => Transport::Udp,
        };
        let srtp = match file.srtp {
            Some(SrtpName::Off) => SrtpPolicy::Off,
            Some(SrtpName::Required) => SrtpPolicy::Required,
            Some(SrtpName::Optional) | None => SrtpPolicy::Optional,
        };
        let source = if self.silence {
            SourceSpec::Silence
        } else if let Some(hz) = self.tone {
            SourceSpec::Tone(hz)
        } else if let Some(wav) = &self.wav {
            SourceSpec::Wav(wav.clone())
        } else if let Some(hz) = file.tone {
            SourceSpec::Tone(hz)
        } else if let Some(wav) = &file.wav {
            SourceSpec::Wav(wav.clone())
        } else {
            SourceSpec::Silence
        };
        let sink = match self.record.clone().or_else(|| file.record.clone()) {
            Some(path) => SinkSpec::Wav(path),
            None => SinkSpec::Null,
        };
        PhoneConfig {
            server: self.server.or(file.server),
            user: self
                .user
                .clone()
                .or_else(|| file.user.clone())
                .unwrap_or(defaults.user),
            password: self.password.clone().or_else(|| file.password.clone()),
            display: self.display.clone().or_else(|| file.display.clone()),
            domain: self.domain.clone().or_else(|| file.domain.clone()),
            transport,
            bind: self.bind.or(file.bind).unwrap_or(defaults.bind),
            register_expires: file.register_expires.unwrap_or(defaults.register_expires),
            auto_answer: self.auto_answer || file.auto_answer.unwrap_or(false),
            source,
            media_timeout: file
                .media_timeout_s
                .map_or(defaults.media_timeout, std::time::Duration::from_secs),
            sip_timers: defaults.sip_timers,
            sink,
            tls_ca: self.ca.clone().or_else(|| file.ca.clone()),
            tls_server_name: file.tls_server_name.clone(),
            srtp,
        }
    }
}
