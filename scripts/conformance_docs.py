#!/usr/bin/env python3
"""Rewrites the "In scope" table of docs/conformance.md (and its counts) from
conformance/upstream.tsv, the runner's test list and conformance/pending.tsv.

usage: conformance_docs.py KUBEC_BINARY [--check]

A test in the runner's suites passes on kubec (CI runs every one against `kubec up`); an
in-scope test that is not there must have a line in conformance/pending.tsv saying why.
With --check nothing is written: the exit status says whether the page is up to date and
every in-scope test has a status.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "conformance.md")


def read_tsv(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return rows[0], rows[1:]


def main():
    kubec, check = sys.argv[1], "--check" in sys.argv[2:]
    _, upstream = read_tsv(os.path.join(ROOT, "conformance", "upstream.tsv"))
    _, pending_rows = read_tsv(os.path.join(ROOT, "conformance", "pending.tsv"))
    pending = {r[0]: r[1] for r in pending_rows}
    listed = set(subprocess.run([kubec, "conformance", "--list"], check=True,
                                capture_output=True, text=True).stdout.splitlines())
    inscope = sorted((r for r in upstream if r[3] == "in"), key=lambda r: r[0])
    problems = []
    for name in listed:
        if not any(r[0] == name for r in inscope):
            problems.append("in the runner but not in scope upstream: " + name)
    rows, passing = [], 0
    for r in inscope:
        name, reason = r[0], r[4]
        if name in listed:
            status = "passes on kubec"
            passing += 1
            if name in pending:
                problems.append("passes but still in pending.tsv: " + name)
        elif name in pending:
            status = "not yet: " + pending[name]
        else:
            status = "todo"
            problems.append("in scope, not in the runner, no reason in pending.tsv: " + name)
        rows.append("| `%s` | %s | %s |" % (name, reason.replace("|", "\\|"), status.replace("|", "\\|")))
    table = "| test | needs | status |\n| --- | --- | --- |\n" + "\n".join(rows) + "\n"
    with open(DOC) as f:
        doc = f.read()
    start = doc.index("## In scope\n")
    end = doc.index("\n## Out of scope")
    head = doc[:start]
    intro = ("## In scope\n\n%d of %d in-scope tests pass on kubec (%d%%): every test of the runner, "
             "run by CI against `kubec up` (tests/integration/t97_conformance_up.sh). The others say "
             "why not yet.\n\n" % (passing, len(inscope), passing * 100 // len(inscope)))
    new = head + intro + table + doc[end:]
    if check:
        if new != doc:
            problems.append("docs/conformance.md is not up to date: run scripts/conformance_docs.py")
        for p in problems:
            print(p)
        sys.exit(1 if problems else 0)
    with open(DOC, "w") as f:
        f.write(new)
    for p in problems:
        print(p)
    print("%d of %d in-scope tests pass" % (passing, len(inscope)))


if __name__ == "__main__":
    main()
