#!/usr/bin/env python3
"""Module import graph of crates/server/src (one node per file), printing its strongly connected
components: an import circle between files. Run from the repository root; exit 1 on a circle."""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else "crates/server/src"
mods = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith(".rs"):
            p = os.path.relpath(os.path.join(d, f), root)[:-3]
            parts = p.split("/")
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            mods["::".join(parts)] = os.path.join(d, f)
def resolve(cur, path):
    segs = path.split("::")
    if segs[0] == "crate":
        base = []; segs = segs[1:]
    elif segs[0] == "super":
        base = cur.split("::")[:-1] if cur else []
        segs = segs[1:]
        while segs and segs[0] == "super":
            base = base[:-1]; segs = segs[1:]
    elif segs[0] == "self":
        base = cur.split("::") if cur else []; segs = segs[1:]
    else:
        return None
    best = None
    for i in range(len(segs) + 1):
        cand = "::".join(base + segs[:i])
        if cand in mods:
            best = cand
    return best
edges = {m: set() for m in mods}
for m, f in mods.items():
    src = open(f).read()
    src = re.sub(r"#\[cfg\(test\)\]\s*mod tests\s*\{.*", "", src, flags=re.S)
    for u in re.finditer(r"use\s+((?:crate|super|self)(?:::\w+)*)(?:::\{([^;]*)\})?", src):
        base = u.group(1)
        items = [base]
        if u.group(2):
            items = [base + "::" + re.split(r"[\s:{,]", x.strip())[0] for x in u.group(2).split(",") if x.strip()]
        for it in items:
            t = resolve(m, it)
            if t is not None and t != m and not m.startswith(t + "::") and not t.startswith(m + "::" ) :
                edges[m].add(t)
    for u in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", src):
        t = resolve(m, u.group(1))
        if t is not None and t != m and not m.startswith(t + "::") and not t.startswith(m + "::"):
            edges[m].add(t)
# Tarjan
idx = {}; low = {}; st = []; on = set(); sccs = []; c = [0]
sys.setrecursionlimit(10000)
def sc(v):
    idx[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
    for w in edges[v]:
        if w not in idx:
            sc(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(sorted(comp))
for v in mods:
    if v not in idx: sc(v)
for s in sccs:
    print("cycle:", " ".join(s))
    for a in s:
        print("   ", a, "->", sorted(x for x in edges[a] if x in s))
print(len(sccs), "cycles")
sys.exit(1 if sccs else 0)
