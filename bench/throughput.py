"""5. Throughput: runs per second sustained, on SQLite and on PostgreSQL, and peak memory.

A closed loop of concurrent submitters (keep-alive, signed view_submissions spread over
50 channels) keeps the bot busy for BENCH_DURATION seconds (default 60; 15 with
BENCH_QUICK=1), holding at most BENCH_BACKLOG submitted-but-not-yet-delivered runs so the
queue cannot grow without bound. The receiver answers at once.

Runs/s counts runs whose `finished_at` falls in the measured window (after a warm-up), read
from the database at the end. Then the bot drains its queue (Slack replies included) and the
audit rows are counted from the database. Peak RSS is VmHWM of the bot process, against the
bare Bolt app's after the same submission load.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import resource
import time
from collections import Counter
from typing import Any

import httpx

from bench.common import (
    GLOBAL_ACTION,
    USER,
    PreparedRequests,
    ServerProcess,
    World,
    create_database,
    db_query,
    drop_database,
    env_int,
    finish_profile,
    pg_available,
    start_profile,
    stats,
    submission,
    table,
    wait_until,
    world,
    write_result,
)

CHANNELS = [f"C0B{n:03d}" for n in range(50)]


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _parse(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


async def _drive(
    w: World,
    process: ServerProcess,
    requests: PreparedRequests,
    forms: list[dict[str, Any]],
    duration: float,
    *,
    concurrency: int,
    backlog: int,
    tag: str,
    paced: bool = True,
) -> dict[str, Any]:
    """Submit for ``duration`` seconds; returns what was sent and how acks went."""
    deadline = time.monotonic() + duration
    acks: list[float] = []
    state = {"sent": 0, "ok": 0, "failed": 0}
    base_arrivals = w.receiver.arrivals
    limits = httpx.Limits(max_connections=concurrency + 2)
    async with httpx.AsyncClient(trust_env=False, timeout=30, limits=limits) as client:

        async def submitter(k: int) -> None:
            while time.monotonic() < deadline:
                in_flight = state["ok"] - (w.receiver.arrivals - base_arrivals)
                if paced and in_flight >= backlog:
                    await asyncio.sleep(0.005)
                    continue
                n = state["sent"] = state["sent"] + 1
                form = forms[n % len(forms)]
                view, values = submission(form, f"V{tag}{n:08d}", n)
                body, headers = requests.prepare(
                    lambda v=view, s=values: requests.view_submission(v, s, user_id=USER)
                )
                started = time.perf_counter()
                try:
                    response = await client.post(process.events_url, content=body, headers=headers)
                    good = response.status_code == 200
                except httpx.HTTPError:
                    good = False
                acks.append((time.perf_counter() - started) * 1000)
                state["ok" if good else "failed"] += 1

        await asyncio.gather(*(submitter(k) for k in range(concurrency)))
    return {**state, "ack_ms": stats(acks)}


def _measure(
    w: World, label: str, database_url: str, duration: float, warmup: float, forms_cache: dict
) -> dict[str, Any]:
    bot = w.start_bot(database_url, name=f"bot-{label}")
    requests = w.requests(bot)
    if "forms" not in forms_cache:
        forms_cache["forms"] = [
            w.open_form(requests, GLOBAL_ACTION, channel) for channel in CHANNELS
        ]
    forms = forms_cache["forms"]
    w.receiver.reset()
    w.slack.reset()
    rss_idle = bot.memory()
    cpu_bot, cpu_own = bot.cpu(), _own_cpu()
    started = dt.datetime.now(dt.UTC)
    profiler = start_profile(bot.pid, min(10.0, duration - warmup), f"throughput-{label}")
    sent = asyncio.run(
        _drive(w, bot, requests, forms, duration, concurrency=8, backlog=64, tag=label[:2])
    )
    ended = dt.datetime.now(dt.UTC)
    cpu_bot, cpu_own = bot.cpu() - cpu_bot, _own_cpu() - cpu_own
    finish_profile(profiler)

    def drained() -> bool:
        pending = db_query(
            database_url, "SELECT count(*) FROM job WHERE done_at IS NULL AND kind <> 'deadline'"
        )[0][0]
        return pending == 0

    drain_started = time.monotonic()
    drained_ok = wait_until(drained, 180, interval=0.25)
    drain_s = time.monotonic() - drain_started
    rss = bot.memory()
    requests.close()
    bot.stop()

    window_start = started + dt.timedelta(seconds=warmup)
    finished = [_parse(row[0]) for row in db_query(database_url, "SELECT finished_at FROM run")]
    in_window = sum(1 for f in finished if f is not None and window_start <= f <= ended)
    window = (ended - window_start).total_seconds()
    statuses = dict(db_query(database_url, "SELECT status, count(*) FROM run GROUP BY status"))
    events = dict(db_query(database_url, "SELECT kind, count(*) FROM audit_event GROUP BY kind"))
    jobs = dict(db_query(database_url, "SELECT kind, count(*) FROM job GROUP BY kind"))
    slack_calls = Counter(call.method for call in w.slack.calls())
    return {
        "duration_s": duration,
        "warmup_s": warmup,
        "submitted": sent,
        "runs_per_s": round(in_window / window, 2),
        "runs_finished_in_window": in_window,
        "webhooks_received": len(w.receiver.received),
        "runs_by_status": statuses,
        "audit_events": sum(events.values()),
        "audit_events_by_kind": events,
        "audit_events_per_run": round(sum(events.values()) / max(1, sum(statuses.values())), 2),
        "jobs_by_kind": jobs,
        "slack_calls": dict(slack_calls),
        "drained": drained_ok,
        "drain_s": round(drain_s, 2),
        "bot_cpu_s": round(cpu_bot, 1),
        "bench_process_cpu_s": round(cpu_own, 1),
        "bot_rss_kib": {"idle": rss_idle, "end": rss},
    }


def _baseline_rss(w: World, forms: list[dict[str, Any]], duration: float) -> dict[str, Any]:
    base = w.start_baseline()
    requests = w.requests(base)
    sent = asyncio.run(
        _drive(w, base, requests, forms, duration, concurrency=8, backlog=0, tag="ba", paced=False)
    )
    memory = base.memory()
    requests.close()
    base.stop()
    return {"duration_s": duration, "submitted": sent, "rss_kib": memory}


def run() -> dict[str, Any]:
    duration = env_int("BENCH_DURATION", 60, quick=15)
    warmup = min(5.0, duration / 5)
    result: dict[str, Any] = {"databases": {}}
    rows, summary = [], []
    forms_cache: dict[str, Any] = {}
    with world() as w:
        databases = [("sqlite", w.sqlite_url("throughput"))]
        if pg_available():
            databases.append(("postgresql", ""))
        for label, url in databases:
            if label == "postgresql":
                url = create_database("bench_throughput")
            try:
                r = _measure(w, label, url, duration, warmup, forms_cache)
            finally:
                if label == "postgresql":
                    drop_database("bench_throughput")
            result["databases"][label] = r
        baseline = _baseline_rss(w, forms_cache["forms"], min(duration, 15))
        result["baseline"] = baseline
    base_peak = baseline["rss_kib"].get("VmHWM", 0)
    for label, r in result["databases"].items():
        peak = r["bot_rss_kib"]["end"].get("VmHWM", 0)
        r["peak_rss_ratio"] = round(peak / base_peak, 2) if base_peak else None
        rows.append(
            [
                label,
                r["runs_per_s"],
                r["submitted"]["ok"],
                r["audit_events"],
                r["audit_events_per_run"],
                r["submitted"]["ack_ms"]["median"],
                r["submitted"]["ack_ms"]["p99"],
                r["drain_s"],
                r["bot_cpu_s"],
                r["bench_process_cpu_s"],
                round(peak / 1024, 1),
                round(base_peak / 1024, 1),
                r["peak_rss_ratio"],
            ]
        )
        summary.append(
            [f"throughput {label} runs/s ({duration:g} s)", r["runs_per_s"], "report", r["drained"]]
        )
        summary.append(
            [
                f"peak RSS {label} MiB (bare Bolt {base_peak / 1024:.0f})",
                round(peak / 1024, 1),
                "report",
                True,
            ]
        )
    table(
        f"5. throughput over {duration:g} s (first {warmup:g} s not counted)",
        [
            "database",
            "runs/s",
            "acked",
            "audit rows",
            "rows/run",
            "ack med",
            "ack p99",
            "drain s",
            "bot cpu s",
            "bench cpu s",
            "peak MiB",
            "bolt MiB",
            "ratio",
        ],
        rows,
    )
    result["summary"] = summary
    write_result("throughput", result)
    return result


if __name__ == "__main__":
    run()
