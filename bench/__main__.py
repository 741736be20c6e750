"""``python -m bench [--only NAME]``: run the benchmarks, print a table, save JSON under bench/results/."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import hooks, invoices, many_runs, preflight

SUITES = {"hooks": hooks.run, "invoices": invoices.run, "preflight": preflight.run, "many_runs": many_runs.run}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=sorted(SUITES), action="append")
    parser.add_argument("--autotask-latency-ms", type=int, default=hooks.DEFAULT_AUTOTASK_LATENCY_MS)
    parser.add_argument("--qbo-latency-ms", type=int, default=hooks.DEFAULT_QBO_LATENCY_MS)
    args = parser.parse_args(argv)
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    for name in args.only or sorted(SUITES):
        rows = SUITES[name](autotask_latency_ms=args.autotask_latency_ms, qbo_latency_ms=args.qbo_latency_ms)
        result = {
            "suite": name,
            "ran_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}",
            "autotask_latency_ms": args.autotask_latency_ms,
            "qbo_latency_ms": args.qbo_latency_ms,
            "rows": rows,
        }
        (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"\n## {name} (sandbox latency: Autotask {args.autotask_latency_ms} ms, QBO {args.qbo_latency_ms} ms)\n")
        print("| benchmark | records | API calls (Autotask + QBO) | seconds | records/s |")
        print("|---|---:|---:|---:|---:|")
        for row in rows:
            rate = row["records"] / row["seconds"] if row["seconds"] else float("inf")
            split = f" ({row['autotask_calls']:,} + {row['qbo_calls']:,})" if "autotask_calls" in row else ""
            print(
                f"| {row['name']} | {row['records']:,} | {row['calls']:,}{split} | {row['seconds']:.2f} | {rate:,.0f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
