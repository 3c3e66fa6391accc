"""NFQUEUE delayer: holds every packet of queue N for a random 0–60 ms (mean 30 ms) before
accepting it, so packets arrive with ±30 ms jitter (and some reordering). Needs the PyPI
`NetfilterQueue` package; exits 3 with a message when it is not there."""
import heapq
import random
import sys
import threading
import time

try:
    from netfilterqueue import NetfilterQueue
except ImportError as e:
    print(f"python netfilterqueue not importable ({e})", file=sys.stderr)
    sys.exit(3)

queue = int(sys.argv[1]) if len(sys.argv) > 1 else 7
held, lock, wake = [], threading.Lock(), threading.Event()
seq = 0


def on_packet(pkt):
    global seq
    pkt.retain()
    with lock:
        seq += 1
        heapq.heappush(held, (time.monotonic() + random.uniform(0.0, 0.060), seq, pkt))
    wake.set()


def release():
    while True:
        with lock:
            due = held[0][0] if held else None
            if due is not None and due <= time.monotonic():
                _, _, pkt = heapq.heappop(held)
            else:
                pkt = None
        if pkt is not None:
            pkt.accept()
            continue
        wake.wait(0.001 if due is None else max(0.0, due - time.monotonic()))
        wake.clear()


threading.Thread(target=release, daemon=True).start()
nfq = NetfilterQueue()
nfq.bind(queue, on_packet)
try:
    nfq.run()
except KeyboardInterrupt:
    pass
