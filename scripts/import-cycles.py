#!/usr/bin/env python3
"""Import cycles between the modules of each crate under crates/*/src (issue 19: none allowed).
A module and its own ancestors or descendants count as one room, so `super::` and a parent
calling its children are not cycles. Usage: `python3 scripts/import-cycles.py [crates-dir]`;
prints each cycle with its edges, then the count."""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'crates')
total = 0
for crate in sorted(os.listdir(root)):
    src = os.path.join(root, crate, 'src')
    if not os.path.isdir(src): continue
    mods = {}
    for dp, _, fs in os.walk(src):
        for f in fs:
            if not f.endswith('.rs'): continue
            rel = os.path.relpath(os.path.join(dp, f), src)[:-3].split(os.sep)
            if rel[-1] in ('mod', 'lib', 'main'): rel = rel[:-1]
            mods[tuple(rel)] = os.path.join(dp, f)
    def resolve(path):
        for n in range(len(path), 0, -1):
            if tuple(path[:n]) in mods: return tuple(path[:n])
        return None
    edges = {m: set() for m in mods}
    for m, f in mods.items():
        text = open(f).read()
        text = re.sub(r'//[^\n]*', '', text)
        text = re.sub(r'"(?:[^"\\\n]|\\.)*"', '""', text)
        refs = []
        for grp in re.findall(r'\buse\s+crate::\{([^;]*)\};', text, re.S):
            for part in re.split(r',(?![^{]*\})', grp):
                part = part.strip()
                if part: refs.append(re.split(r'::\{', part)[0].split('::'))
        for r in re.findall(r'\bcrate::((?:\w+::)*\w+)', text):
            refs.append(r.split('::'))
        for r in re.findall(r'\bsuper::((?:\w+::)*\w+)', text):
            base = list(m[:-1]) if (mods[m].endswith('mod.rs') is False) else list(m[:-1])
            refs.append(base + r.split('::'))
        for r in refs:
            t = resolve([x for x in r if x])
            if t is None or t == m: continue
            if t[:len(m)] == m or m[:len(t)] == t: continue
            edges[m].add(t)
    # Tarjan SCC
    index, low, stack, on, out, i = {}, {}, [], set(), [], [0]
    def sc(v):
        index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
        for w in edges[v]:
            if w not in index: sc(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(comp)
    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index: sc(v)
    for comp in out:
        total += 1
        names = sorted('::'.join(c) or 'lib' for c in comp)
        print(f'{crate}: cycle among {", ".join(names)}')
        for a in comp:
            for b in edges[a]:
                if b in comp: print(f'    {"::".join(a) or "lib"} -> {"::".join(b) or "lib"}')
print(f'{total} cycles')
