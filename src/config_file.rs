//! The softphone's section of a config file: the `[phone]` table. Other top-level tables of the
//! same file (`server`, `agents`, `teams`, `agent_states`, `dispositions`, `media`, `security`, `tls`)
//! belong to the server and are accepted unread; any
//! other key is an error naming the file, line and key.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The `[phone]` table; every key optional (command-line options override it).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PhoneSection {
    /// Server address, IP:PORT.
    pub server: Option<SocketAddr>,
    /// SIP user name.
    pub user: Option<String>,
    /// Digest password.
    pub password: Option<String>,
    /// Display name.
    pub display: Option<String>,
    /// SIP domain (default: the server's IP).
    pub domain: Option<String>,
    /// "udp", "tcp" or "tls".
    pub transport: Option<TransportName>,
    /// TLS: the CA certificate (PEM) the server's certificate must chain to (default: the
    /// system's CAs).
    pub ca: Option<PathBuf>,
    /// TLS: the name the server's certificate must carry (default: `domain`, else the server's
    /// IP).
    pub tls_server_name: Option<String>,
    /// SRTP over TLS: "off", "optional" (default: offered, plain RTP accepted) or "required".
    pub srtp: Option<SrtpName>,
    /// Local IP.
    pub bind: Option<IpAddr>,
    /// Registration lifetime in seconds.
    pub register_expires: Option<u32>,
    /// Seconds without RTP after which a connected call is hung up.
    pub media_timeout_s: Option<u64>,
    /// Answer incoming calls at once (headless).
    pub auto_answer: Option<bool>,
    /// Microphone: a tone of this frequency (headless).
    pub tone: Option<f32>,
    /// Microphone: this WAV file, looped (headless).
    pub wav: Option<PathBuf>,
    /// Record what is heard into this WAV file (headless).
    pub record: Option<PathBuf>,
    /// Microphone device name (`agentphone devices`; default: the system default).
    pub input_device: Option<String>,
    /// Speaker device name (default: the system default).
    pub output_device: Option<String>,
    /// Acoustic echo cancellation (default on).
    pub echo_cancellation: Option<bool>,
    /// Noise suppression (default on).
    pub noise_suppression: Option<bool>,
    /// Automatic gain control (default on).
    pub gain_control: Option<bool>,
    /// WAV file played while a call rings (default: the bundled assets/ring-tone.wav).
    pub ring_tone: Option<PathBuf>,
}

impl PhoneSection {
    /// The audio devices and processing this section asks for.
    pub fn device_settings(&self) -> crate::audio::device::DeviceSettings {
        let defaults = crate::audio::processing::ProcessingSettings::default();
        crate::audio::device::DeviceSettings {
            input: self.input_device.clone(),
            output: self.output_device.clone(),
            processing: crate::audio::processing::ProcessingSettings {
                echo_cancellation: self.echo_cancellation.unwrap_or(defaults.echo_cancellation),
                noise_suppression: self.noise_suppression.unwrap_or(defaults.noise_suppression),
                gain_control: self.gain_control.unwrap_or(defaults.gain_control),
            },
            ring_tone: self.ring_tone.clone(),
        }
    }
}

/// Transport as written in the file.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum TransportName {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS (server port 5061 by default).
    Tls,
}

/// `srtp` as written in the file.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SrtpName {
    /// Plain RTP only.
    Off,
    /// Offer SRTP; accept plain RTP.
    Optional,
    /// SRTP or no call.
    Required,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    phone: PhoneSection,
    // The server's sections: checked by the server, not here.
    #[serde(default)]
    #[allow(dead_code)]
    server: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    agents: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    teams: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    agent_states: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    dispositions: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    security: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    media: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    tls: Option<toml::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    cluster: Option<toml::Value>,
}

/// A config file that cannot be used: `FILE:LINE: key `K`: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {}{message}", key.as_ref().map(|k| format!("key `{k}`: ")).unwrap_or_default())]
pub struct ConfigError {
    /// The file as given.
    pub file: String,
    /// 1-based line (0 when the file could not be read).
    pub line: usize,
    /// The key concerned, when known.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// Read the `[phone]` section of `path`.
pub fn load(path: &Path) -> Result<PhoneSection, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.display().to_string(),
        line: 0,
        key: None,
        message: format!("cannot read: {e}"),
    })?;
    parse(&text, &path.display().to_string())
}

/// Parse config text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<PhoneSection, ConfigError> {
    match toml::from_str::<RawFile>(text) {
        Ok(raw) => Ok(raw.phone),
        Err(e) => {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            let line = text
                .get(..offset)
                .map(|before| before.matches('\n').count() + 1)
                .unwrap_or(1);
            let message = e.message().trim().to_string();
            let key = unknown_field(&message).or_else(|| key_on_line(text, line));
            Err(ConfigError {
                file: file.to_string(),
                line,
                key,
                message,
            })
        }
    }
}

/// The field of serde's "unknown field `x`, expected …".
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_string())
}

/// The key of a `key = value` line.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = l.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty() && !key.starts_with('[')).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_section_is_read_and_other_sections_ignored() {
        let text = r#"
[server]
listen = "127.0.0.1:5060"

[[agents]]
username = "alice"
password = "pw"

[phone]
server = "127.0.0.1:5060"
user = "alice"
password = "pw"
display = "Alice A"
transport = "tcp"
bind = "127.0.0.1"
register_expires = 120
auto_answer = true
tone = 440.0
record = "/tmp/r.wav"
"#;
        let p = parse(text, "c.toml").unwrap();
        assert_eq!(p.server, Some("127.0.0.1:5060".parse().unwrap()));
        assert_eq!(p.user.as_deref(), Some("alice"));
        assert_eq!(p.display.as_deref(), Some("Alice A"));
        assert_eq!(p.transport, Some(TransportName::Tcp));
        assert_eq!(p.register_expires, Some(120));
        assert_eq!(p.auto_answer, Some(true));
        assert_eq!(p.tone, Some(440.0));
        assert_eq!(p.record, Some(PathBuf::from("/tmp/r.wav")));
    }

    #[test]
    fn the_example_config_opens_the_phone_as_alice() {
        let text = include_str!("../config.example.toml");
        let p = parse(text, "config.example.toml").unwrap();
        assert_eq!(p.user.as_deref(), Some("alice"));
        assert_eq!(p.server, Some("127.0.0.1:5060".parse().unwrap()));
        assert_eq!(p.echo_cancellation, Some(true));
    }

    #[test]
    fn audio_device_keys_switch_processing_stages() {
        let text = "[phone]\ninput_device = \"mic\"\noutput_device = \"spk\"\necho_cancellation = false\ngain_control = false\n";
        let s = parse(text, "c.toml").unwrap().device_settings();
        assert_eq!(s.input.as_deref(), Some("mic"));
        assert_eq!(s.output.as_deref(), Some("spk"));
        assert!(!s.processing.echo_cancellation);
        assert!(s.processing.noise_suppression, "unset = on");
        assert!(!s.processing.gain_control);
        let e = parse("[phone]\nnoise_suppression = \"yes\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("noise_suppression"), "{e}");
    }

    #[test]
    fn file_without_phone_section_is_empty() {
        assert_eq!(parse("", "c.toml").unwrap(), PhoneSection::default());
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = "[phone]\nuser = \"a\"\npasword = \"x\"\n";
        let e = parse(text, "c.toml").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.key.as_deref(), Some("pasword"));
        assert!(
            e.to_string()
                .starts_with("c.toml:3: key `pasword`: unknown field"),
            "{e}"
        );
    }

    #[test]
    fn bad_value_names_its_key() {
        let text = "[phone]\nuser = \"a\"\nserver = \"not an address\"\n";
        let e = parse(text, "c.toml").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(e.key.as_deref(), Some("server"));
        let e = parse("[phone]\ntransport = \"sctp\"\n", "c.toml").unwrap_err();
        assert_eq!((e.line, e.key.as_deref()), (2, Some("transport")));
    }

    #[test]
    fn unknown_top_level_table_is_an_error() {
        let e = parse("[phnoe]\nuser = \"a\"\n", "c.toml").unwrap_err();
        assert_eq!(e.key.as_deref(), Some("phnoe"));
        assert_eq!(e.line, 1);
    }

    #[test]
    fn syntax_error_names_the_line() {
        let e = parse("[phone]\nuser = \n", "c.toml").unwrap_err();
        assert_eq!(e.line, 2);
    }
}
