"""1. Ack latency of `/actions` with 500 actions and 2,000 services, against bare Bolt.

Both servers run as their own processes on the same stack (uvicorn + Starlette +
AsyncSlackRequestHandler); one keep-alive client sends signed slash commands over loopback.
Two ways of sending:

* paced: after each bot request, wait for its cards to reach the response_url (Slack's
  view: one user at a time, nothing of the previous request still running);
* back-to-back: the next request goes as soon as the ack is back, so the bot's card
  rendering of request N overlaps the ack of request N+1.

Bot and baseline alternate in blocks of 50 so that drift hits both alike.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import (
    CHANNEL,
    USER,
    PreparedRequests,
    World,
    env_int,
    ratio,
    stats,
    table,
    verdict,
    world,
    write_result,
)

BLOCK = 50


def _command(requests: PreparedRequests) -> float:
    started = time.perf_counter()
    response = requests.command("/actions", user_id=USER, channel_id=CHANNEL)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"/actions answered {response.status_code}: {response.text[:200]}")
    return elapsed


def _bot_block(w: World, requests: PreparedRequests, count: int, paced: bool) -> tuple[list, list]:
    """Send ``count`` commands; return ack latencies and ack→cards latencies (ms)."""
    w.slack.reset()
    acks, cards = [], []
    for i in range(count):
        wall = time.time()
        acks.append(_command(requests))
        if paced:
            calls = w.slack.wait_for("response_url", count=i + 1, timeout=10)
            cards.append((calls[i].time - wall) * 1000)
    if not paced:
        w.slack.wait_for("response_url", count=count, timeout=30)
    return acks, cards


def _baseline_block(requests: PreparedRequests, count: int) -> list[float]:
    return [_command(requests) for _ in range(count)]


def run() -> dict[str, Any]:
    total = env_int("BENCH_ACK_REQUESTS", 600, quick=300)
    warmup = env_int("BENCH_WARMUP", 50, quick=30)
    with world() as w:
        bot = w.start_bot(w.sqlite_url())
        base = w.start_baseline()
        servers = {"bot": bot, "baseline": base}
        clients = {name: w.requests(process) for name, process in servers.items()}
        samples: dict[str, list[float]] = {}

        def block(name: str, count: int, paced: bool) -> tuple[list[float], list[float]]:
            if name == "baseline":
                return _baseline_block(clients[name], count), []
            return _bot_block(w, clients[name], count, paced)

        for name in servers:
            block(name, warmup, True)
        names = list(servers)
        for mode, paced in (("paced", True), ("b2b", False)):
            for index in range(0, total, BLOCK):
                count = min(BLOCK, total - index)
                shift = (index // BLOCK) % len(names)
                for name in names[shift:] + names[:shift]:
                    acks, cards = block(name, count, paced)
                    samples.setdefault(f"{name}_{mode}", []).extend(acks)
                    samples.setdefault(f"{name}_cards", []).extend(cards)
        for client in clients.values():
            client.close()
        memory = {name: process.memory() for name, process in servers.items()}
        startup = {f"{name}_ready_s": round(p.ready_after, 2) for name, p in servers.items()}

    result: dict[str, Any] = {
        "requests_per_series": total,
        "warmup": warmup,
        "catalog": {"actions": 500, "services": 2000},
        "memory_kib": memory,
        "startup": startup,
        "series_ms": {},
    }
    rows = []
    for mode in ("paced", "b2b"):
        bot_stats = stats(samples[f"bot_{mode}"])
        base_stats = stats(samples[f"baseline_{mode}"])
        med = ratio(bot_stats["median"], base_stats["median"])
        p99 = ratio(bot_stats["p99"], base_stats["p99"])
        result["series_ms"][mode] = {
            "bot": bot_stats,
            "baseline": base_stats,
            "median_ratio": med,
            "p99_ratio": p99,
        }
        rows.append(
            [
                mode,
                bot_stats["median"],
                base_stats["median"],
                med,
                verdict(med <= 1.5),
                bot_stats["p99"],
                base_stats["p99"],
                p99,
                verdict(p99 <= 2.0),
            ]
        )
    result["series_ms"]["bot_ack_to_cards"] = stats(samples["bot_cards"])
    table(
        "1. /actions ack latency (ms), 500 actions / 2,000 services, vs bare Bolt",
        ["mode", "bot med", "base med", "ratio", "≤1.5", "bot p99", "base p99", "ratio", "≤2"],
        rows,
    )
    cards = result["series_ms"]["bot_ack_to_cards"]
    print(
        f"   request → cards at response_url (bot, paced): median {cards['median']} ms, "
        f"p99 {cards['p99']} ms; bot ready after {startup['bot_ready_s']} s\n"
    )
    paced = result["series_ms"]["paced"]
    result["targets"] = {
        "median_ratio<=1.5": paced["median_ratio"] <= 1.5,
        "p99_ratio<=2": paced["p99_ratio"] <= 2.0,
    }
    result["summary"] = [
        ["ack /actions median ratio", paced["median_ratio"], "≤ 1.5", paced["median_ratio"] <= 1.5],
        ["ack /actions p99 ratio", paced["p99_ratio"], "≤ 2", paced["p99_ratio"] <= 2.0],
    ]
    write_result("ack", result)
    return result


if __name__ == "__main__":
    run()
