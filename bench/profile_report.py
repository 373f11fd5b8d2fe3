"""Summarise a py-spy profile (`--format raw --threads --gil`) of the bot by where time went.

With `--gil` only the thread holding the GIL is sampled: the samples are the one core of
Python work the bot can do, and their shares are where that core went.

    python -m bench.profile_report bench/results/profile-throughput-sqlite.txt

Two views of the same samples (idle event-loop waits left out):
* by the innermost frame inside `bot/` (which part of the bot was working), and
* by the library of the innermost frame (what that work was spent in).
Samples are split into the event-loop thread and the `asyncio.to_thread` workers.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

IDLE = ("EpollSelector.select", "BaseSelector.select", "select (selectors.py")


def _file(frame: str) -> str:
    if "(" not in frame:
        return ""
    return frame.rsplit("(", 1)[1].split(":", 1)[0]


def _library(frame: str) -> str:
    path = _file(frame)
    if not path:
        return "?"
    head = path.split("/", 1)[0]
    return head.removesuffix(".py") if "/" in path or head.endswith(".py") else head


def summarise(path: Path, top: int = 15) -> dict[str, Any]:
    by_bot: Counter[str] = Counter()
    by_lib: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    idle = total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        thread = "event loop" if "MainThread" in frames[0] else "to_thread workers"
        if any(marker in frames[-1] for marker in IDLE):
            idle += n
            continue
        total += n
        threads[thread] += n
        bot_frames = [f for f in frames[1:] if _file(f).startswith("bot/")]
        where = bot_frames[-1].split(" (", 1)[0] if bot_frames else f"({_library(frames[-1])})"
        by_bot[f"{where} [{'loop' if thread == 'event loop' else 'thread'}]"] += n
        by_lib[_library(frames[-1])] += n

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in counter.most_common(top)]

    return {
        "samples": total,
        "idle_samples": idle,
        "threads_pct": share(threads),
        "by_bot_function_pct": share(by_bot),
        "by_library_pct": share(by_lib),
    }


def main(argv: list[str]) -> int:
    for name in argv:
        report = summarise(Path(name))
        print(f"{name}: {report['samples']} busy samples ({report['idle_samples']} idle)")
        for title in ("threads_pct", "by_bot_function_pct", "by_library_pct"):
            print(f"  {title}:")
            for key, pct in report[title]:
                print(f"    {pct:5.1f}%  {key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
