"""7. What tracing costs: the same bot without and with OTEL_EXPORTER_OTLP_ENDPOINT.

Two bot processes on one catalog, one with the variable unset (no exporter, no-op spans)
and one exporting every span over OTLP/HTTP to a collector on loopback, which decodes and
counts them. They alternate in blocks: `/actions` ack latency, then submit → webhook at the
receiver (each run finished before the next, as in benchmark 3).

BENCH_TRACING_BEFORE=<git ref> adds a third bot: the code of that commit (one without the
instrumentation). On a busy machine the processes' latencies drift more than the no-op spans
cost, so the cost of a span site with tracing off is also measured in-process (best of 5).
"""

from __future__ import annotations

import os
import timeit
from collections.abc import Callable
from typing import Any

from bench.ack import _command
from bench.common import (
    GLOBAL_ACTION,
    PreparedRequests,
    World,
    env_int,
    ratio,
    snapshot,
    stats,
    table,
    world,
    write_result,
)
from bench.submit import Series, _bot_block
from bot.testing.otlp import Collector

BLOCK = 25


def idle_cost(number: int = 100_000) -> dict[str, float]:
    """Nanoseconds a span site adds when tracing is off (no endpoint), best of 5."""
    from bot import tracing

    assert not tracing.enabled()

    def plain() -> None:
        pass

    def block() -> None:
        with tracing.span("x"):
            pass

    def best(func: Callable[[], None]) -> float:
        return min(timeit.repeat(func, number=number, repeat=5)) / number * 1e9

    base = best(plain)
    return {
        "decorated_call_ns": round(best(tracing.traced("x")(plain)) - base, 1),
        "span_block_ns": round(best(block) - base, 1),
    }


def _acks(requests: PreparedRequests, count: int) -> list[float]:
    return [_command(requests) for _ in range(count)]


def run() -> dict[str, Any]:
    total = env_int("BENCH_TRACING_REQUESTS", 300, quick=100)
    warmup = env_int("BENCH_WARMUP", 50, quick=30)
    collector = Collector()
    try:
        with world() as w:
            bots = {
                "off": w.start_bot(w.sqlite_url("off"), name="bot-off"),
                "on": w.start_bot(
                    w.sqlite_url("on"),
                    name="bot-on",
                    OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
                    OTEL_BSP_SCHEDULE_DELAY="1000",
                ),
            }
            before = os.environ.get("BENCH_TRACING_BEFORE")
            if before:
                root = snapshot(before)
                bots["before"] = w.start_bot(w.sqlite_url("before"), name="bot-b", root=root)
            samples = _measure(w, bots, total, warmup)
            memory = {name: process.memory() for name, process in bots.items()}
    finally:
        collector.close()
    sent = 2 * (warmup + total)  # to the traced bot: /actions commands and submissions
    idle = idle_cost()
    per_request = collector.spans / sent
    idle["per_request_us"] = round(per_request * max(idle.values()) / 1000, 2)
    result: dict[str, Any] = {
        "idle_cost": idle,
        "spans_per_request": round(per_request, 1),
        "requests_per_series": total,
        "warmup": warmup,
        "memory_kib": memory,
        "spans_exported": collector.spans,
        "export_requests": collector.exports,
        "series_ms": {},
    }
    rows, summary = [], []
    for series in ("ack", "submit_to_webhook"):
        found = {name: stats(samples[f"{name}_{series}"]) for name in bots}
        off = found["off"]
        result["series_ms"][series] = dict(found)
        for name, other in found.items():
            if name == "off":
                continue
            # "before" is the reference for "off": the cost of instrumentation left idle.
            a, b = (other, off) if name == "on" else (off, other)
            label = "on / off" if name == "on" else "off / before"
            med, p99 = ratio(a["median"], b["median"]), ratio(a["p99"], b["p99"])
            result["series_ms"][series][f"{label} ratio"] = {"median": med, "p99": p99}
            rows.append([series, label, b["median"], a["median"], med, b["p99"], a["p99"], p99])
            summary.append([f"tracing {label}, {series} median ratio", med, "report", True])
    table(
        "7. Tracing: off (no endpoint), on (OTLP/HTTP to a loopback collector), before (no "
        "instrumentation), ms",
        ["series", "compared", "ref med", "med", "ratio", "ref p99", "p99", "ratio"],
        rows,
    )
    print(
        f"   spans exported: {collector.spans} in {collector.exports} requests "
        f"({per_request:.1f} per request). Tracing off, a span site costs "
        f"{idle['span_block_ns']} ns (decorated call {idle['decorated_call_ns']} ns): "
        f"{idle['per_request_us']} µs per request.\n"
    )
    summary.append(["tracing off: µs added per request", idle["per_request_us"], "report", True])
    result["summary"] = summary
    write_result("tracing", result)
    return result


def _measure(w: World, bots: dict[str, Any], total: int, warmup: int) -> dict[str, list[float]]:
    clients = {name: w.requests(process) for name, process in bots.items()}
    forms = {name: w.open_form(clients[name], GLOBAL_ACTION) for name in bots}
    series = {name: Series() for name in bots}
    samples: dict[str, list[float]] = {}

    def block(name: str, count: int) -> None:
        samples.setdefault(f"{name}_ack", []).extend(_acks(clients[name], count))
        s = series[name]
        s.bot = []
        _bot_block(w, clients[name], forms[name], count, s, name)
        samples.setdefault(f"{name}_submit_to_webhook", []).extend(s.bot)

    for name in bots:
        block(name, warmup)
    samples.clear()
    names = list(bots)
    for index in range(0, total, BLOCK):
        count = min(BLOCK, total - index)
        order = names if (index // BLOCK) % 2 == 0 else names[::-1]
        for name in order:
            block(name, count)
    for client in clients.values():
        client.close()
    return samples


if __name__ == "__main__":
    run()
