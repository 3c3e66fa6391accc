"""The voice-quality bench's driver (run by ./run, which sets up the namespaces).

For each condition (0/1/5/10 % loss, 30 ms jitter) it plays the reference speech
customer → agentphone server → agent through headless phones, and baresip → baresip direct,
records what the far end heard, and scores every looped copy with WB-PESQ. Loss: iptables
statistic on INPUT in the receiving (agent) namespace; jitter: NFQUEUE + delayer.py there.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyze import read_wav, score  # noqa: E402
from capture import mouth_to_ear  # noqa: E402
from clicks import LIMIT_DB, switch_clicks  # noqa: E402

SRV_NS, AGENT_NS = "apvq-srv", "apvq-agent"
SRV_IP, AGENT_IP = "10.77.0.1", "10.77.0.2"


def ns(name, *cmd):
    return ["ip", "netns", "exec", name, *cmd]


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


class Proc:
    """A child whose stdout JSON events are timestamped on one clock as they arrive."""

    def __init__(self, cmd, log):
        self.events = []
        self.wall = []
        self.log = open(log, "w")
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            now = time.monotonic()
            self.log.write(line)
            try:
                self.events.append((now, json.loads(line)))
                self.wall.append(time.time())  # the packet captures' clock
            except json.JSONDecodeError:
                pass

    def first(self, **fields):
        for t, e in self.events:
            if all(e.get(k) == v for k, v in fields.items()):
                return t
        return None

    def stop(self, timeout=5):
        if self.p.poll() is None:
            self.p.terminate()
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
        self.log.flush()


def impair(condition, delayer):
    """Loss or jitter on RTP arriving in the agent namespace (SIP on 5060/5070 untouched)."""
    sh(*ns(AGENT_NS, "iptables", "-F", "INPUT"))
    rtp = ["-p", "udp", "!", "--sport", "5060", "-m", "multiport", "!", "--dports", "5060,5070"]
    if condition.endswith("%"):
        p = float(condition[:-1]) / 100
        if p > 0:
            sh(*ns(AGENT_NS, "iptables", "-A", "INPUT", *rtp, "-m", "statistic", "--mode",
                   "random", "--probability", str(p), "-j", "DROP"))
    elif condition == "jitter":
        sh(*ns(AGENT_NS, "iptables", "-A", "INPUT", *rtp, "-j", "NFQUEUE", "--queue-num", "7"))
        return delayer()
    return None


def agentphone_run(a, work, tag, hold=False):
    """One call customer → server → agent. With `hold` the agent sends a steady 1.5 kHz tone
    (nothing above 8 kHz: any energy there at a switch is the switch's), puts the customer on
    hold for 5 s and resumes, and the customer records what it hears."""
    conf = os.path.join(work, "server.toml")
    with open(conf, "w") as f:
        f.write(f'[server]\nlisten = "{SRV_IP}:5060"\nmedia_ip = "{SRV_IP}"\n'
                f'database = ":memory:"\n'
                '[[agents]]\nusername = "alice"\npassword = "a"\n'
                '[[teams]]\nname = "support"\nmembers = ["alice"]\ninbound = "support"\n')
    agent_script = os.path.join(work, "agent.txt")
    with open(agent_script, "w") as f:
        f.write("register\nvoice on\nwait call_state state=connected timeout=30\n"
                + ("sleep 7\nhold\nsleep 5\nresume\n" if hold else "")
                + f"wait call_state state=ended timeout={a.seconds + 30}\nquit\n")
    cust_script = os.path.join(work, "customer.txt")
    with open(cust_script, "w") as f:
        f.write(f"sleep 1\ndial sip:support@{SRV_IP}:5060\n"
                "wait call_state state=connected timeout=30\n"
                f"sleep {a.seconds}\nhangup\nquit\n")
    rec = os.path.join(work, f"agentphone-{tag}.wav")
    # RTP captures for mouth-to-ear: the customer ↔ server on lo, the agent's veth end.
    pcaps = (os.path.join(work, f"srv-{tag}.pcap"), os.path.join(work, f"agent-{tag}.pcap"))
    dumps = [subprocess.Popen(ns(n, "tcpdump", "-i", i, "-Z", "root", "-U", "-q", "-w", f,
                                 "udp and not port 5060 and not port 5070"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for n, i, f in ((SRV_NS, "lo", pcaps[0]), (AGENT_NS, "apvq1", pcaps[1]))]
    time.sleep(0.5)
    server = Proc(ns(SRV_NS, a.server_bin, "--config", conf), os.path.join(work, f"server-{tag}.log"))
    time.sleep(0.5)
    agent = Proc(ns(AGENT_NS, a.phone_bin, "--headless", "--server", f"{SRV_IP}:5060", "--user",
                    "alice", "--password", "a", "--bind", AGENT_IP, "--auto-answer",
                    *(["--tone", "1500"] if hold else ["--silence"]),
                    "--record", rec, "--script", agent_script),
                 os.path.join(work, f"agent-{tag}.log"))
    time.sleep(1.0)
    cust = Proc(ns(SRV_NS, a.phone_bin, "--headless", "--server", f"{SRV_IP}:5060", "--user",
                   "customer", "--bind", SRV_IP, "--wav", a.reference, "--script", cust_script,
                   *(["--record", os.path.join(work, f"customer-{tag}.wav")] if hold else [])),
                os.path.join(work, f"customer-{tag}.log"))
    cust.p.wait(a.seconds + 60)
    agent.p.wait(30)
    for p in (cust, agent, server):
        p.stop()
    for d in dumps:
        d.terminate()
        d.wait(5)
    # The customer's microphone (the WAV) and the agent's recording both start with the call:
    # their connected events put the two timelines on one clock.
    t_cust = cust.first(event="call_state", state="connected")
    t_agent = agent.first(event="call_state", state="connected")
    if hold:
        # The switches, on the capture clock: the agent's held event and the connected after it.
        held = [w for (t, e), w in zip(agent.events, agent.wall)
                if e.get("event") == "call_state" and e.get("state") == "held"]
        back = [w for (t, e), w in zip(agent.events, agent.wall)
                if e.get("event") == "call_state" and e.get("state") == "connected"
                and held and w > held[0]]
        return pcaps, [("hold", held[0])] * bool(held) + [("resume", back[0])] * bool(back)
    return rec, pcaps, (t_agent - t_cust) if t_cust and t_agent else None


def baresip_run(a, work, tag):
    """baresip → baresip direct: the caller plays the reference (aufile), the callee records
    the decoded stream (sndfile module)."""
    # baresip 1.0's aufile wants the stream's channel count (Opus is negotiated as 2).
    # Its source ends the call at end of file: the caller plays the loop repeated for the run,
    # the callee silence.
    stereo = os.path.join(work, "reference-stereo.wav")
    quiet = os.path.join(work, "silence-stereo.wav")
    if not os.path.exists(stereo):
        repeats = int(a.seconds / a.loop_s) + 1
        sh("sox", a.reference, "-c", "2", stereo, "repeat", str(repeats))
        sh("sox", "-n", "-r", "48000", "-c", "2", "-b", "16", quiet, "trim", "0",
           str(a.seconds + 15))
    dirs = {}
    for who, ip, port in (("caller", SRV_IP, 5070), ("callee", AGENT_IP, 5070)):
        d = os.path.join(work, f"baresip-{who}-{tag}")
        os.makedirs(d, exist_ok=True)
        mods = ["menu", "g711", "opus", "aufile", "alsa", "account"] + (
            ["sndfile"] if who == "callee" else [])
        with open(os.path.join(d, "config"), "w") as f:
            f.write(f"poll_method epoll\nsip_listen {ip}:{port}\n"
                    f"audio_source aufile,{stereo if who == 'caller' else quiet}\n"
                    "audio_player alsa,null\n"
                    "audio_alert alsa,null\naudio_srate 48000\n"
                    "rtp_ports 20000-20999\nmodule_path /usr/lib/baresip/modules\n"
                    + "".join(f"module {m}.so\n" for m in mods)
                    + f"snd_path {d}\n")
        with open(os.path.join(d, "accounts"), "w") as f:
            f.write(f"<sip:{who}@{ip}:{port}>;regint=0;answermode=auto;"
                    "audio_codecs=opus/48000/2\n")
        dirs[who] = d
    callee = Proc(ns(AGENT_NS, "baresip", "-f", dirs["callee"]), os.path.join(work, f"bs-callee-{tag}.log"))
    time.sleep(1.0)
    caller = Proc(ns(SRV_NS, "baresip", "-f", dirs["caller"], "-e",
                     f"/dial sip:callee@{AGENT_IP}:5070", "-t", str(a.seconds + 2)),
                  os.path.join(work, f"bs-caller-{tag}.log"))
    caller.p.wait(a.seconds + 30)
    time.sleep(0.5)
    callee.stop()
    caller.stop()
    dumps = [f for f in os.listdir(dirs["callee"]) if f.endswith("-dec.wav")]
    return os.path.join(dirs["callee"], dumps[0]) if dumps else None


def hold_check(a):
    """The customer's recording around the agent's hold and resume: no broadband click."""
    pcaps, switches = agentphone_run(a, a.work, "hold", hold=True)
    _rate, heard = read_wav(os.path.join(a.work, "customer-hold.wav"))
    got = switch_clicks(heard, pcaps[0], SRV_IP, pcaps[1], switches)
    if isinstance(got, str) or len(got) < 2:
        print(f"hold: click check not done: {got} (switches seen: {switches})", flush=True)
        return
    verdict = "ok" if all(db < LIMIT_DB for db in got.values()) else "CLICK"
    print("hold: energy above 8 kHz at the switch above its louder side, heard by the customer: "
          + ", ".join(f"{k} {v:.1f} dB" for k, v in got.items())
          + f" (limit {LIMIT_DB:.0f} dB): {verdict}", flush=True)


def median_pesq(results):
    return statistics.median(r["pesq"] for r in results) if results else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--reference", required=True)
    ap.add_argument("--loop-s", type=float, required=True)
    ap.add_argument("--speech-s", type=float, required=True)
    ap.add_argument("--seconds", type=int, default=25)
    ap.add_argument("--server-bin", required=True)
    ap.add_argument("--phone-bin", required=True)
    ap.add_argument("--conditions", default="0%,1%,5%,10%,jitter,hold")
    ap.add_argument("--no-baresip", action="store_true")
    a = ap.parse_args()

    def delayer():
        d = subprocess.Popen(ns(AGENT_NS, sys.executable,
                                os.path.join(os.path.dirname(__file__), "delayer.py"), "7"),
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        if d.poll() is not None:
            return ("unavailable", d.stderr.read().strip())
        return d

    rows = []
    for cond in a.conditions.split(","):
        if cond == "hold":
            hold_check(a)
            continue
        tag = cond.replace("%", "pct")
        d = impair(cond, delayer)
        if isinstance(d, tuple):
            print(f"{cond}: skipped — NFQUEUE delayer unavailable: {d[1]}", flush=True)
            sh(*ns(AGENT_NS, "iptables", "-F", "INPUT"))
            continue
        try:
            rec, pcaps, conn_offset = agentphone_run(a, a.work, tag)
            ours = score(a.reference, rec, a.loop_s, a.speech_s) if os.path.exists(rec) else []
            theirs = []
            if not a.no_baresip:
                bs = baresip_run(a, a.work, tag)
                theirs = score(a.reference, bs, a.loop_s, a.speech_s) if bs else []
        finally:
            if d is not None:
                d.terminate()
            sh(*ns(AGENT_NS, "iptables", "-F", "INPUT"))
        # Mouth-to-ear from the packet captures (capture.py); the phones' event timestamps
        # (± one frame) beside it as a cross-check.
        m2e, parts = None, None
        if ours:
            rate, ref = read_wav(a.reference)
            speech = ref[: int(a.speech_s * rate)]
            parts = mouth_to_ear(*pcaps, speech, int(round(a.loop_s * rate)),
                                 [r["at_s"] for r in ours], AGENT_IP)
            if isinstance(parts, dict):
                m2e = parts["m2e_ms"]
            else:
                print(f"{cond}: mouth-to-ear not measured: {parts}", flush=True)
        if ours and conn_offset is not None:
            lags = [(r["at_s"] + conn_offset) % a.loop_s for r in ours]
            lags = [l if l < a.loop_s / 2 else l - a.loop_s for l in lags]
            print(f"{cond}: mouth-to-ear from the phones' events {statistics.median(lags) * 1000:.0f} ms "
                  f"(± 20 ms)", flush=True)
        if isinstance(parts, dict):
            print(f"{cond}: mouth-to-ear {parts['m2e_ms']:.1f} ms over {parts['copies']} copies = "
                  f"codec lookahead {parts['codec_ms']:.1f} + server relay {parts['relay_ms']:.1f} + "
                  f"wait for the agent's tick {parts['tick_wait_ms']:.1f} + jitter buffer "
                  f"{parts['m2e_ms'] - parts['codec_ms'] - parts['relay_ms'] - parts['tick_wait_ms']:.1f} ms "
                  f"({parts['agent_packets']} agent packets)", flush=True)
        rows.append((cond, median_pesq(ours), len(ours), median_pesq(theirs), len(theirs), m2e))
        print(f"{cond}: agentphone via server WB-PESQ {median_pesq(ours):.2f} ({len(ours)} copies), "
              f"baresip direct {median_pesq(theirs):.2f} ({len(theirs)} copies), "
              f"mouth-to-ear {m2e if m2e is None else round(m2e)} ms", flush=True)

    print("\n| condition | agentphone via server (WB-PESQ, median of copies) | baresip ↔ baresip direct, same run | mouth-to-ear via server (captures) |")
    print("|---|---|---|---|")
    for cond, o, on, t, tn, m in rows:
        print(f"| {cond} | {o:.2f} (n={on}) | {t:.2f} (n={tn}) | {'–' if m is None else f'{m:.0f} ms'} |")


if __name__ == "__main__":
    main()
