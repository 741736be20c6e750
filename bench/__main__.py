"""``python -m bench [--only NAME] [--skip NAME]``: run the benchmarks (``make bench``: all of them,
about 75 minutes on 2 cores), print each one's table, save its JSON under bench/results/, and end
with the one summary table of issue BEY-05/BEY-09's goals: atqbo, the API-limit bound and the
hand-written baseline side by side at 1,000 and 5,000 invoices, and the posting-to-QBO latency.
The summary reads the results files, so a suite not run this time shows its last saved result,
with its date."""

from __future__ import annotations

import argparse
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import hooks, invoices, latency, many_dagruns, many_runs, preflight, sync

SUITES = {
    "hooks": hooks.run,
    "invoices": invoices.run,
    "preflight": preflight.run,
    "many_runs": many_runs.run,
    "many_dagruns": many_dagruns.run,
    "sync": sync.run,
    "latency": latency.run,  # the whole product for about 43 minutes: last
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", choices=sorted(SUITES), action="append", help="run only this suite (repeatable)")
    parser.add_argument("--skip", choices=sorted(SUITES), action="append", default=[], help="leave this suite out")
    parser.add_argument("--autotask-latency-ms", type=int, default=hooks.DEFAULT_AUTOTASK_LATENCY_MS)
    parser.add_argument("--qbo-latency-ms", type=int, default=hooks.DEFAULT_QBO_LATENCY_MS)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(sync.SIZES), help="sync: invoice counts (default 1000 5000)"
    )
    parser.add_argument(
        "--baseline-all",
        action="store_true",
        help=f"sync: run the baseline at every size (default: up to {sync.BASELINE_RUN_MAX:,}, then extrapolated)",
    )
    parser.add_argument(
        "--autotask-budget-share",
        type=float,
        help="sync: atqbo's autotask_budget_share (default: the setting's 0.5 where the run's calls fit, else 1.0)",
    )
    args = parser.parse_args(argv)
    out_dir = Path(__file__).parent / "results"
    out_dir.mkdir(exist_ok=True)
    for name in [n for n in (args.only or SUITES) if n not in args.skip]:
        options: dict[str, Any] = {
            "autotask_latency_ms": args.autotask_latency_ms,
            "qbo_latency_ms": args.qbo_latency_ms,
        }
        if name == "sync":
            options.update(
                sizes=tuple(args.sizes), budget_share=args.autotask_budget_share, baseline_all=args.baseline_all
            )
        rows = SUITES[name](**options)
        if name == "latency":  # it saves its own document (bench/results/latency.json)
            print(f"\n## latency\n\n{latency.summary_line(json.loads(latency.RESULTS.read_text()))}")
            continue
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
        if name == "sync":
            print_sync_table(rows)
            continue
        if name == "many_dagruns":
            print_many_dagruns_table(rows)
            continue
        print("| benchmark | records | API calls (Autotask + QBO) | seconds | records/s |")
        print("|---|---:|---:|---:|---:|")
        for row in rows:
            rate = row["records"] / row["seconds"] if row["seconds"] else float("inf")
            split = f" ({row['autotask_calls']:,} + {row['qbo_calls']:,})" if "autotask_calls" in row else ""
            print(
                f"| {row['name']} | {row['records']:,} | {row['calls']:,}{split} | {row['seconds']:.2f} | {rate:,.0f} |"
            )
    print_summary(out_dir)
    return 0


def print_summary(out_dir: Path) -> None:
    """The goals' one table, from the saved results (each suite's time said)."""
    sync_doc = _saved(out_dir / "sync.json")
    latency_doc = _saved(out_dir / "latency.json")
    print("\n## Summary: month start and posting latency (BEY-05, BEY-09)\n")
    for label, doc in (("month start (`sync`)", sync_doc), ("latency (`latency`)", latency_doc)):
        print(f"- {label}: {'ran at ' + doc['ran_at'] if doc else 'never run here'}")
    print()
    print("| run | seconds | Autotask calls | QBO calls | peak RSS (MB) | atqbo / bound | baseline / atqbo |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for line in sync_rows(sync_doc.get("rows", []) if sync_doc else []):
        print(line)
    if latency_doc:
        posting, idle = latency_doc["posting"], latency_doc["idle"]
        print(
            f"| posted in Autotask to in QBO, p50 / p95 / max ({posting['invoices_in_qbo']} of "
            f"{posting['invoices_posted']} invoices over {posting['minutes']:g} min) "
            f"| {posting['p50_s']} / {posting['p95_s']} / {posting['max_s']} | | | | | |"
        )
        print(
            f"| Autotask requests an idle hour (watcher + 15-minute runs; goal at most 100) | "
            f"| {idle['measured_requests_per_hour']:g} | | | | |"
        )


def _saved(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def print_sync_table(rows: list[dict[str, Any]]) -> None:
    """atqbo, the bound and the baseline side by side, then atqbo's steps (RSS, XCom)."""
    print("| run | seconds | Autotask calls | QBO calls | peak RSS (MB) | atqbo / bound | baseline / atqbo |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for line in sync_rows(rows):
        print(line)
    for row in rows:
        if row["kind"] == "bound":
            print(
                f"\nbound, {row['invoices']:,}: reads done at {row['reads_done_s']:.1f} s, last QBO batch back at "
                f"{row['last_batch_s']:.1f} s, last PATCH at {row['last_patch_s']:.1f} s; with the stages one after "
                f"the other {row['stages_one_after_the_other_s']:.1f} s; at the default budget share "
                f"{row['at_default_share_s']:.1f} s"
            )
        if row["kind"] == "baseline" and row.get("compare"):
            print(f"baseline, {row['invoices']:,}: same QBO result as atqbo: {row['compare']}")
    print("\n| atqbo step | invoices | seconds | Autotask calls | QBO calls | peak RSS (MB) | XCom (bytes) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        for step in row.get("steps", ()):
            print(
                f"| {step['step']} | {row['invoices']:,} | {step['seconds']:.1f} | {step['autotask_calls']:,} "
                f"| {step['qbo_calls']:,} | {step['peak_rss_mb']:.0f} | {step['xcom_bytes']:,} |"
            )
        if row.get("runinfo_xcom_bytes"):
            print(f"| (RunInfo, every task's input) | {row['invoices']:,} | | | | | {row['runinfo_xcom_bytes']:,} |")


def print_many_dagruns_table(rows: list[dict[str, Any]]) -> None:
    """Airflow's metadata database before and after a month of runs, and after ``airflow db clean``:
    the scheduler's loop, the UI's answers over HTTP, the database's size."""
    print(
        "| database: phase | DagRuns | task instances | scheduler loop ms: first / median / max "
        "| run list (50) ms | grid ms (runs + structure + TI summaries) | DB MB (used) | phase s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        s, api, db = row["scheduler"], row["api_ms"], row["db"]
        print(
            f"| {row['database']}: {row['phase']} | {db['rows']['dag_run']:,} | {db['rows']['task_instance']:,} "
            f"| {s['first_loop_ms']:,.0f} / {s['loop_ms_median']:,.0f} / {s['loop_ms_max']:,.0f} "
            f"| {api['dag_runs_50']:,.0f} | {api['grid_total']:,.0f} ({api['grid_runs']:,.0f} + "
            f"{api['grid_structure']:,.0f} + {api['grid_ti_summaries']:,.0f}) | {db['file_mb']:,.1f} "
            f"({db['used_mb']:,.1f}) | {row['seconds']:,.1f} |"
        )


def sync_rows(rows: list[dict[str, Any]]) -> list[str]:
    """The month-start table's rows: atqbo, the bound and the baseline of each size."""
    by = {(r["kind"], r["invoices"]): r for r in rows}
    lines = []
    for row in rows:
        atqbo = by.get(("atqbo", row["invoices"]), {})
        bound = by.get(("bound", row["invoices"]), {})
        over_bound = sync.ratio(atqbo.get("seconds"), bound.get("seconds")) if row["kind"] == "bound" else ""
        baseline_ratio = sync.ratio(row.get("seconds"), atqbo.get("seconds")) if row["kind"] == "baseline" else ""
        name = row["name"]
        if row["kind"] == "atqbo" and row.get("budget_share") is not None:
            name += f" (budget share {row['budget_share']:g})"
        if row.get("extrapolated_from"):
            name += f" (extrapolated from {row['extrapolated_from']:,}, not run)"
        rss = f"{row['peak_rss_mb']:.0f}" if row.get("peak_rss_mb") else "-"
        lines.append(
            f"| {name} | {row['seconds']:,.1f} | {row['autotask_calls']:,} | {row['qbo_calls']:,} | {rss} "
            f"| {over_bound} | {baseline_ratio} |"
        )
    return lines


if __name__ == "__main__":
    sys.exit(main())
