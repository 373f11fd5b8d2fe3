"""2. Click Run → `views.open` arriving at the (fake) Slack API, against bare Bolt.

Measured from just before the block_actions post to the time the fake recorded the
views.open call. Bot series: a global action with inputs, and a service-scoped action
(its form carries a 100-option service select out of the 2,000 services). The baseline
opens a small static modal. Sequential clicks, alternating blocks of 50.
"""

from __future__ import annotations

import time
from typing import Any

from bench.common import (
    CHANNEL,
    GLOBAL_ACTION,
    SERVICE_ACTION,
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


def _clicks(w: World, requests: PreparedRequests, action_id: str, count: int) -> list[float]:
    w.slack.reset()
    latencies = []
    for i in range(count):
        wall = time.time()
        response = requests.block_action(
            "run_action", value=action_id, user_id=USER, channel_id=CHANNEL
        )
        if response.status_code != 200:
            raise RuntimeError(f"click answered {response.status_code}: {response.text[:200]}")
        calls = w.slack.wait_for("views.open", count=i + 1, timeout=10)
        latencies.append((calls[i].time - wall) * 1000)
    return latencies


def run() -> dict[str, Any]:
    total = env_int("BENCH_CLICK_REQUESTS", 500, quick=300)
    warmup = env_int("BENCH_WARMUP", 50, quick=30)
    with world() as w:
        bot = w.start_bot(w.sqlite_url())
        base = w.start_baseline()
        bot_requests, base_requests = w.requests(bot), w.requests(base)
        series: dict[str, tuple[PreparedRequests, str]] = {
            "bot_global": (bot_requests, GLOBAL_ACTION),
            "bot_service": (bot_requests, SERVICE_ACTION),
            "baseline": (base_requests, GLOBAL_ACTION),
        }
        for requests, action in series.values():
            _clicks(w, requests, action, warmup)
        samples: dict[str, list[float]] = {name: [] for name in series}
        names = list(series)
        for index in range(0, total, BLOCK):
            count = min(BLOCK, total - index)
            shift = (index // BLOCK) % len(names)
            for name in names[shift:] + names[:shift]:
                requests, action = series[name]
                samples[name] += _clicks(w, requests, action, count)
        for requests, _ in series.values():
            requests.close()

    base_stats = stats(samples["baseline"])
    result: dict[str, Any] = {
        "clicks_per_series": total,
        "warmup": warmup,
        "series_ms": {"baseline": base_stats},
    }
    rows = [["baseline (static modal)", base_stats["median"], "", base_stats["p99"], "", ""]]
    summary = []
    for name in [n for n in samples if n != "baseline"]:
        s = stats(samples[name])
        med = ratio(s["median"], base_stats["median"])
        p99r = ratio(s["p99"], base_stats["p99"])
        ok = med <= 1.5 and s["p99"] < 3000
        result["series_ms"][name] = {**s, "median_ratio": med, "p99_ratio": p99r}
        rows.append([name, s["median"], med, s["p99"], p99r, verdict(ok)])
        summary.append([f"click→views.open {name[4:]} median ratio", med, "≤ 1.5", med <= 1.5])
        summary.append([f"click→views.open {name[4:]} p99 ms", s["p99"], "≪ 3000", s["p99"] < 3000])
    table(
        "2. click → views.open at Slack (ms), vs bare Bolt opening a static modal",
        ["series", "median", "ratio", "p99", "p99 ratio", "≤1.5 & p99<3s"],
        rows,
    )
    result["summary"] = summary
    write_result("click", result)
    return result


if __name__ == "__main__":
    run()
