"""Environment settings, and what an operator sees when one is wrong."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError, load_settings
from tests import samples
from tests.support import run_bot

ROOT = Path(__file__).resolve().parents[2]
GOOD_WEBHOOK_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name in Settings.model_fields or name.startswith("ACTIONS_SECRET_"):
            monkeypatch.delenv(name)


def error_for(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    return str(caught.value)


def test_defaults() -> None:
    settings = load_settings()

    assert settings.SLACK_API_URL == "https://slack.com/api/"
    assert settings.DATABASE_URL == "sqlite:///actions.db"
    assert settings.ACTIONS_CONFIG == "actions.yml"
    assert settings.WEBHOOK_HEADER_PREFIX == "X-Actions"
    assert settings.PORT == 3000
    assert settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS is False
    assert settings.LOG_LEVEL == "INFO"
    assert settings.RUN_RATE_LIMIT == "30/m"
    assert settings.SLACK_BOT_TOKEN == ""
    assert settings.WEBHOOK_SIGNING_SECRET == ""
    assert settings.socket_mode is False
    assert settings.template_secrets == {}
    assert settings.secret_values() == []


def test_values_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "8080")
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9999/api")
    monkeypatch.setenv("WEBHOOK_SIGNING_SECRET", GOOD_WEBHOOK_SECRET)
    monkeypatch.setenv("WEBHOOK_HEADER_PREFIX", "X-OpsLevel")
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot@db:5432/actions")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")

    settings = load_settings()

    assert settings.PORT == 8080
    assert settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS is True
    assert settings.SLACK_API_URL == "http://127.0.0.1:9999/api/"  # a trailing slash is added
    assert settings.WEBHOOK_SIGNING_SECRET == GOOD_WEBHOOK_SECRET
    assert settings.WEBHOOK_HEADER_PREFIX == "X-OpsLevel"
    assert settings.LOG_LEVEL == "DEBUG"
    assert settings.DATABASE_URL == "postgresql://bot@db:5432/actions"
    assert settings.socket_mode is True


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("PORT", "abc", "integer"),
        ("WEBHOOK_SIGNING_SECRET", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_"),
        ("WEBHOOK_SIGNING_SECRET", "whsec_not base64!!", "not valid base64"),
        ("WEBHOOK_SIGNING_SECRET", "whsec_" + base64.b64encode(b"k" * 16).decode(), "16 bytes"),
        ("LOG_LEVEL", "LOUD", "DEBUG"),
        ("SLACK_API_URL", "ftp://x", "http"),
        ("DATABASE_URL", "mysql://db/actions", "postgresql://"),
        ("WEBHOOK_HEADER_PREFIX", "X_Actions", "letters, digits and '-'"),
        ("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "maybe", "boolean"),
        ("RUN_RATE_LIMIT", "30/minute", "such as 30/m"),
    ],
    ids=[
        "port",
        "secret-without-prefix",
        "secret-bad-base64",
        "secret-too-short",
        "log-level",
        "api-url",
        "database-url",
        "header-prefix",
        "allow-private",
        "rate-limit",
    ],
)
def test_malformed_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, hint: str
) -> None:
    message = error_for(monkeypatch, name, value)

    assert message.startswith(f"{name}: ")
    assert hint in message
    assert "\n" not in message


def test_a_malformed_secret_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    value = "whsec_" + base64.b64encode(b"short-key-16byte").decode()
    assert value not in error_for(monkeypatch, "WEBHOOK_SIGNING_SECRET", value)


def test_header_prefix_must_be_ascii(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_HEADER_PREFIX", "X-Äctions")
    try:
        message = "accepted " + load_settings().WEBHOOK_HEADER_PREFIX
    except SettingsError as exc:
        message = str(exc)
    assert message.startswith("WEBHOOK_HEADER_PREFIX: ")


# --- require_slack --------------------------------------------------------------------


def test_require_slack_names_every_missing_token() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings().require_slack()

    message = str(caught.value)
    assert message.startswith("missing settings: ")
    for name in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "WEBHOOK_SIGNING_SECRET",
    ):
        assert name in message


def test_require_slack_names_only_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing")

    with pytest.raises(SettingsError) as caught:
        load_settings().require_slack()

    message = str(caught.value)
    assert "WEBHOOK_SIGNING_SECRET" in message
    assert "SLACK_BOT_TOKEN" not in message
    assert "SLACK_SIGNING_SECRET" not in message


def test_socket_mode_needs_no_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv("WEBHOOK_SIGNING_SECRET", GOOD_WEBHOOK_SECRET)

    load_settings().require_slack()


@pytest.mark.parametrize(
    ("name", "value"), [("SLACK_BOT_TOKEN", "xoxp-user"), ("SLACK_APP_TOKEN", "xoxb-bot")]
)
def test_require_slack_checks_token_kinds(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    monkeypatch.setenv("WEBHOOK_SIGNING_SECRET", GOOD_WEBHOOK_SECRET)
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError, match=f"^{name}: expected"):
        load_settings().require_slack()


# --- ACTIONS_SECRET_* -----------------------------------------------------------------


def test_template_secrets_are_collected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTIONS_SECRET_TRACKER_TOKEN", "t0k3n")
    monkeypatch.setenv("ACTIONS_SECRET_PAGER_DUTY", "pd")
    monkeypatch.setenv("ACTIONS_SECRET_EMPTY", "")
    monkeypatch.setenv("ACTIONS_SECRET_", "nameless")
    monkeypatch.setenv("NOT_ACTIONS_SECRET_X", "other")

    settings = load_settings()

    assert settings.template_secrets == {"TRACKER_TOKEN": "t0k3n", "PAGER_DUTY": "pd"}


def test_secret_values_list_everything_to_redact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "signing")
    monkeypatch.setenv("WEBHOOK_SIGNING_SECRET", GOOD_WEBHOOK_SECRET)
    monkeypatch.setenv("ACTIONS_SECRET_TRACKER_TOKEN", "t0k3n")

    assert sorted(load_settings().secret_values()) == sorted(
        ["xoxb-1", "signing", GOOD_WEBHOOK_SECRET, "t0k3n"]
    )


# --- python -m bot check --------------------------------------------------------------


def test_check_command_reports_config_errors(tmp_path: Path) -> None:
    config = tmp_path / "actions.yml"
    config.write_text(
        "teams: [{id: payments, name: Payments}]\n"
        "actions:\n"
        "  - id: a\n"
        "    name: A\n"
        "    owner: nope\n"
        "    webhook: {url: 'https://x.example.com', payload: '{{ manualInputs.titel }}'}\n",
        encoding="utf-8",
    )

    result = run_bot(tmp_path, "check", str(config))

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: {config} has 2 errors:",
        "  actions[0].owner: unknown team 'nope'",
        "  actions[0].webhook.payload: unknown variable manualInputs.titel",
    ]
    assert result.stdout == ""


def test_check_command_with_a_bad_setting(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "check", PORT="abc")

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: PORT: ")


def test_check_command_accepts_a_good_config_and_warns_about_unset_secrets(
    tmp_path: Path,
) -> None:
    (tmp_path / "actions.yml").write_text(samples.ISSUE_YAML, encoding="utf-8")

    result = run_bot(tmp_path, "check")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "actions.yml: ok (1 actions, 1 services, 1 teams)"
    assert result.stderr.splitlines() == [
        "warning: secret 'TRACKER_TOKEN' is not set: define ACTIONS_SECRET_TRACKER_TOKEN "
        "(actions using it fail until it is)"
    ]
