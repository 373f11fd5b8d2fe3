"""`make bench`: every benchmark in turn, then one summary table (bench/results/*.json).

    python -m bench                  # all of them
    python -m bench ack click        # some of them
    BENCH_QUICK=1 python -m bench    # fewer samples, 15 s throughput

Benchmarks measure; a missed target is reported, not an error. The exit status is 1 only
when a benchmark could not run.
"""

from __future__ import annotations

import importlib
import sys
import time
import traceback
from typing import Any

from bench.common import QUICK, code_version, machine, table, write_result

NAMES = ["ack", "click", "submit", "concurrency", "throughput", "audit", "tracing", "hostile"]


def main(argv: list[str]) -> int:
    chosen = argv or NAMES
    unknown = [n for n in chosen if n not in NAMES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}")
        return 2
    print(f"machine: {machine()}\ncode: {code_version()}\nquick: {QUICK}\n", flush=True)
    started = time.monotonic()
    rows: list[list[Any]] = []
    broken: list[str] = []
    timings: dict[str, float] = {}
    for name in chosen:
        began = time.monotonic()
        try:
            result = importlib.import_module(f"bench.{name}").run()
        except Exception:
            traceback.print_exc()
            broken.append(name)
            rows.append([name, "did not run (see above)", "", "", "ERROR"])
            continue
        finally:
            timings[name] = round(time.monotonic() - began, 1)
        for metric, value, target, ok in result.get("summary", []):
            rows.append([name, metric, value, target, "ok" if ok else "MISSED"])
    total = round(time.monotonic() - started, 1)
    table(f"summary ({total} s)", ["benchmark", "metric", "value", "target", ""], rows)
    write_result("summary", {"rows": rows, "seconds": timings, "total_s": total, "broken": broken})
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
