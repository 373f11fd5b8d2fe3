"""6. Audit-log scale: 1,000,000 runs in PostgreSQL, paged through as an admin would.

A dedicated database (bench_audit, dropped at the end) gets the real schema from
`python -m bot migrate`, then BENCH_AUDIT_ROWS runs (default 1,000,000) by COPY, with
skewed action and user popularity, realistic statuses and a year of created_at. The
migration's secondary indexes are dropped for the load and re-created from their own
definitions afterwards, then the table is analysed.

The query is the one an admin `runs` command pages with: newest first, optional filters
by action / user / status / since, 20 a page, keyset pagination on (created_at, id).
For each filter, several filter values are paged through 10 pages deep; every page is
timed, and EXPLAIN shows which index the planner picked.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import subprocess
import sys
import time
import uuid
from typing import Any

from bench.common import (
    base_env,
    bot_root,
    create_database,
    drop_database,
    env_int,
    free_port,
    pg_available,
    stats,
    table,
    verdict,
    write_result,
)

DATABASE = "bench_audit"
PAGE = 20
PAGES = 10
STATUSES = [
    ("SUCCESS", 0.85),
    ("FAILURE", 0.09),
    ("CANCELLED", 0.02),
    ("TIMED_OUT", 0.015),
    ("RUNNING", 0.015),
    ("PENDING", 0.01),
]
ACTIONS = 500
USERS = 5000
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
NULL = "\\N"  # COPY's text format


def runs_page(
    *,
    action: str | None = None,
    user: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    after: tuple[dt.datetime, str] | None = None,
    limit: int = PAGE,
) -> tuple[str, dict[str, Any]]:
    """The admin `runs` query: newest first, filtered, one keyset page after ``after``."""
    where, params = [], {}
    if action is not None:
        where.append("action_id = %(action)s")
        params["action"] = action
    if user is not None:
        where.append("user_id = %(user)s")
        params["user"] = user
    if status is not None:
        where.append("status = %(status)s")
        params["status"] = status
    if since is not None:
        where.append("created_at >= %(since)s")
        params["since"] = since
    if after is not None:
        where.append("(created_at, id) < (%(ts)s, %(id)s)")
        params["ts"], params["id"] = after
    sql = (
        "SELECT id, action_id, user_id, status, created_at, finished_at, summary FROM run"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY created_at DESC, id DESC LIMIT %(limit)s"
    )
    params["limit"] = limit
    return sql, params


def _skewed(rng: random.Random, n: int, s: float = 1.1) -> list[float]:
    weights = [1 / (k + 1) ** s for k in range(n)]
    rng.shuffle(weights)
    return weights


def _load(conn: Any, rows: int, rng: random.Random) -> dict[str, Any]:
    actions = [f"action-{i:03d}" for i in range(ACTIONS)]
    users = [f"U{i:08d}" for i in range(USERS)]
    action_w, user_w = _skewed(rng, ACTIONS), _skewed(rng, USERS, 0.9)
    statuses, status_w = zip(*STATUSES, strict=True)
    span = 365 * 86400
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'run' AND indexname IN "
        "(SELECT indexrelid::regclass::text FROM pg_index i JOIN pg_class c "
        "ON c.oid = i.indrelid WHERE c.relname = 'run' AND NOT i.indisprimary "
        "AND NOT i.indisunique)"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    started = time.monotonic()
    columns = (
        "id, action_id, user_id, user_name, channel_id, message_ts, service_id, inputs, "
        "status, idempotency_key, summary, parent_id, created_at, finished_at"
    )
    chunk = 50_000
    with conn.cursor() as cursor, cursor.copy(f"COPY run ({columns}) FROM STDIN") as copy:
        for start in range(0, rows, chunk):
            count = min(chunk, rows - start)
            acts = rng.choices(actions, action_w, k=count)
            who = rng.choices(users, user_w, k=count)
            sts = rng.choices(statuses, status_w, k=count)
            out = io.StringIO()
            for a, u, st in zip(acts, who, sts, strict=True):
                created = NOW - dt.timedelta(seconds=rng.random() * span)
                final = st not in ("PENDING", "RUNNING")
                finished = (created + dt.timedelta(seconds=rng.random() * 30)).isoformat()
                inputs = json.dumps({"title": f"t{rng.randrange(10**6)}"})
                out.write(
                    f"{uuid.UUID(int=rng.getrandbits(128), version=4)}\t{a}\t{u}\t{u.lower()}\t"
                    f"C0CHAN\t{NULL}\t{NULL}\t{inputs}\t{st}\t{NULL}\t{'done' if final else ''}\t"
                    f"{NULL}\t{created.isoformat()}\t{finished if final else NULL}\n"
                )
            copy.write(out.getvalue())
    copied = time.monotonic() - started
    started = time.monotonic()
    for _, definition in indexes:
        conn.execute(definition)
    conn.execute("ANALYZE run")
    indexed = time.monotonic() - started
    return {
        "copy_s": round(copied, 1),
        "index_and_analyze_s": round(indexed, 1),
        "indexes": [name for name, _ in indexes],
        "actions": actions,
        "users": users,
        "action_weights": action_w,
        "user_weights": user_w,
    }


def _plan_indexes(plan: dict[str, Any]) -> list[str]:
    found = []
    node = plan
    stack = [node]
    while stack:
        node = stack.pop()
        if "Index Name" in node:
            found.append(f"{node['Node Type']} {node['Index Name']}")
        elif node.get("Node Type") in ("Seq Scan", "Bitmap Heap Scan", "Incremental Sort", "Sort"):
            found.append(node["Node Type"])
        stack.extend(node.get("Plans", []))
    return found


def _explain(conn: Any, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    row = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params).fetchone()
    plan = row[0][0]
    return {
        "uses": _plan_indexes(plan["Plan"]),
        "execution_ms": round(plan["Execution Time"], 3),
        "plan": plan["Plan"],
    }


PARAM_TYPES = {
    "action": "text",
    "user": "text",
    "status": "text",
    "since": "timestamptz",
    "ts": "timestamptz",
    "id": "text",
    "limit": "int",
}


def _explain_generic(conn: Any, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """EXPLAIN ANALYZE the query as a prepared statement with its generic plan: what
    PostgreSQL runs once psycopg has prepared it (after 5 executions) and the plan cache
    prefers the generic plan."""
    from psycopg import sql as psql

    names = [name for name in PARAM_TYPES if f"%({name})s" in sql]
    text = sql
    for n, name in enumerate(names, 1):
        text = text.replace(f"%({name})s", f"${n}")
    types = ", ".join(PARAM_TYPES[name] for name in names)
    args = psql.SQL(", ").join(psql.Literal(params[name]) for name in names)
    conn.execute("SET plan_cache_mode = force_generic_plan")
    try:
        conn.execute(f"PREPARE bench_page ({types}) AS {text}")
        query = psql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE bench_page ({})").format(args)
        plan = conn.execute(query).fetchone()[0][0]
    finally:
        conn.execute("DEALLOCATE ALL")
        conn.execute("RESET plan_cache_mode")
    return {
        "uses": _plan_indexes(plan["Plan"]),
        "execution_ms": round(plan["Execution Time"], 3),
        "conditions": _conditions(plan["Plan"]),
    }


def _filters(loaded: dict[str, Any], rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    """For each filter, the filter values to page through: popular and rare ones."""
    by_weight = sorted(zip(loaded["action_weights"], loaded["actions"], strict=True))
    popular_actions = [a for _, a in by_weight[-5:]]
    rare_actions = [a for _, a in by_weight[:3]]
    mid_actions = [a for _, a in by_weight[ACTIONS // 2 : ACTIONS // 2 + 4]]
    users_by = sorted(zip(loaded["user_weights"], loaded["users"], strict=True))
    users = [u for _, u in users_by[-5:]] + [u for _, u in users_by[USERS // 2 : USERS // 2 + 5]]
    actions = popular_actions + mid_actions + rare_actions
    week = NOW - dt.timedelta(days=7)
    day = NOW - dt.timedelta(days=1)
    return {
        "none": [{}],
        "action": [{"action": a} for a in actions],
        "user": [{"user": u} for u in users],
        "status=FAILURE": [{"status": "FAILURE"}],
        "status=PENDING": [{"status": "PENDING"}],
        "since 7 days": [{"since": week}],
        "action+status=FAILURE": [{"action": a, "status": "FAILURE"} for a in actions],
        "user+status=FAILURE": [{"user": u, "status": "FAILURE"} for u in users],
        "action+user": [{"action": popular_actions[-1], "user": u} for u in users],
        "action+since 7 days": [{"action": a, "since": week} for a in actions],
        "user+since 1 day": [{"user": u, "since": day} for u in users],
        "status=PENDING+since 7 days": [{"status": "PENDING", "since": week}],
    }


def _page_through(conn: Any, filters: dict[str, Any], slowest: dict[str, Any]) -> list[float]:
    """Time up to PAGES pages of one filter; remember the slowest page's query."""
    times, after = [], None
    for _ in range(PAGES):
        sql, params = runs_page(**filters, after=after)
        started = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        elapsed = (time.perf_counter() - started) * 1000
        times.append(elapsed)
        if elapsed > slowest.get("ms", -1.0):
            slowest.update(ms=elapsed, sql=sql, params=params, filters=filters, after=after)
        if len(rows) < PAGE:
            break
        after = (rows[-1][4], rows[-1][0])
    return times


def _conditions(plan: dict[str, Any]) -> list[str]:
    """Index conditions and filters of the scans in a plan, with the rows thrown away."""
    found, stack = [], [plan]
    while stack:
        node = stack.pop()
        if "Index Name" in node:
            text = f"{node['Index Name']}: cond {node.get('Index Cond', '-')}"
            if node.get("Filter"):
                text += f"; filter {node['Filter']} (removed {node.get('Rows Removed by Filter')})"
            found.append(text)
        stack.extend(node.get("Plans", []))
    return found


def _measure(conn: Any, loaded: dict[str, Any], rng: random.Random, target: int) -> dict:
    out: dict[str, Any] = {}
    for name, values in _filters(loaded, rng).items():
        times: list[float] = []
        slowest: dict[str, Any] = {}
        for _ in range(100):  # bounded: rounds until the sample is big enough
            for filters in values:
                times += _page_through(conn, filters, slowest)
            if len(times) >= target:
                break
        first_sql, first_params = runs_page(**values[0])
        first = _explain(conn, first_sql, first_params)
        worst = _explain(conn, slowest["sql"], slowest["params"])
        generic = _explain_generic(conn, slowest["sql"], slowest["params"])
        out[name] = {
            "values": len(values),
            "pages_timed": len(times),
            "page_ms": stats(times),
            "explain_first_page": {k: first[k] for k in ("uses", "execution_ms")},
            "slowest_page": {
                "filters": {k: str(v) for k, v in slowest["filters"].items()},
                "after": str(slowest["after"]) if slowest["after"] else None,
                "ms": round(slowest["ms"], 3),
                "uses": worst["uses"],
                "conditions": _conditions(worst["plan"]),
                "explain_ms": worst["execution_ms"],
                "plan": worst["plan"],
                "generic_plan": generic,
            },
        }
    return out


def run() -> dict[str, Any]:
    if not pg_available():
        print("6. audit-log scale: skipped (PostgreSQL not reachable)\n")
        return {"skipped": "PostgreSQL not reachable", "summary": []}
    import psycopg

    rows = env_int("BENCH_AUDIT_ROWS", 1_000_000)
    target = env_int("BENCH_AUDIT_PAGES", 400, quick=200)  # timed pages per filter
    rng = random.Random(1127)
    url = create_database(DATABASE)
    result: dict[str, Any] = {
        "rows": rows,
        "page_size": PAGE,
        "pages_deep": PAGES,
        "query": runs_page(action="A", user="U", status="S", since=NOW, after=(NOW, "I"))[0],
    }
    try:
        env = base_env(free_port())
        env["DATABASE_URL"] = url
        migrated = subprocess.run(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=bot_root(),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if migrated.returncode != 0:
            raise RuntimeError(f"migrate failed: {migrated.stderr[-2000:]}")
        with psycopg.connect(url, autocommit=True) as conn:
            loaded = _load(conn, rows, rng)
            result["load"] = {k: loaded[k] for k in ("copy_s", "index_and_analyze_s", "indexes")}
            size = conn.execute("SELECT pg_total_relation_size('run')").fetchone()[0]
            result["table_mib"] = round(size / 2**20, 1)
            result["filters"] = _measure(conn, loaded, rng, target)
    finally:
        drop_database(DATABASE)
    rows_out, worst = [], 0.0
    for name, f in result["filters"].items():
        worst = max(worst, f["page_ms"]["max"])
        rows_out.append(
            [
                name,
                f["pages_timed"],
                f["page_ms"]["median"],
                f["page_ms"]["p99"],
                f["page_ms"]["max"],
                verdict(f["page_ms"]["max"] < 200),
                ", ".join(f["explain_first_page"]["uses"]),
                ", ".join(f["slowest_page"]["uses"]),
            ]
        )
    table(
        f"6. admin runs query over {rows:,} runs (PostgreSQL), {PAGE} a page, keyset, ms",
        ["filter", "pages", "median", "p99", "max", "<200", "first page plan", "slowest page"],
        rows_out,
    )
    for name, f in result["filters"].items():
        slow = f["slowest_page"]
        generic = slow["generic_plan"]
        print(
            f"   {name}: slowest {slow['ms']:.1f} ms; custom plan {slow['explain_ms']} ms: "
            + " | ".join(slow["conditions"])
        )
        print(
            f"      generic plan {generic['execution_ms']} ms: " + " | ".join(generic["conditions"])
        )
    print(
        f"\n   load: COPY {result['load']['copy_s']} s, indexes + ANALYZE "
        f"{result['load']['index_and_analyze_s']} s, table {result['table_mib']} MiB\n"
    )
    result["summary"] = [
        ["audit page, worst of all filters (ms)", round(worst, 2), "< 200", worst < 200]
    ]
    write_result("audit", result)
    return result


if __name__ == "__main__":
    run()
