"""`/metrics` behind a bearer token (METRICS_TOKEN) or on its own port (METRICS_PORT)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.settings import Settings, SettingsError, load_settings
from tests.conftest import CONFIG, Bot, database_url, free_port, start_bot
from tests.fakes import FakeSlack
from tests.support import BotProcess

METRICS_TOKEN = "metrics-scrape-token-7f3a"


@pytest.fixture
def bot(tmp_path: Path, secrets_env: None) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG, METRICS_TOKEN=METRICS_TOKEN)


def scrape(url: str, authorization: str | None = None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.get(f"{url}/metrics", headers=headers, trust_env=False)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x"],
)
def test_metrics_token_is_required(bot: Bot, authorization: str | None) -> None:
    refused = scrape(bot.url, authorization)
    assert refused.status_code == 401
    assert "METRICS_TOKEN" in refused.text and "actions_" not in refused.text
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_metrics_with_the_token(bot: Bot) -> None:
    for authorization in (f"Bearer {METRICS_TOKEN}", f"bearer  {METRICS_TOKEN}"):
        page = scrape(bot.url, authorization)
        assert page.status_code == 200 and "actions_queue_depth" in page.text
    # A non-ASCII header is a refusal too, not an error.
    weird = httpx.get(
        f"{bot.url}/metrics", headers=[(b"Authorization", "Bearer é".encode("latin-1"))]
    )
    assert weird.status_code == 401
    # The other routes don't need it.
    assert httpx.get(f"{bot.url}/healthz", trust_env=False).status_code == 200


def test_metrics_token_never_reaches_logs() -> None:
    assert METRICS_TOKEN in Settings(METRICS_TOKEN=METRICS_TOKEN).secret_values()


def test_metrics_port_must_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "3000")
    monkeypatch.setenv("METRICS_PORT", "3000")
    with pytest.raises(SettingsError, match="METRICS_PORT must differ"):
        load_settings()


def test_metrics_on_their_own_port(tmp_path: Path) -> None:
    metrics_port = free_port()
    config = tmp_path / "actions.yml"
    config.write_text(CONFIG.replace("{receiver}", "https://hooks.example.com"))
    with FakeSlack() as slack:
        bot = BotProcess(
            database_url(tmp_path),
            config,
            slack,
            {"METRICS_PORT": str(metrics_port), "METRICS_TOKEN": METRICS_TOKEN},
        )
        try:
            main = f"http://127.0.0.1:{bot.port}"
            assert scrape(main, f"Bearer {METRICS_TOKEN}").status_code == 404
            alone = f"http://127.0.0.1:{metrics_port}"
            assert scrape(alone).status_code == 401
            page = scrape(alone, f"Bearer {METRICS_TOKEN}")
            assert page.status_code == 200 and "actions_queue_depth" in page.text
            assert httpx.get(f"{alone}/healthz", trust_env=False).status_code == 404
        finally:
            output = bot.stop()
        assert "Traceback" not in output, output  # both servers stopped cleanly
