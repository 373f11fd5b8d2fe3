"""4. Concurrency: 200 submissions at once, to a receiver that takes 2 s to answer each.

All 200 signed view_submissions are posted at the same moment, each on its own connection.
Measured: the slowest ack (Slack gives up after 3 s), the time until all 200 webhooks had
arrived and been answered (ideal: 2 s, everything in parallel), and until all 200 runs were
final in the database. The receiver's accept queue is deep (1024), so a full listen queue
cannot add SYN retransmits; ListenDrops is reported to show it.
"""

from __future__ import annotations

import asyncio
import resource
import time
from typing import Any

from bench.common import (
    GLOBAL_ACTION,
    USER,
    World,
    create_database,
    drop_database,
    env_int,
    final_runs,
    finish_profile,
    pg_available,
    post_all,
    ratio,
    start_profile,
    stats,
    submission,
    table,
    tcp_listen_drops,
    verdict,
    wait_until,
    world,
    write_result,
)

DELAY = 2.0


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _histogram(values: list[float], width: float) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        start = int(value // width) * width
        key = f"{start:.2f}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def _burst(w: World, database_url: str, count: int, tag: str) -> dict[str, Any]:
    w.receiver.reset()
    w.slack.reset()
    bot = w.start_bot(database_url, name=f"bot-{tag}")
    requests = w.requests(bot)
    form = w.open_form(requests, GLOBAL_ACTION)
    # warm the path (users.info cache, connections) with one unhurried run
    view, values = submission(form, f"VW{tag}", 0)
    requests.view_submission(view, values, user_id=USER)
    w.receiver.wait(1, timeout=15)
    wait_until(lambda: final_runs(database_url) >= 1, 15)
    w.receiver.reset()
    w.receiver.reply(f"/hooks/{GLOBAL_ACTION}", delay=DELAY)
    prepared = [
        requests.prepare(lambda v=v, s=s: requests.view_submission(v, s, user_id=USER))
        for v, s in (submission(form, f"VC{tag}{n:05d}", n) for n in range(1, count + 1))
    ]
    drops = tcp_listen_drops()
    cpu_before = bot.cpu()
    own_before = _own_cpu()
    profiler = start_profile(bot.pid, 8, f"concurrency-{tag}")
    started = time.time()
    acks = asyncio.run(post_all(bot.events_url, prepared))
    arrived = wait_until(lambda: len(w.receiver.received) >= count, 60)
    received = w.receiver.received
    finals_ok = wait_until(lambda: final_runs(database_url) >= count + 1, 60, interval=0.05)
    all_final = time.time() - started
    bot_cpu = bot.cpu() - cpu_before
    own_cpu = _own_cpu() - own_before
    finish_profile(profiler)
    drops = tcp_listen_drops() - drops
    requests.close()
    memory = bot.memory()
    bot.stop()
    arrivals = sorted(r.time - started for r in received)
    last_arrival = arrivals[-1] if arrivals else float("nan")
    ack_ms = [ms for _, ms in acks]
    return {
        "submissions": count,
        "acked_200": sum(1 for status, _ in acks if status == 200),
        "ack_ms": stats(ack_ms),
        "webhooks_arrived": len(received),
        "all_arrived": arrived,
        "first_arrival_s": round(arrivals[0], 3) if arrivals else None,
        "last_arrival_s": round(last_arrival, 3),
        "all_answered_s": round(last_arrival + DELAY, 3),
        "all_answered_ratio": ratio(last_arrival + DELAY, DELAY),
        "all_final_s": round(all_final, 3) if finals_ok else None,
        "arrivals_per_250ms": _histogram(arrivals, 0.25),
        "listen_drops": drops,
        "bot_cpu_s": round(bot_cpu, 2),
        "bench_process_cpu_s": round(own_cpu, 2),
        "memory_kib": memory,
    }


def run() -> dict[str, Any]:
    count = env_int("BENCH_CONCURRENCY", 200)
    result: dict[str, Any] = {"receiver_delay_s": DELAY, "runs": {}}
    rows, summary = [], []
    with world() as w:
        labels = ["sqlite"] + (["postgresql"] if pg_available() else [])
        for label in labels:
            tag = f"{label[:2]}{len(result['runs'])}"
            if label == "postgresql":
                url = create_database("bench_concurrency")
            else:
                url = w.sqlite_url(f"concurrency-{tag}")
            try:
                r = _burst(w, url, count, tag)
            finally:
                if label == "postgresql":
                    drop_database("bench_concurrency")
            result["runs"][label] = r
            ok = r["all_answered_ratio"] <= 1.5 and r["ack_ms"]["max"] < 3000
            rows.append(
                [
                    label,
                    r["acked_200"],
                    r["ack_ms"]["median"],
                    r["ack_ms"]["max"],
                    r["first_arrival_s"],
                    r["last_arrival_s"],
                    r["all_answered_s"],
                    r["all_answered_ratio"],
                    r["all_final_s"],
                    r["bot_cpu_s"],
                    r["listen_drops"],
                    verdict(ok),
                ]
            )
            summary.append(
                [
                    f"200 at once, {label}: all answered / 2 s",
                    r["all_answered_ratio"],
                    "≤ 1.5",
                    r["all_answered_ratio"] <= 1.5,
                ]
            )
            summary.append(
                [
                    f"200 at once, {label}: max ack ms",
                    r["ack_ms"]["max"],
                    "< 3000",
                    r["ack_ms"]["max"] < 3000,
                ]
            )
    table(
        f"4. {count} submissions at once, receiver answers after {DELAY:g} s",
        [
            "run",
            "acked",
            "ack med ms",
            "ack max ms",
            "first in s",
            "last in s",
            "answered s",
            "÷2 s",
            "final s",
            "bot cpu s",
            "SYN drops",
            "≤1.5 & ack<3s",
        ],
        rows,
    )
    result["summary"] = summary
    write_result("concurrency", result)
    return result


if __name__ == "__main__":
    run()
