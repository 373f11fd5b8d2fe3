"""The audit hash chain: links, tampering found by `audit verify`, concurrent writers,
the migration's backfill, retention checkpoints and signed exports."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from bot.__main__ import main
from bot.store import AuditEvent, Job, Run, Store, migrate, sqlalchemy_url
from bot.store.engine import alembic_config
from bot.store.models import utcnow
from tests.conftest import database_url

SECRET = "tracker-token-s3cr3t-value"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return database_url(tmp_path)


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    migrate(url)
    store = Store(url)
    yield store
    store.close()


def expected_hash(prev: str, row: dict) -> str:
    """The documented hash, computed independently of bot.store.chain."""
    at = row["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event = {k: row[k] for k in ("run_id", "action_id", "kind", "actor", "detail")} | {"at": at}
    body = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(bytes.fromhex(prev) + body.encode("utf-8")).hexdigest()


def assert_chained(events: list[AuditEvent]) -> None:
    prev = "0" * 64
    for n, event in enumerate(sorted(events, key=lambda e: e.seq or 0), start=1):
        assert event.seq == n and event.prev_hash == prev
        assert event.hash == expected_hash(prev, event.model_dump())
        prev = event.hash


def write_some(store: Store) -> Run:
    run = Run(action_id="deploy", user_id="U0DEV", inputs={"env": "prod"})
    store.create_run(run, {"inputs": {"env": "prod", "note": "café ✓"}}, [Job(kind="deliver")])
    store.transition(run.id, "RUNNING", "webhook_request", {"url": "https://x", "n": 1.5})
    store.record(
        "admin",
        {"changed": "deploy", "keys": {"b": 1, "a": [1, None, True]}},
        action_id="deploy",
        actor="U0ADMIN",
    )
    store.decide(run.id, "U0BOSS", True, "ok")
    store.finish_run(run.id, "SUCCESS", "done", {"response": {"status": 200}})
    store.seal_all()
    return run


def verify(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], url: str, *args: str
) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", url)
    code = main(["audit", "verify", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def sql(url: str, statement: str, **params: object) -> None:
    engine = create_engine(sqlalchemy_url(url))
    with engine.begin() as connection:
        connection.execute(text(statement), params)
    engine.dispose()


def test_every_event_is_linked_to_the_one_before(store: Store) -> None:
    store.record("admin", {"first": True})
    assert store.events()[0].seq is None  # written in one statement; sealed afterwards
    store.seal_all()
    write_some(store)
    events = store.events()[1:]
    assert [e.kind for e in events] == [
        "requested",
        "webhook_request",
        "admin",
        "approved",
        "finished",
    ]
    assert_chained(store.events())
    head = store.chain_head()
    assert (head.seq, head.hash) == (6, events[-1].hash)


def test_verify_intact_chain_exits_0(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_some(store)
    code, out = verify(monkeypatch, capsys, url)
    assert code == 0, out
    assert "intact: 5 events, seq 1..5" in out
    code, out = verify(monkeypatch, capsys, url, "--since", "1h")
    assert code == 0 and "intact: 5 events" in out


def test_verify_finds_a_changed_event(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_some(store)
    target = store.events(kind="admin")[0]
    sql(url, "UPDATE audit_event SET actor = 'U0MALLORY' WHERE id = :id", id=target.id)
    code, out = verify(monkeypatch, capsys, url)
    assert code == 4
    assert f"BROKEN at event id {target.id} (seq 3)" in out
    assert "do not match its hash" in out and "U0MALLORY" in out
    assert "2 events verified before it" in out


def test_verify_finds_a_changed_event_whose_hash_was_recomputed(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_some(store)
    target, after = store.events()[1:3]
    forged = expected_hash(target.prev_hash or "", target.model_dump() | {"actor": "U0MALLORY"})
    sql(
        url,
        "UPDATE audit_event SET actor = 'U0MALLORY', hash = :h WHERE id = :id",
        h=forged,
        id=target.id,
    )
    code, out = verify(monkeypatch, capsys, url)
    assert code == 4
    assert f"BROKEN at event id {after.id} (seq 3)" in out
    assert "not the hash of the event before it" in out


def test_verify_finds_a_deleted_event(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_some(store)
    events = store.events()
    sql(url, "DELETE FROM audit_event WHERE id = :id", id=events[1].id)
    code, out = verify(monkeypatch, capsys, url)
    assert code == 4
    assert f"BROKEN at event id {events[2].id} (seq 3): seq 2 missing" in out


def test_verify_finds_a_deleted_event_renumbered(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_some(store)
    events = store.events()
    sql(url, "DELETE FROM audit_event WHERE id = :id", id=events[1].id)
    for event in events[2:]:
        sql(url, "UPDATE audit_event SET seq = seq - 1 WHERE id = :id", id=event.id)
    sql(url, "UPDATE audit_chain SET seq = seq - 1")
    code, out = verify(monkeypatch, capsys, url)
    assert code == 4
    assert f"BROKEN at event id {events[2].id} (seq 2)" in out
    assert "deleted, changed or reordered" in out


def test_verify_finds_reordered_events(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_some(store)
    second, third = store.events()[1:3]
    sql(url, "UPDATE audit_event SET seq = -1 WHERE id = :id", id=second.id)
    sql(url, "UPDATE audit_event SET seq = 2 WHERE id = :id", id=third.id)
    sql(url, "UPDATE audit_event SET seq = 3 WHERE id = :id", id=second.id)
    code, out = verify(monkeypatch, capsys, url)
    assert code == 4
    assert f"BROKEN at event id {third.id} (seq 2)" in out
    assert "deleted, changed or reordered" in out


def test_verify_finds_events_deleted_at_the_end(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_some(store)
    sql(url, "DELETE FROM audit_event WHERE seq = 5")
    code, out = verify(monkeypatch, capsys, url)
    assert code == 4
    assert "chain head is at seq 5 but the last event is seq 4" in out


def test_concurrent_writers_build_one_chain(url: str) -> None:
    """Writers and sealers on several engines (as on several replicas), all at once."""
    migrate(url)
    stores = [Store(url) for _ in range(6)]
    start = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def write(store: Store, n: int) -> None:
        try:
            start.wait()
            for i in range(40):
                if i % 2:
                    store.record("admin", {"writer": n, "i": i}, actor=f"U{n}")
                else:
                    store.create_run(Run(action_id="a", user_id=f"U{n}"), {"writer": n, "i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def seal(store: Store) -> None:
        try:
            start.wait()
            while any(t.is_alive() for t in threads):
                store.seal(7)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s, n)) for n, s in enumerate(stores[:4])]
    sealers = [threading.Thread(target=seal, args=(s,)) for s in stores[4:]]
    for thread in threads + sealers:
        thread.start()
    for thread in threads + sealers:
        thread.join(timeout=120)
    assert not errors
    stores[0].seal_all()
    events = stores[0].events()
    assert len(events) == 160
    assert_chained(events)
    for store in stores:
        store.close()


def test_migration_backfills_existing_events_in_order(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0006")
    at = utcnow() - timedelta(days=3)
    for n in range(7):  # written by a bot without the chain
        sql(
            url,
            "INSERT INTO audit_event (run_id, action_id, kind, actor, at, detail) "
            "VALUES (NULL, 'deploy', :kind, 'U0', :at, :detail)",
            kind=f"k{n}",
            at=at + timedelta(seconds=n),
            detail=json.dumps({"n": n, "é": "ü"}),
        )
    migrate(url)
    store = Store(url)
    store.record("admin", {"after": "migration"})
    store.seal_all()
    events = store.events()
    assert [e.kind for e in events] == [f"k{n}" for n in range(7)] + ["admin"]
    assert_chained(events)
    store.close()
    code, out = verify(monkeypatch, capsys, url)
    assert code == 0 and "intact: 8 events" in out


def test_retention_cut_is_recorded_and_verify_starts_there(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    long_ago = utcnow() - timedelta(days=400)
    old = Run(action_id="deploy", user_id="U0DEV", created_at=long_ago)
    with store.session() as session:
        session.add(old)
        session.flush()
        for n in range(3):
            session.add(AuditEvent(run_id=old.id, kind=f"old{n}", at=long_ago, detail={}))
        session.add(AuditEvent(kind="admin", at=long_ago, detail={"old": True}))
        session.commit()
    store.seal_all()
    cut = store.events()[-1]
    kept = write_some(store)
    removed = store.purge(utcnow() - timedelta(days=365))
    assert removed == 5  # four events and the run they leave without events
    assert store.get_run(old.id) is None and store.get_run(kept.id) is not None
    checkpoint = store.events(kind="audit_checkpoint")[0]
    assert checkpoint.detail["seq"] == 4 and checkpoint.detail["hash"] == cut.hash
    assert [e.seq for e in store.events()] == [5, 6, 7, 8, 9, 10]
    code, out = verify(monkeypatch, capsys, url)
    assert code == 0, out
    assert "intact: 6 events, seq 5..10, from the retention checkpoint" in out

    sql(url, "DELETE FROM audit_event WHERE id = :id", id=checkpoint.id)
    sql(url, "UPDATE audit_chain SET seq = 9, hash = :h", h=store.events()[-1].hash)
    code, out = verify(monkeypatch, capsys, url)
    assert code == 4 and "no retention checkpoint records that cut" in out


def test_retention_twice_keeps_the_chain_verifiable(
    store: Store, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    now = utcnow()
    with store.session() as session:
        for days in (30, 20, 10):
            session.add(AuditEvent(kind="admin", at=now - timedelta(days=days), detail={}))
        session.commit()
    assert store.purge(now - timedelta(days=25)) == 1
    assert store.purge(now - timedelta(days=25)) == 0  # nothing new to cut: no checkpoint
    assert store.purge(now - timedelta(days=15)) == 1
    assert [e.kind for e in store.events()] == ["admin", "audit_checkpoint", "audit_checkpoint"]
    code, out = verify(monkeypatch, capsys, url)
    assert code == 0 and "intact: 3 events, seq 3..5" in out, out


# --- signed exports -------------------------------------------------------------------


def keygen(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    assert main(["audit", "keygen"]) == 0
    out = capsys.readouterr().out
    private = out.split("AUDIT_SIGNING_KEY=")[1].split()[0]
    public = out.split("public key (for `audit verify-export --public-key`): ")[1].split()[0]
    return private, public


def test_signed_export_verifies_offline_and_tampering_fails(
    store: Store,
    url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = write_some(store)
    store.record(
        "webhook_request", {"headers": {"Authorization": f"Bearer {SECRET}"}}, run_id=run.id
    )
    private, public = keygen(capsys)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("AUDIT_SIGNING_KEY", private)
    monkeypatch.setenv("ACTIONS_SECRET_TRACKER_TOKEN", SECRET)
    out = tmp_path / "audit.jsonl"
    assert main(["audit", "export", "--since", "1d", "--output", str(out)]) == 0
    manifest_path = tmp_path / "audit.jsonl.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    events = store.events()
    assert (
        manifest["events"] == 6
        and manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    )
    assert (manifest["first_hash"], manifest["last_hash"]) == (events[0].hash, events[-1].hash)
    assert SECRET not in out.read_text() and SECRET not in manifest_path.read_text()
    assert private not in out.read_text() + manifest_path.read_text()
    capsys.readouterr()

    def check(file: Path, manifest: Path, key: str = public) -> tuple[int, str]:
        code = main(["audit", "verify-export", str(file), str(manifest), "--public-key", key])
        return code, capsys.readouterr().out

    code, said = check(out, manifest_path)
    assert code == 0 and "verified: 6 events" in said

    tampered = tmp_path / "tampered.jsonl"
    tampered.write_bytes(out.read_bytes().replace(b"U0ADMIN", b"U0ADMIM"))
    code, said = check(tampered, manifest_path)
    assert code == 4 and "the file was changed" in said

    # Someone re-computes the SHA-256 into the manifest: the signature no longer holds.
    forged = dict(manifest, sha256=hashlib.sha256(tampered.read_bytes()).hexdigest())
    forged_path = tmp_path / "forged.json"
    forged_path.write_text(json.dumps(forged))
    code, said = check(tampered, forged_path)
    assert code == 4 and "signature does not verify" in said

    # ...or signs it with their own key and names that key in the manifest: the key we
    # trust is the one given on the command line, not the manifest's.
    monkeypatch.setenv("AUDIT_SIGNING_KEY", keygen(capsys)[0])
    assert main(["audit", "export", "--since", "1d", "--output", str(tampered)]) == 0
    code, said = check(tampered, Path(f"{tampered}.manifest.json"))
    assert code == 4 and "signature does not verify" in said


def test_export_manifest_needs_a_key(
    store: Store,
    url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("AUDIT_SIGNING_KEY", raising=False)
    assert main(["audit", "export", "--output", str(tmp_path / "a.jsonl")]) == 2
    assert "AUDIT_SIGNING_KEY is not set" in capsys.readouterr().err
    monkeypatch.setenv("AUDIT_SIGNING_KEY", "not-a-key")
    assert main(["audit", "export", "--output", str(tmp_path / "a.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "python -m bot audit keygen" in err and "not-a-key" not in err
