#!/usr/bin/python3
"""Validates imgbatch --report files against docs/report.schema.json.

usage: check_report.py [--partial] [--schema FILE] REPORT...

Every line must be one JSON object that the schema accepts; beyond what a
JSON Schema can say of one line, a report must hold exactly one summary,
as its last line, its item lines must be of the summary's command, and the
summary's counts must equal the item lines per status. --partial accepts a
report without a summary (a run killed with SIGKILL writes none).
Exit 0 if all are valid, 1 with a line per problem on stderr if not.

Runs under /usr/bin/python3: Debian's python3-jsonschema imports only
there.
"""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(HERE, "..", "..", "docs", "report.schema.json")
COUNTS = {"ok": "ok", "unchanged": "unchanged", "failed": "failed",
          "skipped": "skipped", "interrupted": "interrupted_items"}


def command_of(item):
    """Which subcommand writes an item line of these keys."""
    if "input" in item:
        return "transform"
    return "run" if "stage" in item else "fetch"


def check(path, validator, partial):
    problems = []
    items, summaries = [], []
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except (OSError, UnicodeDecodeError) as e:
        return [f"cannot read: {e}"]
    if lines and lines[-1] == "":
        lines.pop()
    else:
        problems.append("the last line has no newline")
    for n, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            problems.append(f"line {n}: not JSON: {e}")
            continue
        for e in validator.iter_errors(obj):
            problems.append(f"line {n}: {e.message}")
        if isinstance(obj, dict) and obj.get("summary") is True:
            summaries.append((n, obj))
        elif isinstance(obj, dict):
            items.append(obj)
    if not summaries:
        if not partial:
            problems.append("no summary line")
        return problems
    if len(summaries) > 1:
        problems.append(f"{len(summaries)} summary lines")
    n, s = summaries[-1]
    if n != len(lines):
        problems.append(f"the summary is line {n}, not the last")
    for item in items:
        if command_of(item) != s.get("command"):
            problems.append(f"a {command_of(item)} item in a "
                            f"{s.get('command')} report")
            break
    for status, key in COUNTS.items():
        got = sum(1 for i in items if i.get("status") == status)
        if key in s and s[key] != got:
            problems.append(f"summary {key} is {s[key]}, "
                            f"the report has {got} '{status}' lines")
    return problems


def main(argv):
    partial = False
    schema = SCHEMA
    files = []
    args = iter(argv[1:])
    for a in args:
        if a == "--partial":
            partial = True
        elif a == "--schema":
            schema = next(args)
        else:
            files.append(a)
    if not files:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    with open(schema, encoding="utf-8") as f:
        sch = json.load(f)
    cls = jsonschema.validators.validator_for(sch)
    cls.check_schema(sch)
    validator = cls(sch)
    bad = 0
    for path in files:
        for p in check(path, validator, partial):
            print(f"{path}: {p}", file=sys.stderr)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
