#!/usr/bin/env python3
"""Prints which module of src/ uses which (file granularity, from `crate::`
and `super::` paths, `use` lists included, and a module file's `use child::`
lines) and the cycles among them (strongly connected components of more
than one file). Exit status 1 if there is a
cycle. Usage: python3 scripts/module-graph.py [--edges]"""
import os, re, sys
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'src')
files = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            p = os.path.relpath(os.path.join(d, f), root)
            files[p] = open(os.path.join(d, f)).read()

def modpath(p):
    parts = p[:-3].split('/')
    if parts[-1] in ('mod', 'lib'):
        parts = parts[:-1]
    return parts

by_mod = {tuple(modpath(p)): p for p in files if not p.startswith('bin/')}

def resolve(segs):
    # longest prefix of segs that names a module file
    for n in range(len(segs), 0, -1):
        if tuple(segs[:n]) in by_mod:
            return by_mod[tuple(segs[:n])]
    return None

edges = {p: set() for p in files}
for p, text in files.items():
    if p.startswith('bin/'):
        continue
    text = re.sub(r'//[^\n]*', '', text)
    text = re.sub(r'\b(pub|in)\s*\(\s*(super|crate)\s*\)', '', text)
    text = re.sub(r'\bpub\(in [^)]*\)', '', text)
    text = re.sub(r'#\[cfg\(test\)\]\s*mod tests\s*\{.*', '', text, flags=re.S)
    me = modpath(p)
    for m in re.finditer(r'\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)*)', text):
        segs = [x for x in m.group(2).split('::') if x]
        if m.group(1) == 'crate':
            base = []
        else:
            base = me[:-1] if not p.endswith('mod.rs') else me[:-1]
            # super inside a file module `a/b.rs` is `a`; inside `a/mod.rs` it is the parent of `a`
            base = me[:-1]
        target = resolve(base + segs)
        # `use super::{a, b}` lists
        if m.end() < len(text) and text[m.end():m.end()+3] == '::{':
            close = text.index('}', m.end())
            for name in re.findall(r'[A-Za-z_][A-Za-z0-9_]*', text[m.end()+3:close]):
                t = resolve(base + segs + [name])
                if t and t != p:
                    edges[p].add(t)
        if target and target != p:
            edges[p].add(target)
    # A module file's uses of its children count like any other use (only
    # the `mod child;` declarations themselves are not uses).
    for m in re.finditer(r'^\s*(?:pub(?:\([a-z]+\))?\s+)?use\s+([a-z_0-9]+)::', text, re.M):
        child = resolve(me + [m.group(1)])
        if child and child != p:
            edges[p].add(child)

# Tarjan
index, low, stack, on, sccs, i = {}, {}, [], set(), [], [0]
def strong(v):
    index[v] = low[v] = i[0]; i[0] += 1; stack.append(v); on.add(v)
    for w in edges[v]:
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        c = []
        while True:
            w = stack.pop(); on.discard(w); c.append(w)
            if w == v: break
        sccs.append(c)
sys.setrecursionlimit(10000)
for v in sorted(edges):
    if v not in index:
        strong(v)
if '--edges' in sys.argv:
    for p in sorted(edges):
        if edges[p]:
            print(f"{p} -> {', '.join(sorted(edges[p]))}")
cycles = [sorted(c) for c in sccs if len(c) > 1]
for c in cycles:
    print("cycle:", ' <-> '.join(c))
print(f"{len(files)} files, {sum(len(e) for e in edges.values())} uses, {len(cycles)} cycles")
sys.exit(1 if cycles else 0)
