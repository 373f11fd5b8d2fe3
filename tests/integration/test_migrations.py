"""Migrations from several replicas at once: one at a time, none fails."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.support import ROOT, clean_environ


def test_replicas_migrating_one_new_sqlite_file_together_all_succeed(tmp_path: Path) -> None:
    # Without the lock, two of four processes die on "table … already exists".
    database = tmp_path / "shared.db"
    env = {
        **clean_environ(),
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{database}",
        "SLACK_BOT_TOKEN": "xoxb-migrate",
        "SLACK_SIGNING_SECRET": "migrate",
    }
    replicas = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "migrate"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [replica.communicate(timeout=120)[0] for replica in replicas]
    assert [r.returncode for r in replicas] == [0, 0, 0, 0], "\n\n".join(outputs)
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        heads = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    assert len(heads) == 1
