"""Shared benchmark plumbing: processes, doubles, the generated catalog, statistics, output.

Everything listens on and talks to 127.0.0.1 only, and every wait is bounded in time.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import json
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from bot.testing import FakeSlack, Receiver, SlackRequests, values_for
from bot.testing.http import Server

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
# Run the bot from a snapshot of this git ref (e.g. HEAD) instead of the work tree, so that
# edits in progress elsewhere neither break nor blur a run.
BOT_REF = os.environ.get("BENCH_BOT_REF", "")
PG_URL = (
    os.environ.get("BENCH_PG_URL")
    or os.environ.get("PG_URL")
    or "postgresql://postgres@127.0.0.1:5432/test"
)

SIGNING_SECRET = "bench-slack-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
# A fixed, valid secret (whsec_ + base64 of 32 bytes); it signs loopback traffic only.
WEBHOOK_SECRET = "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtMzItYnl0ZXMhIQ=="

GLOBAL_ACTION = "bench-global"
SERVICE_ACTION = "bench-service"
USER = "U0DEV"
CHANNEL = "C0CHAN"


def env_int(name: str, default: int, quick: int | None = None) -> int:
    """An integer knob from the environment; ``quick`` is the default under BENCH_QUICK=1."""
    value = os.environ.get(name)
    if value:
        return int(value)
    return quick if (QUICK and quick is not None) else default


# --- statistics and output ----------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between closest ranks (p in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def stats(values: Sequence[float]) -> dict[str, float]:
    """n, mean, min, median, p90, p99 and max of a sample (same unit as the values)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "mean": round(sum(values) / len(values), 3),
        "min": round(min(values), 3),
        "median": round(percentile(values, 50), 3),
        "p90": round(percentile(values, 90), 3),
        "p99": round(percentile(values, 99), 3),
        "max": round(max(values), 3),
    }


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("inf")


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, printed and returned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    lines = [
        title,
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    text = "\n".join(lines)
    print(text + "\n", flush=True)
    return text


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": pg_version(),
    }


_snapshot: Path | None = None
_snapshot_commit = ""


def bot_commit() -> str:
    """The commit BENCH_BOT_REF names, resolved once: a ref that moves during the run (someone
    commits) changes neither the code measured nor the commit the results name."""
    global _snapshot_commit
    if BOT_REF and not _snapshot_commit:
        _snapshot_commit = subprocess.run(
            ["git", "rev-parse", "--verify", f"{BOT_REF}^{{commit}}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    return _snapshot_commit


def bot_root() -> Path:
    """The directory `python -m bot` runs from: the work tree, or a BENCH_BOT_REF snapshot."""
    global _snapshot
    if not BOT_REF:
        return ROOT
    if _snapshot is None:
        _snapshot = snapshot(bot_commit())
    return _snapshot


def snapshot(commit: str) -> Path:
    """The bot's code at ``commit`` in a temporary directory (removed at exit)."""
    target = Path(tempfile.mkdtemp(prefix="bench-bot-"))
    atexit.register(shutil.rmtree, target, True)
    archive = subprocess.run(
        ["git", "archive", commit, "bot", "migrations"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def code_version() -> dict[str, Any]:
    """Which bot code was measured."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    if BOT_REF:
        return {"source": f"snapshot of {BOT_REF}", "commit": bot_commit()}
    dirty = bool(git("status", "--porcelain", "bot", "migrations"))
    return {"source": "work tree", "commit": git("rev-parse", "HEAD"), "bot_dirty": dirty}


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": QUICK,
        "machine": machine(),
        "code": code_version(),
        **data,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return path


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until true or ``timeout`` seconds passed; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# --- PostgreSQL ---------------------------------------------------------------------------


def pg_url(database: str) -> str:
    """BENCH_PG_URL with another database name."""
    parts = urllib.parse.urlsplit(PG_URL)
    return urllib.parse.urlunsplit(parts._replace(path="/" + database))


def _pg_connect(database: str = "postgres") -> Any:
    import psycopg

    return psycopg.connect(pg_url(database), autocommit=True, connect_timeout=5)


def pg_available() -> bool:
    try:
        with _pg_connect():
            return True
    except Exception:
        return False


def pg_version() -> str | None:
    try:
        with _pg_connect() as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])
    except Exception:
        return None


def create_database(name: str) -> str:
    """A fresh, empty database (dropped first if left over); returns its URL."""
    assert name.startswith("bench_"), "benchmarks only create databases named bench_*"
    with _pg_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url(name)


def drop_database(name: str) -> None:
    assert name.startswith("bench_")
    with contextlib.suppress(Exception), _pg_connect() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- doubles with room for bursts ---------------------------------------------------------


class _BenchServer(Server):
    """The doubles' threading server with a deep accept queue (socketserver's default is 5,
    which drops SYNs under a 200-connection burst and adds 1 s retransmits), optionally on
    a fixed port so a stopped receiver can come back where the config points."""

    request_queue_size = 1024
    pinned_port = 0

    def server_bind(self) -> None:
        self.server_address = ("127.0.0.1", self.pinned_port)
        super().server_bind()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A killed bot resets its connections; that is the scenario, not a failure.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _BenchStart:
    pinned_port = 0
    _server: Any
    _thread: Any

    def start(self) -> Any:
        if self._server is not None:
            return self
        server_class = type("_Pinned", (_BenchServer,), {"pinned_port": self.pinned_port})
        self._server = server_class(self)
        self.pinned_port = int(self._server.server_address[1])  # a restart reuses it
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-{self.pinned_port}",
            daemon=True,
        )
        self._thread.start()
        return self


class BenchSlack(_BenchStart, FakeSlack):
    """FakeSlack with a deep accept queue."""

    def __init__(self) -> None:
        super().__init__()
        self.usergroups["S0ADMINS"] = ["U0ADMIN"]


class BenchReceiver(_BenchStart, Receiver):
    """Receiver with a deep accept queue, a stable port across stop/start, and a cheap
    arrival counter for pacing load."""

    def __init__(self) -> None:
        super().__init__()
        self._count_lock = threading.Lock()
        self.arrivals = 0

    def _handle(self, handler: Any) -> None:
        with self._count_lock:
            self.arrivals += 1
        super()._handle(handler)


class PreparedRequests(SlackRequests):
    """SlackRequests that can also build a signed request without sending it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._captured: list[tuple[bytes, dict[str, str]]] | None = None

    def raw(
        self,
        body: str | bytes,
        headers: Any = None,
        *,
        sign: bool = True,
        content_type: str = "application/x-www-form-urlencoded",
    ) -> httpx.Response:
        if self._captured is None:
            return super().raw(body, headers, sign=sign, content_type=content_type)
        final = self.signed_headers(body, content_type) if sign else {}
        final.update(headers or {})
        content = body.encode("utf-8") if isinstance(body, str) else body
        self._captured.append((content, final))
        return httpx.Response(200)

    def prepare(self, send: Callable[[], Any]) -> tuple[bytes, dict[str, str]]:
        """Run ``send`` (e.g. ``lambda: r.view_submission(...)``) and return the signed
        (body, headers) it would have posted."""
        self._captured = []
        try:
            send()
            return self._captured[0]
        finally:
            self._captured = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- processes -----------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS in KiB (peak and current resident memory)."""
    found: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    return found


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ServerProcess:
    """A server as deployed: its own Python process, logging to a file, ready on /readyz."""

    def __init__(
        self,
        module: str,
        env: dict[str, str],
        log_path: Path,
        *,
        cwd: Path = ROOT,
        ready_timeout: float = 60,
    ) -> None:
        self.module = module
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", module],
            env=env,
            cwd=cwd,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.pid = self.process.pid
        self.started = time.monotonic()
        deadline = time.monotonic() + ready_timeout
        with httpx.Client(trust_env=False, timeout=2) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{module} exited: {self.tail()}")
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(f"{module} not ready in {ready_timeout}s: {self.tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url}/readyz").status_code == 200:
                        break
                time.sleep(0.05)
        self.ready_after = time.monotonic() - self.started

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def memory(self) -> dict[str, int]:
        return proc_status(self.pid)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._log.close()

    def stop(self, timeout: float = 20) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()
        return self.process.returncode


def base_env(port: int) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": str(port)}
    for name in ("LANG", "LC_ALL", "HOME", "TMPDIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env  # no *_PROXY: loopback only


# --- the generated catalog -----------------------------------------------------------------

LIFECYCLES = ["production", "beta", "development", "deprecated"]
LANGUAGES = ["python", "go", "java", "typescript", "ruby", "rust"]


def generate_catalog(
    receiver_url: str,
    *,
    actions: int = 500,
    services: int = 2000,
    teams: int = 40,
    seed: int = 20261127,
    retry: dict[str, Any] | None = None,
    timeout: float = 10,
) -> dict[str, Any]:
    """A realistic, valid config: ``actions`` actions, ``services`` services owned by
    existing teams, admins given as users and a user group. The first two actions are
    the ones the benchmarks run: a global one with inputs and a service-scoped one."""
    rng = random.Random(seed)
    team_list = [
        {
            "id": f"team-{i:02d}",
            "name": f"Team {i:02d}",
            "members": ["U0OWNER"],
            "channel": f"C0TEAM{i:02d}",
        }
        for i in range(teams)
    ]
    service_list = []
    for i in range(services):
        service_list.append(
            {
                "id": f"svc-{i:04d}",
                "name": f"Service {i:04d}",
                "owner": rng.choice(team_list)["id"],
                "tier": rng.randint(1, 4),
                "lifecycle": rng.choice(LIFECYCLES),
                "language": rng.choice(LANGUAGES),
                "description": f"Generated service number {i}",
                "tags": {"pd_id": f"P{i:05d}", "cost_center": f"cc-{i % 17}"},
            }
        )
    extra = {"retry": retry} if retry else {}
    response = (
        "{% if response.status >= 200 and response.status < 300 %}## Done\n"
        "Ticket **{{ response.body.key | default: 'n/a' }}** for {{ user.name }}"
        "{% else %}Failed with HTTP {{ response.status }}{% endif %}"
    )
    action_list: list[dict[str, Any]] = [
        {
            "id": GLOBAL_ACTION,
            "name": "Bench global",
            "description": "A global action with two inputs",
            "owner": "team-00",
            "webhook": {
                "url": f"{receiver_url}/hooks/{GLOBAL_ACTION}",
                "headers": {"Content-Type": "application/json"},
                "payload": '{"title": {{ manualInputs.title | json }}, '
                '"prio": {{ manualInputs.prio | json }}, "user": {{ user.id | json }}, '
                '"email": {{ user.email | json }}, "run": {{ run.id | json }}}',
                "timeout": timeout,
            },
            "inputs": [
                {
                    "identifier": "title",
                    "displayName": "Title",
                    "type": "text_input",
                    "required": True,
                    "maxLength": 80,
                },
                {
                    "identifier": "prio",
                    "displayName": "Priority",
                    "type": "dropdown",
                    "values": ["low", "high"],
                    "defaultValue": "low",
                },
            ],
            "response_template": response,
            **extra,
        },
        {
            "id": SERVICE_ACTION,
            "name": "Bench service",
            "description": "A service-scoped action",
            "owner": "team-01",
            "scope": "service",
            "webhook": {
                "url": f"{receiver_url}/hooks/{SERVICE_ACTION}",
                "payload": '{"service": {{ service.id | json }}, '
                '"pd": {{ service | tag_value: "pd_id" | json }}, '
                '"owner": {{ service.owner.name | json }}}',
                "timeout": timeout,
            },
            **extra,
        },
    ]
    for i in range(len(action_list), actions):
        scope = "service" if rng.random() < 0.2 else "global"
        inputs = []
        for j in range(rng.randint(0, 3)):
            if rng.random() < 0.3:
                inputs.append(
                    {
                        "identifier": f"choice{j}",
                        "displayName": f"Choice {j}",
                        "type": "dropdown",
                        "values": ["a", "b", "c"],
                    }
                )
            else:
                inputs.append(
                    {
                        "identifier": f"text{j}",
                        "displayName": f"Text {j}",
                        "type": rng.choice(["text_input", "text_area"]),
                        "required": rng.random() < 0.5,
                        "maxLength": 200,
                    }
                )
        fields = [
            f'"{item["identifier"]}": {{{{ manualInputs.{item["identifier"]} | json }}}}'
            for item in inputs
        ]
        fields.append('"user": {{ user.id | json }}')
        if scope == "service":
            fields.append('"service": {{ service.id | json }}')
        action_list.append(
            {
                "id": f"action-{i:03d}",
                "name": f"Action {i:03d}",
                "description": f"Generated action {i}: does something useful",
                "owner": rng.choice(team_list)["id"],
                "scope": scope,
                "access": "admins" if rng.random() < 0.1 else "everyone",
                "published": rng.random() >= 0.05,
                "webhook": {
                    "url": f"{receiver_url}/hooks/action-{i:03d}",
                    "method": rng.choice(["POST", "POST", "PUT"]),
                    "payload": "{" + ", ".join(fields) + "}",
                    "timeout": timeout,
                },
                "inputs": inputs,
                "response_template": response if rng.random() < 0.5 else None,
                **extra,
            }
        )
    for item in action_list:
        if item.get("response_template") is None:
            item.pop("response_template", None)
    return {
        "admins": {"users": ["U0ADMIN"], "usergroups": ["S0ADMINS"]},
        "teams": team_list,
        "services": service_list,
        "actions": action_list,
    }


def write_catalog(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=1000))
    return path


# --- a world: doubles, a config, the bot and the baseline ----------------------------------


@dataclass
class World:
    tmp: Path
    slack: BenchSlack
    receiver: BenchReceiver
    config: Path
    processes: list[ServerProcess] = field(default_factory=list)

    def sqlite_url(self, name: str = "actions") -> str:
        return f"sqlite:///{self.tmp / (name + '.db')}"

    def bot_env(self, database_url: str, **overrides: Any) -> dict[str, str]:
        port = free_port()
        env = base_env(port)
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=self.slack.api_url,
            DATABASE_URL=database_url,
            ACTIONS_CONFIG=str(self.config),
            WEBHOOK_SIGNING_SECRET=WEBHOOK_SECRET,
            WEBHOOK_ALLOW_PRIVATE_NETWORKS="1",
            LOG_LEVEL="INFO",
            # One simulated user submits everything here: the per-user limit is not measured.
            RUN_RATE_LIMIT="999999/s",
        )
        env.update({k: str(v) for k, v in overrides.items()})
        return env

    def start_bot(
        self, database_url: str, *, name: str = "bot", root: Path | None = None, **overrides: Any
    ) -> ServerProcess:
        env = self.bot_env(database_url, **overrides)
        process = ServerProcess("bot", env, self.tmp / f"{name}.log", cwd=root or bot_root())
        self.processes.append(process)
        return process

    def start_baseline(self) -> ServerProcess:
        port = free_port()
        env = base_env(port)
        env.update(
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=self.slack.api_url,
        )
        process = ServerProcess("bench.baseline_app", env, self.tmp / "baseline.log")
        self.processes.append(process)
        return process

    def requests(self, process: ServerProcess) -> PreparedRequests:
        return PreparedRequests(process.events_url, SIGNING_SECRET, self.slack, timeout=30)

    def open_form(
        self,
        requests: SlackRequests,
        action_id: str = GLOBAL_ACTION,
        channel_id: str = CHANNEL,
        user_id: str = USER,
    ) -> dict[str, Any]:
        """Click Run on a card; return the modal as the bot sent it to views.open."""
        before = len(self.slack.calls("views.open"))
        response = requests.block_action(
            "run_action", value=action_id, user_id=user_id, channel_id=channel_id
        )
        if response.status_code != 200:
            raise RuntimeError(f"click answered {response.status_code}: {response.text}")
        calls = self.slack.wait_for("views.open", count=before + 1, timeout=10)
        view = calls[before].params["view"]
        assert isinstance(view, dict)
        return view


def answers(form: dict[str, Any], n: int) -> dict[str, dict[str, Any]]:
    """Slack's state.values for a filled-in form of either bench action."""
    wanted: dict[str, object] = {}
    for block in form.get("blocks") or []:
        if block.get("type") != "input":
            continue
        block_id = block["block_id"]
        if block_id == "service":
            wanted[block_id] = f"svc-{n % 100:04d}"
        elif block_id == "input:title":
            wanted[block_id] = f"Bench run {n}"
        elif block_id == "input:prio":
            wanted[block_id] = "high" if n % 2 else "low"
    return values_for(form, wanted)


def submission(form: dict[str, Any], view_id: str, n: int) -> tuple[dict[str, Any], dict]:
    """The (view, state values) of one distinct submission of ``form``."""
    view = dict(form, id=view_id, root_view_id=view_id)
    return view, answers(form, n)


@contextlib.contextmanager
def world(
    *,
    actions: int = 500,
    services: int = 2000,
    retry: dict[str, Any] | None = None,
    timeout: float = 10,
) -> Iterator[World]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        slack = BenchSlack().start()
        receiver = BenchReceiver().start()
        path = Path(tmp) / "actions.yml"
        document = generate_catalog(
            receiver.url, actions=actions, services=services, retry=retry, timeout=timeout
        )
        write_catalog(path, document)
        w = World(Path(tmp), slack, receiver, path)
        try:
            yield w
        finally:
            for process in w.processes:
                with contextlib.suppress(Exception):
                    process.stop()
            receiver.stop()
            slack.stop()
            keep = os.environ.get("BENCH_KEEP_LOGS")
            if keep:
                for log in Path(tmp).glob("*.log"):
                    target = Path(keep)
                    target.mkdir(parents=True, exist_ok=True)
                    (target / log.name).write_bytes(log.read_bytes())


def quiet_sqlalchemy() -> None:
    import logging

    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)


# --- reading the bot's database from the outside -------------------------------------------

FINAL_STATUSES = ("SUCCESS", "FAILURE", "TIMED_OUT", "CANCELLED")


def db_query(url: str, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Run one read query against a sqlite:/// or postgresql:// URL (``?`` placeholders)."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=30)
        try:
            return list(connection.execute(sql, tuple(params)))
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as connection:
        return list(connection.execute(sql.replace("?", "%s"), tuple(params)))


def final_runs(url: str) -> int:
    marks = ",".join("?" * len(FINAL_STATUSES))
    return int(
        db_query(url, f"SELECT count(*) FROM run WHERE status IN ({marks})", FINAL_STATUSES)[0][0]
    )


def tcp_listen_drops() -> int:
    """TcpExt ListenDrops (SYNs dropped because an accept queue was full), host-wide."""
    with contextlib.suppress(OSError, ValueError):
        lines = Path("/proc/net/netstat").read_text().splitlines()
        for names, values in zip(lines[::2], lines[1::2], strict=False):
            if names.startswith("TcpExt:"):
                table_ = dict(zip(names.split()[1:], values.split()[1:], strict=False))
                return int(table_.get("ListenDrops", 0))
    return 0


async def post_all(
    url: str, requests: Sequence[tuple[bytes, dict[str, str]]], timeout: float = 30
) -> list[tuple[int, float]]:
    """POST every (body, headers) at once over its own connection; (status, ms) each.
    Status 0 means no answer (connection error or timeout)."""
    import asyncio

    limits = httpx.Limits(max_connections=len(requests) + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(trust_env=False, timeout=timeout, limits=limits) as client:

        async def one(body: bytes, headers: dict[str, str]) -> tuple[int, float]:
            started = time.perf_counter()
            try:
                response = await client.post(url, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError:
                status = 0
            return status, (time.perf_counter() - started) * 1000

        return list(await asyncio.gather(*(one(b, h) for b, h in requests)))


def start_profile(pid: int, seconds: float, name: str) -> subprocess.Popen[bytes] | None:
    """Sample ``pid`` with py-spy for ``seconds`` when BENCH_PYSPY names its binary; the
    collapsed stacks go to bench/results/profile-<name>.txt. None when not asked for."""
    binary = os.environ.get("BENCH_PYSPY")
    if not binary:
        return None
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile-{name}.txt"
    return subprocess.Popen(
        [
            binary,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "200",
            "--format",
            "raw",
            "--threads",
            "--gil",
            "--nonblocking",
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def finish_profile(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(120)
