//! SPEC B5: configuration errors name the file, the line and the key; unknown keys are errors;
//! the binary exits with code 2.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use agentphone_server::Config;

fn error_of(text: &str) -> agentphone_server::ConfigError {
    match Config::from_toml_str(text, "conf/test.toml") {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn unknown_key_is_an_error_with_line_and_key() {
    let e = error_of("[server]\nlisten = \"127.0.0.1:0\"\ncolour = \"blue\"\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert_eq!(e.key.as_deref(), Some("colour"), "{e}");
    assert!(
        e.to_string()
            .starts_with("conf/test.toml:3: key `colour`: "),
        "{e}"
    );
}

#[test]
fn unknown_key_in_an_agent_is_an_error() {
    let e = error_of("[[agents]]\nusername = \"a\"\npassword = \"p\"\nteam = \"x\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(4), Some("team")), "{e}");
}

#[test]
fn unknown_table_is_an_error() {
    let e = error_of("[server]\n\n[client]\nx = 1\n");
    assert_eq!(e.key.as_deref(), Some("client"), "{e}");
    assert!(e.line.is_some(), "{e}");
}

#[test]
fn wrong_type_names_the_key() {
    let e = error_of("[server]\nring_timeout_s = \"fifteen\"\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("ring_timeout_s")),
        "{e}"
    );
}

#[test]
fn bad_listen_address_names_the_key() {
    let e = error_of("[server]\n\nlisten = \"not-an-address\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("listen")), "{e}");
    assert!(e.message.contains("IP:PORT"), "{e}");
}

#[test]
fn team_member_must_be_an_agent() {
    let text = "[[agents]]\nusername = \"alice\"\npassword = \"p\"\n[[teams]]\nname = \"support\"\nmembers = [\"alice\",\n  \"zed\"]\n";
    let e = error_of(text);
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(7), Some("members")),
        "{e}"
    );
    assert!(e.message.contains("zed"), "{e}");
}

#[test]
fn duplicate_agents_and_zero_timeouts_are_rejected() {
    let e = error_of("[[agents]]\nusername = \"a\"\npassword = \"p\"\n[[agents]]\nusername = \"a\"\npassword = \"q\"\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(5), Some("username")),
        "{e}"
    );
    let e = error_of("[server]\nrtp_timeout_s = 0\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("rtp_timeout_s")),
        "{e}"
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let e = error_of("[server]\nlisten = \"127.0.0.1:0\"\nrealm = \n");
    assert_eq!(e.line, Some(3), "{e}");
}

#[test]
fn phone_section_is_accepted_as_is_and_paths_resolve_against_the_file() {
    let text = "[server]\nmusic_on_hold = \"a/moh.wav\"\ndatabase = \":memory:\"\n[phone]\nanything = 1\n[phone.audio]\nx = \"y\"\n";
    let c = Config::from_toml_str(text, "/etc/agentphone/c.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        c.music_on_hold,
        std::path::PathBuf::from("/etc/agentphone/a/moh.wav")
    );
    assert_eq!(c.database, std::path::PathBuf::from(":memory:"));
    assert_eq!(c.ring_timeout.as_secs(), 15);
    assert_eq!(c.max_participants, 3);
    assert_eq!(c.queue_timeout.as_secs(), 120);
    assert!(c.hold_customer_on_transfer);
}

#[test]
fn queue_and_transfer_keys_are_read_and_checked() {
    let c = Config::from_toml_str(
        "[server]\nqueue_timeout_s = 30\nhold_customer_on_transfer = false\n",
        "t.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.queue_timeout.as_secs(), 30);
    assert!(!c.hold_customer_on_transfer);
    let e = error_of("[server]\nqueue_timeout_s = 0\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(2), Some("queue_timeout_s")),
        "{e}"
    );
    let e = error_of("[server]\nhold_customer_on_transfer = \"yes\"\n");
    assert_eq!(e.line, Some(2), "{e}");
}

#[test]
fn the_example_config_is_valid() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config.example.toml");
    let c = agentphone_server::config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.team_by_inbound("support").is_some());
    assert!(c.agent("alice").is_some());
    assert!(c.is_supervisor("sue") && !c.is_supervisor("alice"));
}

#[test]
fn binary_exits_2_with_file_line_key_on_stderr() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nlisten = \"127.0.0.1:0\"\nbogus = true\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_agentphone-server"))
        .arg("--config")
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}:3: key `bogus`:", file.display())),
        "stderr: {stderr}"
    );
}

#[test]
fn binary_prints_listening_line_when_bound() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("ok.toml");
    std::fs::write(
        &file,
        "[server]\nlisten = \"127.0.0.1:0\"\ndatabase = \":memory:\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentphone-server"))
        .arg("--config")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    let read = BufReader::new(stdout).read_line(&mut line);
    let _ = child.kill();
    let _ = child.wait();
    assert!(read.is_ok());
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(v["event"], "listening");
    let addr: std::net::SocketAddr = v["sip"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_ne!(addr.port(), 0);
}

/// `[media] workers`: the media engine's thread count, default one per core, 1..256.
#[test]
fn media_workers_is_a_key_with_a_range() {
    let ok = Config::from_toml_str("[media]\nworkers = 3\n", "conf/test.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.media_workers, 3);
    let default = Config::from_toml_str("", "conf/test.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        default.media_workers,
        agentphone_server::media_engine::default_workers()
    );
    let e = error_of("[media]\n\nworkers = 0\n");
    assert_eq!(
        (e.line, e.key.as_deref()),
        (Some(3), Some("workers")),
        "{e}"
    );
}

#[test]
fn rtp_ports_is_a_first_dash_last_range() {
    let ok = Config::from_toml_str("[media]\nrtp_ports = \"10000-20000\"\n", "conf/test.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ok.rtp_ports, Some(10000..=20000));
    let default = Config::from_toml_str("", "conf/test.toml").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(default.rtp_ports, None, "ephemeral ports");
    for bad in ["20000-10000", "80-90", "10000", "ten-twenty"] {
        let e = error_of(&format!("[media]\nrtp_ports = \"{bad}\"\n"));
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(2), Some("rtp_ports")),
            "{bad}: {e}"
        );
    }
}

#[test]
fn tls_section_is_checked_and_resolved() {
    let e = error_of("[tls]\ncert = \"c.pem\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("cert")), "{e}");
    let e = error_of("[tls]\nlisten = \"127.0.0.1:5061\"\n");
    assert_eq!(e.key.as_deref(), Some("listen"), "{e}");
    let e = error_of("[tls]\nsrtp = \"always\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(2), Some("srtp")), "{e}");
    let e = error_of("[[teams]]\nname = \"t\"\nsrtp = \"yes\"\n");
    assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("srtp")), "{e}");

    let text = "[server]\nlisten = \"127.0.0.1:5060\"\n[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\nsrtp = \"required\"\n\
                [[agents]]\nusername = \"a\"\npassword = \"p\"\nsrtp = \"off\"\n\
                [[teams]]\nname = \"t\"\nmembers = [\"a\"]\n";
    let c = Config::from_toml_str(text, "conf/test.toml").expect("valid");
    let tls = c.tls.as_ref().expect("tls");
    assert_eq!(tls.listen, "127.0.0.1:5061".parse().expect("addr"));
    assert_eq!(tls.cert, std::path::Path::new("conf/c.pem"));
    use agentphone_server::security::srtp::SrtpPolicy;
    assert_eq!(c.agent_srtp("a"), SrtpPolicy::Off);
    assert_eq!(c.team_srtp("t"), SrtpPolicy::Required);
    assert!(!c.sdes_over_plain);
    assert!(Config::from_toml_str("[server]\n", "x.toml")
        .expect("ok")
        .tls
        .is_none());
}

/// `[cluster]` (issue 12): node name, PostgreSQL connection string, lease; absent = alone with
/// SQLite.
#[test]
fn cluster_section_is_read_and_checked() {
    let alone = Config::from_toml_str("", "conf/test.toml").unwrap_or_else(|e| panic!("{e}"));
    assert!(alone.cluster.is_none());
    let ok = Config::from_toml_str(
        "[cluster]\nnode = \"n-1\"\npostgres = \"host=127.0.0.1 dbname=a\"\nlease_s = 4\n",
        "conf/test.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let records = ok.cluster.map(|c| c.records).expect("cluster settings");
    assert_eq!(
        (
            records.node.as_str(),
            records.conninfo.as_str(),
            records.lease.as_secs()
        ),
        ("n-1", "host=127.0.0.1 dbname=a", 4)
    );
    for (text, line, key) in [
        ("[cluster]\nnode = \"a b\"\npostgres = \"x\"\n", 2, "node"),
        (
            "[cluster]\nnode = \"n1\"\npostgres = \" \"\n",
            3,
            "postgres",
        ),
        (
            "[cluster]\nnode = \"n1\"\npostgres = \"x\"\nlease_s = 1\n",
            4,
            "lease_s",
        ),
    ] {
        let e = error_of(text);
        assert_eq!((e.line, e.key.as_deref()), (Some(line), Some(key)), "{e}");
    }
    let e = error_of("[cluster]\npostgres = \"x\"\n");
    assert!(e.to_string().contains("node"), "{e}");

    // Routing across nodes: `redis` and `edge` together, or neither.
    let base = "[cluster]\nnode = \"n1\"\npostgres = \"x\"\n";
    let shared = Config::from_toml_str(
        &format!("{base}redis = \"redis://127.0.0.1:6380/\"\nedge = \"127.0.0.1:5070\"\n"),
        "conf/test.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"))
    .cluster
    .and_then(|c| c.shared)
    .expect("shared directory settings");
    assert_eq!(
        (shared.redis.as_str(), shared.edge.to_string()),
        ("redis://127.0.0.1:6380/", "127.0.0.1:5070".to_string())
    );
    for (extra, line, key) in [
        ("redis = \"redis://h/\"\n", 4, "redis"),
        ("edge = \"127.0.0.1:5070\"\n", 4, "edge"),
        (
            "redis = \"http://h/\"\nedge = \"127.0.0.1:5070\"\n",
            4,
            "redis",
        ),
        ("redis = \"redis://h/\"\nedge = \"kamailio\"\n", 5, "edge"),
    ] {
        let e = error_of(&format!("{base}{extra}"));
        assert_eq!((e.line, e.key.as_deref()), (Some(line), Some(key)), "{e}");
    }
}
