//! The softphone's command line outside headless mode: what happens before the terminal UI opens.

use std::process::Command;

fn agentphone(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_agentphone"))
        .args(args)
        .output()
        .expect("run agentphone")
}

#[test]
fn tui_without_a_server_says_what_to_give_and_exits_2() {
    let out = agentphone(&["--user", "alice"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--server IP:PORT"), "{err}");
    assert!(err.contains("agentphone demo"), "{err}");
}

#[test]
fn tui_with_a_bad_config_key_names_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("phone.toml");
    std::fs::write(
        &path,
        "[phone]\nserver = \"127.0.0.1:5060\"\necho_cancelation = true\n",
    )
    .expect("write config");
    let out = agentphone(&["--config", path.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("phone.toml:3"), "{err}");
    assert!(err.contains("echo_cancelation"), "{err}");
}

#[test]
fn devices_lists_inputs_and_outputs_or_says_why_not() {
    let out = agentphone(&["devices"]);
    let text = String::from_utf8_lossy(&out.stdout);
    // Issue 10 #9: what ALSA (or JACK) prints while probing stays off the terminal.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ALSA lib") && !err.contains("jack server"),
        "{err}"
    );
    if out.status.success() {
        assert!(text.contains("Input devices:"), "{text}");
        assert!(text.contains("Output devices:"), "{text}");
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("agentphone:"), "a clear error: {err}");
    }
}
