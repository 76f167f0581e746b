#!/usr/bin/env python3
"""Turns the benchmark lines into the table the README's performance section shows."""
import sys


def parse(path):
    rows = {}
    for line in open(path, encoding="utf-8"):
        name, *fields = line.split()
        rows[name] = {k: float(v) for k, v in (f.split("=") for f in fields)}
    return rows


def main():
    rows = parse(sys.argv[1])
    expat = rows["expat-raw"]
    parser = rows["consulate-parser"]
    inbound = rows["translator-inbound"]
    outbound = rows["translator-outbound"]
    ratio = parser["mbps"] / expat["mbps"]
    print()
    print(f"Input: {expat['bytes'] / 1e6:.1f} MB, {int(expat['stanzas'])} stanzas (parser); "
          f"{int(inbound['stanzas'])} presence stanzas (translator)")
    print()
    print("| Measurement | MB/s | stanzas/s | ratio to raw expat |")
    print("|---|---|---|---|")
    print(f"| raw expat, C, counting callbacks | {expat['mbps']:.1f} | {expat['stanzas_per_s']:,.0f} | 1.00 |")
    print(f"| Consulate parser, full element trees | {parser['mbps']:.1f} | {parser['stanzas_per_s']:,.0f} | {ratio:.2f} |")
    print()
    print("| Translator | per second |")
    print("|---|---|")
    print(f"| inbound presence stanzas mapped to the internal model | {inbound['stanzas_per_s']:,.0f} |")
    print(f"| internal presence changes fanned out to watchers | {outbound['changes_per_s']:,.0f} |")
    print(f"| per-watcher views produced | {outbound['views_per_s']:,.0f} |")
    print()
    verdict = "meets" if ratio >= 0.6 else "misses"
    print(f"Parser with trees at {ratio:.2f} of raw expat ({verdict} the 0.6 target).")


if __name__ == "__main__":
    main()
