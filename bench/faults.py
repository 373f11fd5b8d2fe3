"""Fault suite (`make faults`): scripted, bounded failures around a real `python -m bot`.

Scenarios (loopback only; each has a fixed script and a time limit):

* receiver flapping: bursts of 503, answers slower than the action's 1 s timeout, and the
  receiver stopped (connection refused) and started again on the same port;
* Slack errors: the fake Slack API answers 429 with Retry-After and 500 on the calls the
  bot makes for status messages, thread replies and modals;
* PostgreSQL restarted mid-run (`pg_ctlcluster … restart`), only as root with a local
  cluster, and only when no other client is connected (FAULTS_PG_RESTART=force overrides,
  =skip skips);
* the bot SIGKILLed every 2-4 s while 500 runs are submitted, restarted each time
  (on SQLite, and on PostgreSQL when reachable).

Every submission is a distinct form (its own view id); the submitter retries it until Slack
would have had an answer (like a user pressing Submit again), so the idempotency key is
exercised too. The actions retry `{attempts: 10, delay: 100ms, on: [timeout, connection,
5xx, 429]}`.

Reported per scenario: runs submitted (acked), finished, lost (acked but no final run, must
be 0), duplicate runs for one submission, webhook deliveries, extra deliveries explained by
audited attempts, unexplained duplicates (deliveries of a webhook-id beyond its
`webhook_request` audit events, must be 0), acks over 3 s. Exit status 1 when anything was
lost or duplicated without explanation.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    FINAL_STATUSES,
    GLOBAL_ACTION,
    SIGNING_SECRET,
    USER,
    PreparedRequests,
    ServerProcess,
    World,
    bot_root,
    create_database,
    db_query,
    drop_database,
    env_int,
    free_port,
    pg_available,
    pg_url,
    stats,
    submission,
    table,
    wait_until,
    world,
    write_result,
)

RETRY = {"attempts": 10, "delay": "100ms", "on": ["timeout", "connection", "5xx", "429"]}
HOOK = f"/hooks/{GLOBAL_ACTION}"
ACK_LIMIT_MS = 3000


class Bot:
    """One bot deployment that can be killed and restarted on the same port."""

    def __init__(self, w: World, database_url: str, name: str) -> None:
        self.w = w
        self.name = name
        self.env = w.bot_env(database_url, PORT=free_port(), JOB_LEASE_SECONDS=3)
        self.url = f"http://127.0.0.1:{self.env['PORT']}/slack/events"
        self.process: ServerProcess | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = self.w.tmp / f"{self.name}-{self.starts}.log"
        self.process = ServerProcess("bot", self.env, log, cwd=bot_root(), ready_timeout=90)
        self.w.processes.append(self.process)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def stop(self) -> None:
        if self.process is not None and self.process.alive():
            self.process.stop()


class Submitter(threading.Thread):
    """Submits ``count`` distinct forms at ``rate`` a second, each until it is acked."""

    def __init__(
        self, w: World, bot: Bot, form: dict[str, Any], count: int, rate: float, tag: str
    ) -> None:
        super().__init__(daemon=True, name=f"submitter-{tag}")
        self.requests = PreparedRequests(bot.url, SIGNING_SECRET, w.slack)
        self.bot, self.form, self.count, self.rate, self.tag = bot, form, count, rate, tag
        self.acks: dict[str, float] = {}  # view id → ack ms of the attempt that got 200
        self.failed_attempts = 0
        self.gave_up: list[str] = []

    def run(self) -> None:
        started = time.monotonic()
        with httpx.Client(trust_env=False, timeout=10) as client:
            for n in range(self.count):
                delay = started + n / self.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                view_id = f"VF{self.tag}{n:05d}"
                view, values = submission(self.form, view_id, n)
                give_up = time.monotonic() + 60
                while True:
                    body, headers = self.requests.prepare(
                        lambda v=view, s=values: self.requests.view_submission(v, s, user_id=USER)
                    )
                    t0 = time.perf_counter()
                    try:
                        status = client.post(
                            self.bot.url, content=body, headers=headers
                        ).status_code
                    except httpx.HTTPError:
                        status = 0
                    if status == 200:
                        self.acks[view_id] = (time.perf_counter() - t0) * 1000
                        break
                    self.failed_attempts += 1
                    if time.monotonic() > give_up:
                        self.gave_up.append(view_id)
                        break
                    time.sleep(0.1)


def _settle(database_url: str, acked: set[str]) -> tuple[bool, bool]:
    """Wait (bounded) until every acked submission has a final run, then until no job is
    left to do (Slack messages). Returns (runs final, queue empty)."""

    def final() -> bool:
        try:
            runs = db_query(database_url, "SELECT idempotency_key, status FROM run")
        except Exception:
            return False
        done = {key.removeprefix("view:") for key, status in runs if status in FINAL_STATUSES}
        return acked <= done

    def empty() -> bool:
        try:
            return not db_query(
                database_url,
                "SELECT count(*) FROM job WHERE done_at IS NULL AND kind <> 'deadline'",
            )[0][0]
        except Exception:
            return False

    return wait_until(final, 180, interval=0.5), wait_until(empty, 60, interval=0.5)


def _analyse(
    w: World, database_url: str, sub: Submitter, settled: tuple[bool, bool]
) -> dict[str, Any]:
    runs = db_query(database_url, "SELECT id, idempotency_key, status FROM run")
    audited = dict(
        db_query(
            database_url,
            "SELECT run_id, count(*) FROM audit_event WHERE kind = 'webhook_request' "
            "GROUP BY run_id",
        )
    )
    pending = db_query(
        database_url,
        "SELECT kind, attempts, due_at, last_error FROM job WHERE done_at IS NULL "
        "AND kind <> 'deadline'",
    )
    by_key = Counter(key for _, key, _ in runs)
    status_of = {key.removeprefix("view:"): status for _, key, status in runs}
    acked = set(sub.acks)
    lost = sorted(v for v in acked if status_of.get(v) not in FINAL_STATUSES)
    received = Counter(r.headers.get("webhook-id") for r in w.receiver.received if r.path == HOOK)
    unexplained = 0
    explained_extra = 0
    for run_id, _, _ in runs:
        got = received.get("msg_" + run_id.replace("-", ""), 0)
        attempts = int(audited.get(run_id, 0))
        unexplained += max(0, got - attempts)
        explained_extra += max(0, min(got, attempts) - 1)
    unknown_ids = sum(
        n
        for wid, n in received.items()
        if wid not in {"msg_" + r.replace("-", "") for r, _, _ in runs}
    )
    ack_ms = list(sub.acks.values())
    return {
        "submitted": sub.count,
        "acked": len(acked),
        "gave_up": len(sub.gave_up),
        "failed_submit_attempts": sub.failed_attempts,
        "runs": len(runs),
        "unacked_but_ran": len(set(status_of) - acked),
        "finished": sum(1 for v in acked if status_of.get(v) in FINAL_STATUSES),
        "succeeded": sum(1 for v in acked if status_of.get(v) == "SUCCESS"),
        "statuses": dict(Counter(status_of.values())),
        "lost": len(lost),
        "lost_ids": lost[:20],
        "duplicate_runs": sum(n - 1 for n in by_key.values() if n > 1),
        "deliveries": sum(received.values()),
        "delivered_runs": len(received),
        "extra_deliveries_explained": explained_extra,
        "unexplained_duplicates": unexplained + unknown_ids,
        "acks_over_3s": sum(1 for ms in ack_ms if ms > ACK_LIMIT_MS),
        "ack_ms": stats(ack_ms),
        "runs_settled": settled[0],
        "queue_empty": settled[1],
        "jobs_left": [
            {"kind": k, "attempts": a, "due_at": str(d), "last_error": e} for k, a, d, e in pending
        ],
    }


def _scenario(
    w: World,
    database_url: str,
    name: str,
    *,
    count: int,
    rate: float,
    chaos: Callable[[Bot, Submitter], None],
) -> dict[str, Any]:
    w.receiver.reset()
    w.slack.reset()
    bot = Bot(w, database_url, name)
    bot.start()
    try:
        opener = w.requests(bot.process)  # type: ignore[arg-type]
        form = w.open_form(opener, GLOBAL_ACTION)
        opener.close()
        sub = Submitter(w, bot, form, count, rate, name[:3])
        started = time.monotonic()
        sub.start()
        chaos(bot, sub)
        sub.join(timeout=600)
        if not (bot.process and bot.process.alive()):
            bot.start()
        settled = _settle(database_url, set(sub.acks))
        result = _analyse(w, database_url, sub, settled)
        result["seconds"] = round(time.monotonic() - started, 1)
        result["bot_starts"] = bot.starts
        return result
    finally:
        bot.stop()
        w.slack.clear_responses()
        w.receiver.reset()


# --- the scripts -------------------------------------------------------------------------


def _at(started: float, second: float) -> None:
    delay = started + second - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def flapping(w: World) -> Callable[[Bot, Submitter], None]:
    def chaos(bot: Bot, sub: Submitter) -> None:
        t = time.monotonic()
        receiver = w.receiver
        _at(t, 1)
        receiver.reply(HOOK, status=503, body={"error": "busy"}, times=60)
        _at(t, 3)
        receiver.reply(HOOK, delay=1.5, times=25)  # beyond the action's 1 s timeout
        _at(t, 5)
        receiver.stop()  # connection refused
        _at(t, 7)
        receiver.start()
        _at(t, 8.5)
        receiver.reply(HOOK, status=503, headers={"Retry-After": "1"}, times=40)
        _at(t, 10)
        receiver.stop()
        _at(t, 11.5)
        receiver.start()

    return chaos


def slack_errors(w: World) -> Callable[[Bot, Submitter], None]:
    def chaos(bot: Bot, sub: Submitter) -> None:
        t = time.monotonic()
        slack = w.slack
        limited = {"ok": False, "error": "ratelimited"}
        broken = {"ok": False, "error": "internal_error"}
        _at(t, 1)
        slack.set_response(
            "chat.postMessage", limited, status=429, headers={"Retry-After": "1"}, times=40
        )
        slack.set_response("users.info", limited, status=429, headers={"Retry-After": "1"}, times=5)
        _at(t, 3)
        slack.set_response("chat.update", broken, status=500, times=40)
        slack.set_response("views.update", broken, status=500, times=40)
        _at(t, 5)
        slack.set_response("chat.postMessage", broken, status=500, times=40)
        slack.set_response("chat.getPermalink", broken, status=500, times=20)
        _at(t, 7)
        slack.set_response(
            "chat.postMessage", limited, status=429, headers={"Retry-After": "2"}, times=20
        )

    return chaos


def sigkill(w: World, seed: int) -> Callable[[Bot, Submitter], None]:
    rng = random.Random(seed)

    def chaos(bot: Bot, sub: Submitter) -> None:
        deadline = time.monotonic() + 300
        while sub.is_alive() and time.monotonic() < deadline:
            time.sleep(rng.uniform(2, 4))
            if not sub.is_alive():
                break
            bot.kill()
            bot.start()

    return chaos


def _other_clients() -> list[str]:
    rows = db_query(
        _admin_url(),
        "SELECT DISTINCT coalesce(datname, 'none') FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() "
        "AND left(coalesce(datname, ''), 6) <> 'bench_'",
    )
    return [r[0] for r in rows]


def _restart_refused() -> str | None:
    """Why the cluster must not be restarted now: other sessions are using it."""
    if os.environ.get("FAULTS_PG_RESTART", "") == "force":
        return None
    others = _other_clients()
    if others and not wait_until(lambda: not _other_clients(), 30, interval=1):
        return (
            f"other clients are connected (databases {', '.join(others)}); restarting "
            "would break them. FAULTS_PG_RESTART=force restarts anyway"
        )
    return None


def _admin_url() -> str:
    return pg_url("postgres")


def _cluster() -> str | None:
    """The local cluster version to restart, when we may: root, pg_ctlcluster, a cluster."""
    if os.geteuid() != 0 or not Path("/etc/postgresql").is_dir():
        return None
    versions = sorted(os.listdir("/etc/postgresql"))
    if not versions or not Path(f"/etc/postgresql/{versions[-1]}/main").is_dir():
        return None
    with contextlib.suppress(OSError):
        subprocess.run(["pg_ctlcluster", "--help"], capture_output=True, timeout=10)
        return versions[-1]
    return None


def pg_restart(w: World, version: str) -> Callable[[Bot, Submitter], None]:
    def chaos(bot: Bot, sub: Submitter) -> None:
        time.sleep(4)
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            capture_output=True,
            timeout=120,
            check=True,
        )
        wait_until(pg_available, 60, interval=0.2)

    return chaos


# --- the suite ----------------------------------------------------------------------------


def run() -> tuple[dict[str, Any], bool]:
    results: dict[str, Any] = {"retry": RETRY, "scenarios": {}, "skipped": {}}
    kills = env_int("FAULTS_RUNS", 500)
    with world(actions=10, services=20, retry=RETRY, timeout=1) as w:
        pg = pg_available()
        plan: list[tuple[str, str, int, float, Callable[[], Callable[[Bot, Submitter], None]]]]
        plan = [
            ("receiver flapping", "sqlite", 300, 25, lambda: flapping(w)),
            ("slack 429/500", "sqlite", 200, 25, lambda: slack_errors(w)),
            ("sigkill every 2-4 s", "sqlite", kills, 25, lambda: sigkill(w, 1)),
        ]
        if pg:
            plan.append(("sigkill every 2-4 s", "postgresql", kills, 25, lambda: sigkill(w, 2)))
            plan.append(("receiver flapping", "postgresql", 300, 25, lambda: flapping(w)))
        version = _cluster()
        if not pg:
            results["skipped"]["postgresql restart"] = "PostgreSQL not reachable"
        elif version is None:
            results["skipped"]["postgresql restart"] = (
                "needs root and a local cluster under /etc/postgresql (pg_ctlcluster)"
            )
        elif os.environ.get("FAULTS_PG_RESTART", "") == "skip":
            results["skipped"]["postgresql restart"] = "FAULTS_PG_RESTART=skip"
        else:
            plan.append(
                ("postgresql restart", "postgresql", 200, 20, lambda: pg_restart(w, version))
            )
        only = os.environ.get("FAULTS_ONLY", "")
        for name, db, count, rate, chaos in plan:
            key = f"{name} ({db})"
            if only and only not in key:
                continue
            if name == "postgresql restart" and (why := _restart_refused()):
                results["skipped"]["postgresql restart"] = why
                continue
            database = "bench_faults"
            url = (
                create_database(database)
                if db == "postgresql"
                else w.sqlite_url(f"faults-{len(results['scenarios'])}")
            )
            try:
                results["scenarios"][key] = _scenario(
                    w, url, name.split()[0], count=count, rate=rate, chaos=chaos()
                )
            except Exception as exc:  # a scenario that broke is a failure, reported
                results["scenarios"][key] = {"error": f"{type(exc).__name__}: {exc}"}
            finally:
                if db == "postgresql":
                    drop_database(database)
    rows, ok = [], True
    for key, r in results["scenarios"].items():
        if "error" in r:
            ok = False
            rows.append([key, "error", r["error"][:80], "", "", "", "", "", "", "", ""])
            continue
        good = r["lost"] == 0 and r["unexplained_duplicates"] == 0 and r["duplicate_runs"] == 0
        good = good and r["gave_up"] == 0 and r["runs_settled"]
        ok = ok and good
        note = "ok" if good else "FAILED"
        if good and r["jobs_left"]:
            note = f"ok; {len(r['jobs_left'])} Slack job(s) late"
        rows.append(
            [
                key,
                r["acked"],
                r["finished"],
                r["lost"],
                r["duplicate_runs"],
                r["deliveries"],
                r["extra_deliveries_explained"],
                r["unexplained_duplicates"],
                r["acks_over_3s"],
                r["ack_ms"].get("max"),
                note,
            ]
        )
    table(
        "faults: bounded failures around a real bot process",
        [
            "scenario",
            "acked",
            "finished",
            "lost",
            "dup runs",
            "deliveries",
            "extra (audited)",
            "unexplained",
            "acks>3s",
            "max ack ms",
            "verdict",
        ],
        rows,
    )
    for key, why in results["skipped"].items():
        print(f"   skipped {key}: {why}")
    results["ok"] = ok
    write_result("faults", results)
    return results, ok


def main() -> int:
    _, ok = run()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
