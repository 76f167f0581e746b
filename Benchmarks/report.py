#!/usr/bin/env python3
"""Turns the benchmark lines (`name key=value ...`, from expat_baseline and consulate-bench) into
the table the README's performance section shows. The parser figure is a ratio to raw expat
measured in the same run on the same input; the target is at least 0.8 (issue 12). The store's rate
is inbound messages written with history and the archive, per batch size; the target is 20,000 a
second for the writer's full batches."""
import sys

TARGET = 0.8
STORE_TARGET = 20000


def parse(path):
    rows = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            name, *fields = line.split()
            rows[name] = {k: float(v) for k, v in (f.split("=", 1) for f in fields)}
    return rows


def main():
    rows = parse(sys.argv[1])
    expat = rows["expat-raw"]
    parser = rows["consulate-parser"]
    if expat["bytes"] != parser["bytes"] or expat["stanzas"] != parser["stanzas"]:
        sys.exit(f"inputs differ: expat saw {expat['bytes']:.0f} bytes / {expat['stanzas']:.0f} stanzas, "
                 f"consulate {parser['bytes']:.0f} / {parser['stanzas']:.0f}")
    ratio = parser["mbps"] / expat["mbps"]
    print()
    print(f"Input: {expat['bytes'] / 1e6:.1f} MB, {int(expat['stanzas']):,} stanzas, fed in 64 KiB chunks; "
          "best of 5 (expat) and of 3 (Consulate) runs")
    print()
    print("| Measurement | MB/s | stanzas/s | ratio to raw expat |")
    print("|---|---|---|---|")
    print(f"| raw expat, C, counting callbacks | {expat['mbps']:.1f} | {expat['stanzas_per_s']:,.0f} | 1.00 |")
    print(f"| Consulate parser, full element trees | {parser['mbps']:.1f} | {parser['stanzas_per_s']:,.0f} | {ratio:.2f} |")
    inbound = rows.get("translator-inbound")
    outbound = rows.get("translator-outbound")
    if inbound or outbound:
        print()
        print("| Translator | per second |")
        print("|---|---|")
        if inbound:
            print(f"| inbound presence stanzas mapped to the internal model ({int(inbound['stanzas']):,}) "
                  f"| {inbound['stanzas_per_s']:,.0f} |")
        if outbound:
            print(f"| internal presence changes fanned out to watchers | {outbound['changes_per_s']:,.0f} |")
            print(f"| per-watcher views produced | {outbound['views_per_s']:,.0f} |")
    stores = sorted((row for name, row in rows.items() if name.startswith("store-batch-")), key=lambda row: -row["batch"])
    if stores:
        print()
        print("| Store: inbound messages with history and archive, one transaction per batch | messages/s |")
        print("|---|---|")
        for row in stores:
            print(f"| batches of {int(row['batch'])} ({int(row['messages']):,} messages) | {row['messages_per_s']:,.0f} |")
        full = stores[0]
        verdict = "meets" if full["messages_per_s"] >= STORE_TARGET else "misses"
        print()
        print(f"Store at {full['messages_per_s']:,.0f} messages/s in batches of {int(full['batch'])} "
              f"({verdict} the {STORE_TARGET:,} target).")
    print()
    verdict = "meets" if ratio >= TARGET else "misses"
    print(f"Parser with trees at {ratio:.2f} of raw expat ({verdict} the {TARGET} target).")


if __name__ == "__main__":
    main()
