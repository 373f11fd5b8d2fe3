"""3. Submit (view_submission) → the webhook arriving at a loopback receiver.

The bot path: verify and parse the submission, validate inputs, commit the run and its jobs,
ack; the worker claims the job, renders and signs the request, records it, sends it.
The baseline: the benchmark itself POSTs the same body and headers with a keep-alive httpx
client to the same receiver. Both are timed from just before the post to the receiver's
arrival time, and the difference is what the bot adds.

Each submission waits for the previous run to finish completely (result posted, modal
updated), so runs do not overlap. Measured on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.common import (
    GLOBAL_ACTION,
    USER,
    PreparedRequests,
    World,
    create_database,
    drop_database,
    env_int,
    pg_available,
    stats,
    submission,
    table,
    world,
    write_result,
)

BLOCK = 50
HOP_BY_HOP = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}


class Series:
    def __init__(self) -> None:
        self.bot: list[float] = []
        self.ack: list[float] = []
        self.direct: list[float] = []
        self.n = 0


def _bot_block(
    w: World, requests: PreparedRequests, form: dict[str, Any], count: int, s: Series, tag: str
) -> tuple[bytes, dict[str, str], str]:
    w.receiver.reset()
    w.slack.reset()
    last = None
    for i in range(count):
        s.n += 1
        view, values = submission(form, f"V{tag}{s.n:08d}", s.n)
        wall = time.time()
        started = time.perf_counter()
        response = requests.view_submission(view, values, user_id=USER)
        ack = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"submit answered {response.status_code}: {response.text[:200]}")
        received = w.receiver.wait(count=i + 1, timeout=15)
        last = received[i]
        s.bot.append((last.time - wall) * 1000)
        s.ack.append(ack)
        # the run is over once its result is on the modal: nothing overlaps the next one
        w.slack.wait_for("views.update", count=i + 1, timeout=15)
    assert last is not None
    headers = {k: v for k, v in last.headers.items() if k.lower() not in HOP_BY_HOP}
    return last.body, headers, w.receiver.url_for(last.path)


def _direct_block(
    w: World,
    client: httpx.Client,
    body: bytes,
    headers: dict[str, str],
    url: str,
    count: int,
    s: Series,
) -> None:
    w.receiver.reset()
    for i in range(count):
        wall = time.time()
        response = client.post(url, content=body, headers=headers)
        if response.status_code != 200:
            raise RuntimeError(f"receiver answered {response.status_code}")
        received = w.receiver.wait(count=i + 1, timeout=15)
        s.direct.append((received[i].time - wall) * 1000)


def _measure(w: World, database_url: str, total: int, warmup: int, tag: str) -> Series:
    bot = w.start_bot(database_url, name=f"bot-{tag}")
    requests = w.requests(bot)
    form = w.open_form(requests, GLOBAL_ACTION)
    s = Series()
    with httpx.Client(trust_env=False, timeout=15) as client:
        body, headers, url = _bot_block(w, requests, form, warmup, s, tag)
        _direct_block(w, client, body, headers, url, warmup, s)
        s.bot, s.ack, s.direct = [], [], []
        for index in range(0, total, BLOCK):
            count = min(BLOCK, total - index)
            if (index // BLOCK) % 2:
                _direct_block(w, client, body, headers, url, count, s)
                body, headers, url = _bot_block(w, requests, form, count, s, tag)
            else:
                body, headers, url = _bot_block(w, requests, form, count, s, tag)
                _direct_block(w, client, body, headers, url, count, s)
    requests.close()
    bot.stop()
    return s


def run() -> dict[str, Any]:
    total = env_int("BENCH_SUBMIT_REQUESTS", 400, quick=200)
    warmup = env_int("BENCH_WARMUP", 50, quick=30)
    results: dict[str, Any] = {"submissions_per_series": total, "warmup": warmup, "databases": {}}
    rows, summary = [], []
    with world() as w:
        databases = [("sqlite", w.sqlite_url("submit"))]
        if pg_available():
            databases.append(("postgresql", create_database("bench_submit")))
        try:
            for label, url in databases:
                s = _measure(w, url, total, warmup, label[:2])
                bot, direct, ack = stats(s.bot), stats(s.direct), stats(s.ack)
                added = {k: round(bot[k] - direct[k], 3) for k in ("median", "p90", "p99")}
                results["databases"][label] = {
                    "submit_to_webhook_ms": bot,
                    "direct_post_ms": direct,
                    "added_ms": added,
                    "submit_ack_ms": ack,
                }
                rows.append(
                    [
                        label,
                        bot["median"],
                        direct["median"],
                        added["median"],
                        bot["p99"],
                        direct["p99"],
                        added["p99"],
                        ack["median"],
                        ack["p99"],
                    ]
                )
                summary.append(
                    [
                        f"submit→webhook added ms, {label} (median / p99)",
                        f"{added['median']} / {added['p99']}",
                        "report",
                        True,
                    ]
                )
        finally:
            if len(databases) > 1:
                drop_database("bench_submit")
    table(
        "3. submit → webhook at receiver (ms): bot vs a direct httpx POST of the same body",
        [
            "database",
            "bot med",
            "direct med",
            "added med",
            "bot p99",
            "direct p99",
            "added p99",
            "ack med",
            "ack p99",
        ],
        rows,
    )
    results["summary"] = summary
    write_result("submit", results)
    return results


if __name__ == "__main__":
    run()
