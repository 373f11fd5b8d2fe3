"""Rotating the webhook signing secret: sign with both while receivers move over."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx

from tests.conftest import CONFIG, WEBHOOK_SECRET, start_bot
from tests.fakes import verify_opslevel_style, verify_standard

NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()


def test_both_secrets_verify_during_rotation(tmp_path: Path, secrets_env: None) -> None:
    for bot in start_bot(tmp_path, CONFIG, WEBHOOK_SIGNING_SECRET=f"{NEW} {WEBHOOK_SECRET}"):
        bot.submit(bot.open_form("create-ticket"), {"title": "t"})
        request = bot.receiver.wait(1)[0]
        assert len(request.headers["webhook-signature"].split()) == 2
        verify_standard(NEW, request.headers, request.body)  # receivers already moved
        verify_standard(WEBHOOK_SECRET, request.headers, request.body)  # and not yet
        verify_opslevel_style(
            NEW, request.headers, request.body, signed_headers=["Content-Type", "Authorization"]
        )
        bot.slack.wait_for("chat.update")
        run = bot.store.runs()[0]
        assert json.dumps(bot.store.events(run.id)[1].detail).count("[REDACTED]") >= 1
        response = httpx.post(
            f"{bot.url}/runs/{run.id}/callback",
            json={"status": "success"},
            headers={"Authorization": "Bearer nope"},
            trust_env=False,
        )
        assert response.status_code == 401
