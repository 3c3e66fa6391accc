"""Mouth-to-ear from packet captures (issue 9): where each millisecond goes, customer → server
relay → agent, on the kernel's capture clock.

- Mouth: the customer's RTP packets as captured in the server namespace (lo). Decoded with
  libopus, they give where each looped copy of the reference starts in the customer's stream; the
  packet that carries that frame was captured when the phone handed the frame to the network
  (a WAV source hands whole 20 ms frames; a live microphone adds the 20 ms it takes to fill one).
- Server: the same payload bytes leaving the server towards the agent (relay rewrites only the
  RTP header), captured on the agent side of the veth pair.
- Ear: the agent sends one packet per 20 ms tick and records one frame on the same tick, so its
  k-th sent packet (captured) time-stamps the k-th recorded frame: where a copy starts in the
  recording gives its playout time.
"""
import ctypes
import ctypes.util
import statistics
import struct

import numpy as np
from scipy.signal import correlate

RATE = 48000
FRAME = 960


def read_pcap(path):
    """(time s, src ip, src port, dst ip, dst port, udp payload) of every IPv4 UDP packet."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    endian, nano = {0xA1B2C3D4: ("<", False), 0xA1B23C4D: ("<", True),
                    0xD4C3B2A1: (">", False), 0x4D3CB2A1: (">", True)}[magic]
    link = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16: off + 16 + incl]
        off += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        if link == 1:  # Ethernet
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif link == 113:  # Linux cooked
            ip = pkt[16:]
        else:
            ip = pkt
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        src, dst = ".".join(map(str, ip[12:16])), ".".join(map(str, ip[16:20]))
        sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
        out.append((t, src, sport, dst, dport, ip[ihl + 8:]))
    return out


def rtp(payload):
    """(pt, seq, ts, ssrc, body) of an RTP packet, or None (RTCP, garbage)."""
    if len(payload) < 12 or payload[0] >> 6 != 2:
        return None
    pt = payload[1] & 0x7F
    if 72 <= pt <= 79:  # RTCP (200–207 with the marker bit)
        return None
    cc = payload[0] & 15
    seq, ts, ssrc = struct.unpack(">HII", payload[2:12])
    off = 12 + 4 * cc
    if payload[0] & 0x10 and len(payload) >= off + 4:
        off += 4 + 4 * struct.unpack(">H", payload[off + 2:off + 4])[0]
    return pt, seq, ts, ssrc, payload[off:]


def streams(packets, src=None):
    """RTP packets grouped by SSRC: {ssrc: [(time, seq, ts, body, (src, sport, dst, dport))]}."""
    out = {}
    for t, s, sp, d, dp, p in packets:
        if src is not None and s != src:
            continue
        r = rtp(p)
        if r is None or r[0] != 111:
            continue
        out.setdefault(r[3], []).append((t, r[1], r[2], r[4], (s, sp, d, dp)))
    return out


class Opus:
    """Just enough libopus (ctypes) to decode a mono 48 kHz stream."""

    def __init__(self):
        self.lib = ctypes.CDLL(ctypes.util.find_library("opus") or "libopus.so.0")
        err = ctypes.c_int()
        self.lib.opus_decoder_create.restype = ctypes.c_void_p
        self.dec = ctypes.c_void_p(self.lib.opus_decoder_create(RATE, 1, ctypes.byref(err)))
        self.buf = (ctypes.c_int16 * 5760)()

    def decode(self, body):
        n = self.lib.opus_decode(self.dec, body, len(body), self.buf, 5760, 0)
        return np.frombuffer(self.buf, dtype=np.int16)[:max(n, 0)].astype(np.float64) / 32768.0

    def lookahead(self):
        """The encoder's algorithmic delay at 48 kHz (the AUDIO application, as the phones use)."""
        err = ctypes.c_int()
        self.lib.opus_encoder_create.restype = ctypes.c_void_p
        enc = ctypes.c_void_p(self.lib.opus_encoder_create(RATE, 1, 2049, ctypes.byref(err)))
        v = ctypes.c_int()
        self.lib.opus_encoder_ctl(enc, 4027, ctypes.byref(v))  # OPUS_GET_LOOKAHEAD
        self.lib.opus_encoder_destroy(enc)
        return v.value


def copy_starts(stream, speech, loop):
    """Where every looped copy of `speech` starts in `stream` (48 kHz sample positions)."""
    starts = []
    for start in range(0, len(stream) - loop - len(speech) // 4, loop):
        window = stream[start:start + loop + len(speech)]
        if len(window) < len(speech):
            break
        c = correlate(window, speech, mode="valid", method="fft")
        lag = int(np.argmax(np.abs(c)))
        if np.max(np.abs(window[lag:lag + len(speech)])) > 1e-3:
            starts.append(start + lag)
    return starts


def mouth_to_ear(srv_pcap, agent_pcap, speech, loop_len, rec_copy_starts_s, agent_ip):
    """Median mouth-to-ear (ms) and its parts, or a reason string when it cannot be measured.

    `speech`: the reference speech at 48 kHz (float); `loop_len`: loop length in samples;
    `rec_copy_starts_s`: where each copy starts in the agent's recording (s)."""
    srv = streams(read_pcap(srv_pcap))
    agent_side = read_pcap(agent_pcap)
    if not srv:
        return "no RTP in the server-side capture"
    # The customer's stream is the one carrying speech: the most payload bytes.
    cust = max(srv.values(), key=lambda s: sum(len(p[3]) for p in s))
    cust.sort(key=lambda p: p[0])
    ts0 = cust[0][2]
    opus = Opus()
    delay = opus.lookahead()
    pcm, sent_at = [], {}
    for t, _seq, ts, body, _ in cust:
        k = ((ts - ts0) & 0xFFFFFFFF) // FRAME
        sent_at[k] = t
        pcm.append(opus.decode(body))
    decoded = np.concatenate(pcm) if pcm else np.zeros(0)
    mouths = []
    for x in copy_starts(decoded, speech, loop_len):
        y = x - delay  # the decoder's output lags the encoder's input by its lookahead
        if y // FRAME in sent_at:
            mouths.append(sent_at[y // FRAME] + (y % FRAME) / RATE)
    # The agent's ticks: its own packets (one per tick, the tick that records a frame).
    mine = streams(agent_side, src=agent_ip)
    if not mine or not mouths:
        return "customer or agent stream not found in the captures"
    ticks = max(mine.values(), key=len)
    ticks.sort(key=lambda p: p[0])
    a_ts0 = ticks[0][2]
    tick_at = {((ts - a_ts0) & 0xFFFFFFFF) // FRAME: t for t, _s, ts, _b, _ in ticks}
    ears = []
    for at_s in rec_copy_starts_s:
        n = int(round(at_s * RATE))
        if n // FRAME in tick_at:
            ears.append(tick_at[n // FRAME] + (n % FRAME) / RATE)
    m2e = []
    for e in ears:
        before = [m for m in mouths if m <= e]
        if before:
            m2e.append((e - max(before)) * 1000.0)
    # Parts: the server's relay (same payload bytes in, out), the wait for the agent's tick.
    cust_at = {bytes(p[3]): p[0] for p in cust}
    relayed = [(t, bytes(r[4])) for t, s, sp, d, dp, p in agent_side
               if s != agent_ip and (r := rtp(p)) is not None and r[0] == 111]
    relay_ms = [(t - cust_at[b]) * 1000.0 for t, b in relayed if b in cust_at]
    tick_times = np.array(sorted(tick_at.values()))
    arrivals = np.array([t for t, _ in relayed])
    idx = np.searchsorted(tick_times, arrivals)
    waits = [(tick_times[i] - a) * 1000.0 for i, a in zip(idx, arrivals) if i < len(tick_times)]
    if not m2e:
        return "no copy matched"
    return {
        "m2e_ms": statistics.median(m2e),
        "copies": len(m2e),
        "codec_ms": delay * 1000.0 / RATE,
        "relay_ms": statistics.median(relay_ms) if relay_ms else float("nan"),
        "tick_wait_ms": statistics.median(waits) if waits else float("nan"),
        "agent_packets": len(ticks),
    }
