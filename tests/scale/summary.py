#!/usr/bin/env python3
"""The morning summary of a sharded night: N run reports merged into one.

    summary.py [--items FILE] URLS.txt REPORT...

Reads the URL list and the --report file of every shard (JSON Lines: one
object per URL, then a {"summary": true, ...} object) and prints what an
operator wants to know first: how many URLs were done, unchanged or
failed across all shards, which failed and why, and each shard's wall
time. --items writes one "URL<TAB>done|failed|skipped" line per URL,
sorted, for comparing nights or a sharded night with an unsharded run.

Exit 1 when the reports do not add up to the list: a URL reported by no
shard (a gap: a task that never ran, or a shard count that does not
match the array), a URL reported by two (an overlap), a URL not in the
list, a report without its summary (the task was killed), or a report
whose items and other_shards do not add up to the list. Until imgbatch
has a report subcommand, this is the reader the Slurm test uses.
"""
import collections
import json
import os
import sys


def read_list(path):
    urls = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            urls.append(line)
    return urls


def read_report(path):
    items, summary = [], None
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        obj = json.loads(line)
        if obj.get("summary"):
            if summary is not None:
                raise ValueError(f"{path}:{n}: a second summary")
            summary = obj
        elif summary is not None:
            raise ValueError(f"{path}:{n}: an item after the summary")
        else:
            items.append(obj)
    return items, summary


def main(argv):
    items_out = None
    if len(argv) > 2 and argv[1] == "--items":
        items_out = argv[2]
        argv = argv[:1] + argv[3:]
    if len(argv) < 3:
        print("usage: summary.py [--items FILE] URLS.txt REPORT...",
              file=sys.stderr)
        return 2
    urls = read_list(argv[1])
    wanted = set(urls)
    problems = []
    owner = {}
    status = {}
    counts = collections.Counter()
    failures = []
    shards = []
    for path in argv[2:]:
        name = os.path.basename(path)
        items, summary = read_report(path)
        for it in items:
            url = it["url"]
            if url not in wanted:
                problems.append(f"{name}: '{url}' is not in the list")
            if url in owner:
                problems.append(f"'{url}' is in {owner[url]} and {name}")
            owner[url] = name
            counts[it["status"]] += 1
            status[url] = {"ok": "done", "unchanged": "done"}.get(
                it["status"], it["status"])
            if it["status"] == "failed":
                failures.append((url, it.get("stage"), it.get("error")))
        if summary is None:
            problems.append(f"{name}: no summary (the task was killed?)")
            shards.append(f"{name}: {len(items)} items, no summary")
            continue
        other = summary.get("other_shards", 0)
        if len(items) + other != len(urls):
            problems.append(f"{name}: {len(items)} items + {other} of "
                            f"other shards is not the list's {len(urls)}")
        shards.append(f"{name}: {len(items)} items in "
                      f"{summary['wall_ms'] / 1e3:.1f} s"
                      + (", interrupted" if summary["interrupted"] else ""))
    missing = [u for u in urls if u not in owner]
    if missing:
        problems.append(f"{len(missing)} URLs in no report, first "
                        f"'{missing[0]}'")

    print(f"morning summary: {len(argv) - 2} reports, {len(owner)} of "
          f"{len(urls)} URLs reported")
    print("  " + ", ".join(f"{counts[s]} {s}" for s in
                           ("ok", "unchanged", "failed", "skipped")))
    for line in shards:
        print("  " + line)
    if failures:
        print(f"  failed ({len(failures)}):")
        for url, stage, error in sorted(failures):
            print(f"    {url}: {stage}: {error}")
    for p in problems:
        print(f"  PROBLEM: {p}")
    if items_out:
        with open(items_out, "w", encoding="utf-8") as f:
            for url in sorted(status):
                f.write(f"{url}\t{status[url]}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
