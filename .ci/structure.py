#!/usr/bin/env python3
"""Checks two rules of the code's shape that neither rustc nor clippy checks.

- Imports point one way: within each crate, no module imports (through `crate::` or `super::`)
  a module that imports it back, directly or through others (tests are left out).
- No function is longer than 80 lines, from its `fn` line to its closing brace (tests included).

Prints what breaks a rule and exits 1; prints a one-line summary and exits 0 otherwise.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["crates/huber-core/src", "crates/huber-engine/src", "src"]
LONGEST = 80


def rust_files(*dirs):
    for d in dirs:
        for dp, dns, fs in os.walk(os.path.join(ROOT, d)):
            dns[:] = [n for n in dns if n != "target"]
            yield from (os.path.join(dp, f) for f in sorted(fs) if f.endswith(".rs"))


def module_of(src, path):
    parts = os.path.relpath(path, src)[:-3].split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def imports(src):
    """Module → the modules of the same crate it imports, outside tests."""
    graph = {}
    for path in rust_files(src):
        parts = module_of(src, path)
        if any(p == "tests" or p.endswith("_tests") or p == "testing" for p in parts):
            continue
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests \{", open(path).read())[0]
        deps = {"::".join(m.groups("")).strip(":") for m in re.finditer(r"crate::([a-z_]+)(?:::([a-z_]+))?", text)}
        deps |= {"::".join(parts[:-1] + [m.group(1)]) for m in re.finditer(r"\bsuper::([a-z_]+)", text)}
        graph["::".join(parts)] = deps
    def known(d):
        while d and d not in graph:
            d = "::".join(d.split("::")[:-1])
        return d
    return {m: {known(d) for d in ds if known(d) and known(d) != m} for m, ds in graph.items()}


def cycles(graph):
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []
    sys.setrecursionlimit(10_000)
    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while not comp or comp[-1] != v:
                comp.append(stack.pop())
                on.discard(comp[-1])
            if len(comp) > 1:
                found.append(sorted(comp))
    for v in list(graph):
        if v not in index:
            visit(v)
    return found


def long_functions(path):
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"\s*(pub(\([a-z ]+\))?\s+)?(const\s+)?(unsafe\s+)?fn\s+(\w+)", lines[i])
        if not m:
            i += 1
            continue
        depth, opened, j = 0, False, i
        while j < len(lines):
            code = re.sub(r'"(\\.|[^"\\])*"', '""', lines[j])
            code = re.sub(r"'(\\.|[^'\\])'", "''", code).split("//")[0]
            for c in code:
                if c == "{":
                    depth, opened = depth + 1, True
                elif c == "}":
                    depth -= 1
            if (opened and depth == 0) or (not opened and code.rstrip().endswith(";")):
                break
            j += 1
        if j - i + 1 > LONGEST:
            yield f"{os.path.relpath(path, ROOT)}:{i + 1}: fn {m.group(5)} is {j - i + 1} lines"
        i = j + 1


def main():
    bad = []
    for src in CRATES:
        bad += [f"{src}: imports go round: {' → '.join(c)}" for c in cycles(imports(os.path.join(ROOT, src)))]
    for path in rust_files("crates", "src", "tests", "fuzz/fuzz_targets"):
        bad += list(long_functions(path))
    for b in bad:
        print(b)
    if bad:
        sys.exit(1)
    print(f"structure: no import circles in {len(CRATES)} crates, no function over {LONGEST} lines")


if __name__ == "__main__":
    main()
