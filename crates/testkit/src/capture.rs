//! A packet capture on the loopback interface (`tcpdump -i lo`, root): what really went over the
//! wire, as TCP and UDP payloads with their ports. For checks that nothing readable leaks.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// One captured IPv4 TCP segment or UDP datagram.
#[derive(Clone, Debug)]
pub struct Packet {
    pub udp: bool,
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: Vec<u8>,
}

/// A running `tcpdump`.
pub struct Capture {
    child: Child,
    path: PathBuf,
}

impl Capture {
    /// Capture what matches `filter` (tcpdump syntax) on `lo` into `path`; returns once
    /// tcpdump listens.
    pub fn start(path: &Path, filter: &str) -> Capture {
        let mut child = Command::new("tcpdump")
            .args(["-i", "lo", "-n", "-U", "-s", "0", "-w"])
            .arg(path)
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("tcpdump is needed for this test (bash .ci/setup): {e}"));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("tcpdump did not start listening on lo"));
        Capture {
            child,
            path: path.to_path_buf(),
        }
    }

    /// Stop the capture and read what it holds.
    pub fn stop(mut self) -> Vec<Packet> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let file = std::fs::read(&self.path)
            .unwrap_or_else(|e| panic!("read {}: {e}", self.path.display()));
        packets(&file).unwrap_or_else(|e| panic!("{}: {e}", self.path.display()))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The IPv4 TCP/UDP packets of a little-endian classic pcap file of Ethernet frames (what
/// tcpdump writes for `lo` on x86).
pub fn packets(file: &[u8]) -> Result<Vec<Packet>, String> {
    if le32(file, 0) != Some(0xA1B2_C3D4) {
        return Err("not a little-endian pcap file".into());
    }
    if le32(file, 20) != Some(1) {
        return Err("not an Ethernet capture".into());
    }
    let mut out = Vec::new();
    let mut at = 24;
    while let Some(incl) = le32(file, at + 8) {
        let frame = file
            .get(at + 16..at + 16 + incl as usize)
            .ok_or("truncated record")?;
        at += 16 + incl as usize;
        if be16(frame, 12) != Some(0x0800) {
            continue; // not IPv4
        }
        let ip = &frame[14.min(frame.len())..];
        let ihl = usize::from(ip.first().map_or(0, |b| b & 0x0f)) * 4;
        let total = usize::from(be16(ip, 2).unwrap_or(0)).min(ip.len());
        let proto = ip.get(9).copied().unwrap_or(0);
        let l4 = ip.get(ihl..total).unwrap_or_default();
        let (udp, header) = match proto {
            17 => (true, 8),
            6 => (false, usize::from(l4.get(12).map_or(0, |b| b >> 4)) * 4),
            _ => continue,
        };
        let (Some(src_port), Some(dst_port)) = (be16(l4, 0), be16(l4, 2)) else {
            continue;
        };
        out.push(Packet {
            udp,
            src_port,
            dst_port,
            payload: l4.get(header..).unwrap_or_default().to_vec(),
        });
    }
    Ok(out)
}

/// The UDP ports process `pid` has open (`ss -uanp`).
pub fn udp_ports_of(pid: u32) -> Vec<u16> {
    let out = Command::new("ss")
        .args(["-H", "-uanp"])
        .output()
        .unwrap_or_else(|e| panic!("ss: {e}"));
    let needle = format!("pid={pid},");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| {
            let local = l.split_whitespace().nth(3)?;
            local.rsplit(':').next()?.parse().ok()
        })
        .collect()
}
