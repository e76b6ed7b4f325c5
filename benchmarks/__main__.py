"""Run every benchmark and print a table of figures next to their targets.

Run: .venv/bin/python -m benchmarks [--tiny] [--only NAME ...]

A missed target is reported, not an error. The exit status is 1 only when a
benchmark could not run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback

from benchmarks.common import Result, quiet_logging

# Module names in the order they run. Each has run(tiny=False) returning Results.
BENCHMARKS = (
    "load_all",
    "peer",
    "first_rows",
    "rerun",
    "startup",
    "memory",
    "refresh",
)
VERDICTS = {True: "met", False: "MISSED", None: "-"}


def _table(results: list[Result]) -> list[str]:
    header = ("Benchmark", "Measure", "Figure", "Target", "Result")
    rows = [
        (r.benchmark, r.measure, r.figure, r.target, VERDICTS[r.met]) for r in results
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tiny", action="store_true", help="small sizes and one round, to check"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=BENCHMARKS,
        help="run only this benchmark; repeat for more",
    )
    arguments = parser.parse_args()
    quiet_logging()

    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    results: list[Result] = []
    failed: list[str] = []
    for name in arguments.only or BENCHMARKS:
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        try:
            found = module.run(tiny=arguments.tiny)
        except Exception:
            traceback.print_exc()
            failed.append(name)
            continue
        for result in found:
            print("\n".join(result.lines()), flush=True)
        results.extend(found)

    print()
    print("\n".join(_table(results)))
    print()
    print(
        f"Python {platform.python_version()} on {platform.machine()} with "
        f"{os.cpu_count()} CPUs, {len(results)} figures, "
        f"{sum(r.met is False for r in results)} targets missed, "
        f"{time.perf_counter() - started:.0f} s in all. One-minute load average "
        f"{load_at_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end."
    )
    if failed:
        print(f"Could not run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
