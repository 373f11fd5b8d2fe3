"""8. Memory under hostile bodies: a 64 MiB unsigned body and a gzip-bomb response.

The bot runs as its own process. Its peak resident memory (VmHWM) is read before and
after each attack:

* a 64 MiB unsigned body posted to ``/slack/events``, once with a Content-Length and once
  chunked (no length), and once to ``/runs/{id}/callback``;
* a run whose receiver answers with a gzip bomb: about 1 MiB on the wire, 1 GiB inflated.

The ceiling is the idle peak plus a small allowance; the sizes refused are reported too.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from typing import Any

import httpx

from bench.common import (
    USER,
    ServerProcess,
    World,
    db_query,
    final_runs,
    submission,
    table,
    verdict,
    wait_until,
    world,
    write_result,
)

MIB = 1024 * 1024
ATTACK_BYTES = 64 * MIB
BOMB_INFLATED = 1024 * MIB
ALLOWANCE_MIB = 32  # growth over the idle peak that still counts as bounded


def _peak_mib(process: ServerProcess) -> float:
    return round(process.memory().get("VmHWM", 0) / 1024, 1)


def _chunks(total: int, size: int = MIB) -> Iterator[bytes]:
    block = b"a" * size
    sent = 0
    while sent < total:
        yield block[: min(size, total - sent)]
        sent += size


def _post(url: str, *, chunked: bool) -> str:
    """Send the attack body; the answer's status, or how the connection ended."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    content: Any = _chunks(ATTACK_BYTES) if chunked else b"a" * ATTACK_BYTES
    try:
        with httpx.Client(trust_env=False, timeout=60) as client:
            return str(client.post(url, content=content, headers=headers).status_code)
    except httpx.HTTPError as exc:  # a server may close the connection mid-upload
        return type(exc).__name__


def gzip_bomb(inflated: int = BOMB_INFLATED) -> bytes:
    """A gzip body that inflates to ``inflated`` zero bytes (about 1000:1)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (4 * MIB)
    parts = [compressor.compress(zeros) for _ in range(inflated // len(zeros))]
    parts.append(compressor.flush())
    return b"".join(parts)


def _bomb_run(w: World, bot: ServerProcess, database_url: str, bomb: bytes) -> str:
    """Submit one run to a receiver that answers with the bomb; return how it ended."""
    w.receiver.reply(
        "*",
        200,
        bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    requests = w.requests(bot)
    form = w.open_form(requests)
    view, values = submission(form, "VBOMB0001", 1)
    requests.view_submission(view, values, user_id=USER)
    w.receiver.wait(count=1, timeout=30)
    if not wait_until(lambda: final_runs(database_url) >= 1, timeout=120):
        return "did not finish in 120 s"
    rows = db_query(database_url, "SELECT status, summary FROM run")
    return " ".join(str(v) for v in rows[0])


def run() -> dict[str, Any]:
    rows: list[list[Any]] = []
    bomb = gzip_bomb()
    wire = round(len(bomb) / MIB, 1)
    attacks = [
        ("64 MiB unsigned to /slack/events, Content-Length", "events", False),
        ("64 MiB unsigned to /slack/events, chunked", "events", True),
        ("64 MiB to a callback, chunked", "callback", True),
        (f"gzip-bomb response ({wire} MiB -> 1 GiB)", "bomb", False),
    ]
    with world(actions=20, services=50, timeout=60) as w:
        for n, (name, target, chunked) in enumerate(attacks):
            # A fresh process for each attack: VmHWM only ever grows.
            database_url = w.sqlite_url(f"hostile{n}")
            bot = w.start_bot(database_url, name=f"bot{n}")
            time.sleep(0.5)
            idle = _peak_mib(bot)
            if target == "bomb":
                answer = _bomb_run(w, bot, database_url, bomb)
            else:
                url = bot.events_url if target == "events" else f"{bot.url}/runs/x/callback"
                answer = _post(url, chunked=chunked)
            peak = _peak_mib(bot)
            rows.append([name, " ".join(answer.split())[:60], idle, peak, round(peak - idle, 1)])
            bot.stop()
    growth = max(r[4] for r in rows)
    bounded = growth <= ALLOWANCE_MIB
    table(
        "hostile bodies: the bot's peak RSS (MiB), a fresh process per attack",
        ["attack", "answer", "idle peak", "peak after", "growth"],
        rows,
    )
    write_result("hostile", {"rows": rows, "allowance_mib": ALLOWANCE_MIB})
    return {
        "summary": [
            ("peak RSS growth under hostile bodies (MiB)", growth, f"<= {ALLOWANCE_MIB}", bounded)
        ],
        "verdict": verdict(bounded),
    }
