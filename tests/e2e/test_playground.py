"""The playground: its Slack Web API, echo receiver and URL rewriting, without a browser
(the page in a browser: tests/browser/test_playground_page.py).

The browser tests are skipped only when /usr/bin/chromium is missing outside CI; under CI
(`CI` set) a missing browser fails them. `PLAYGROUND_SCREENSHOTS=1` also writes the
screenshots kept in docs/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import re
import time
import tomllib
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import templates
from bot.config import load_file
from bot.playground.config import BOT_TOKEN, rewrite_catalog
from bot.settings import Settings
from bot.testing.requests import sign as slack_signature
from bot.webhooks.delivery import build as build_request
from tests.conftest import free_port
from tests.support import ASYNC_CONFIG, Running, modal, serve

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples" / "actions.yml"
CHROMIUM = Path("/usr/bin/chromium")
DOCS = ROOT / "docs"
STATIC = ROOT / "bot" / "playground" / "static"


@pytest.fixture(scope="module")
def async_playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A second playground on its own SQLite file (its worker must not share a database)."""
    tmp = tmp_path_factory.mktemp("async-playground")
    port = free_port()
    config = tmp / "actions.yml"
    config.write_text(ASYNC_CONFIG.replace("{port}", str(port)))
    base = Settings(DATABASE_URL=f"sqlite:///{tmp / 'pg.db'}", ACTIONS_CONFIG=str(config))
    yield from serve(base, port)


# --------------------------------------------------------------------------------------------
# Without a browser: the pieces Slack's side is made of
# --------------------------------------------------------------------------------------------


def test_examples_point_at_the_echo_receiver_and_stay_templates() -> None:
    catalog = load_file(EXAMPLES).catalog
    rewritten, originals = rewrite_catalog(catalog, "http://127.0.0.1:3000")
    assert set(originals) == set(catalog.actions)
    for action in rewritten.actions.values():
        original = catalog.action(action.id).webhook.url
        assert originals[action.id] == original
        assert action.webhook.url.startswith(
            f"http://127.0.0.1:3000/playground/echo/{action.id}?to="
        )
        problems, _ = templates.check(action.webhook.url, action, response=False)
        assert problems == [], (action.id, problems)
    # A templated URL renders to the echo receiver, carrying the rendered original.
    action = rewritten.action("rollback-last-deploy")
    context = templates.request_context(
        catalog=rewritten,
        action=action,
        user={"id": "U0DEV"},
        inputs={},
        service=rewritten.service("checkout-api"),
        run_id="r1",
    )
    import asyncio

    url = asyncio.run(templates.render(action.webhook.url, context, {}))
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query["to"] == ["https://deploy.example.com/api/v1/apps/checkout-api/rollbacks"]
    # A URL that already targets the playground is left alone.
    again, originals = rewrite_catalog(rewritten, "http://127.0.0.1:3000")
    assert originals == {} and again.action(action.id).webhook.url == action.webhook.url


def test_playground_settings_and_stand_in_secrets(playground: Running) -> None:
    settings = playground.pg.settings
    assert settings.SLACK_BOT_TOKEN == BOT_TOKEN
    assert f"{playground.url}/api/" == settings.SLACK_API_URL
    assert playground.url == settings.PUBLIC_URL
    assert settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS is True
    assert settings.WEBHOOK_SIGNING_SECRET.startswith("whsec_")
    secrets = settings.template_secrets
    assert secrets["DEPLOY_API_TOKEN"] == "playground-stand-in-for-DEPLOY_API_TOKEN"
    assert set(playground.pg.stand_ins) >= {"DEPLOY_API_TOKEN", "PAGERDUTY_ROUTING_KEY"}
    info = playground.http.get("/playground/info").json()
    assert info["originals"]["create-jira-ticket"].startswith("https://yourcompany.atlassian")


def test_web_api_answers_like_slack(playground: Running) -> None:
    api = WebClient(token=BOT_TOKEN, base_url=f"{playground.url}/api/")
    assert api.auth_test()["user_id"] == "U0ACTIONS"
    with pytest.raises(SlackApiError) as refused:
        WebClient(token="xoxb-wrong", base_url=f"{playground.url}/api/").auth_test()
    assert refused.value.response["error"] == "invalid_auth"

    posted = api.chat_postMessage(channel="C0CHAN", text="parent")
    reply = api.chat_postMessage(channel="C0CHAN", text="reply", thread_ts=posted["ts"])
    api.chat_update(channel="C0CHAN", ts=posted["ts"], text="parent, edited")
    link = api.chat_getPermalink(channel="C0CHAN", message_ts=reply["ts"])["permalink"]
    assert link.startswith(f"{playground.url}/#/archives/C0CHAN/p") and "thread_ts=" in link
    messages = {m["ts"]: m for m in playground.state()["messages"]["C0CHAN"]}
    assert messages[posted["ts"]]["reply_count"] == 1
    assert messages[posted["ts"]]["text"] == "parent, edited" and messages[posted["ts"]]["edited"]
    assert messages[reply["ts"]]["thread_ts"] == posted["ts"]
    dm = api.chat_postMessage(channel="U0DEV", text="to your DM")
    assert dm["channel"] == "D0DEV"
    api.chat_postEphemeral(channel="C0CHAN", user="U0DEV", text="just for you")
    assert playground.state()["ephemerals"][-1]["text"] == "just for you"
    assert all(e["text"] != "just for you" for e in playground.state("U0ADMIN")["ephemerals"])

    for call, error in [
        (lambda: api.chat_postMessage(channel="C0NOPE", text="x"), "channel_not_found"),
        (
            lambda: api.chat_postMessage(
                channel="C0CHAN",
                text="too long a header",
                blocks=[{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
            ),
            "invalid_blocks",
        ),
        (lambda: api.views_open(trigger_id="1.2.3", view=modal("X")), "invalid_trigger_id"),
        (lambda: api.usergroups_users_list(usergroup="S0NOPE"), "no_such_subteam"),
        (lambda: api.users_info(user="U0NOPE"), "user_not_found"),
    ]:
        with pytest.raises(SlackApiError) as failed:
            call()
        assert failed.value.response["error"] == error
    assert api.usergroups_users_list(usergroup="S0SRELEADS")["users"] == []
    assert api.users_info(user="U0ADMIN")["user"]["profile"]["email"] == "ada@example.com"
    assert api.conversations_info(channel="C0SRE")["channel"]["name"] == "sre"

    # Modals: open, push (a stack), update with the hash, or refuse a stale hash.
    ws = playground.pg.workspace
    opened = api.views_open(trigger_id=ws.trigger("U0ADMIN"), view=modal("First"))["view"]
    pushed = api.views_push(trigger_id=ws.trigger("U0ADMIN"), view=modal("Second"))["view"]
    stack = playground.state("U0ADMIN")["modals"]
    assert [m["view"]["id"] for m in stack] == [opened["id"], pushed["id"]]
    with pytest.raises(SlackApiError) as stale:
        api.views_update(view_id=pushed["id"], hash="stale", view=modal("Third"))
    assert stale.value.response["error"] == "hash_conflict"
    api.views_update(view_id=pushed["id"], hash=pushed["hash"], view=modal("Third"))
    top = playground.state("U0ADMIN")["modals"][-1]["view"]
    assert top["title"]["text"] == "Third" and top["id"] == pushed["id"]
    with pytest.raises(SlackApiError) as long_title:
        api.views_open(trigger_id=ws.trigger("U0ADMIN"), view=modal("T" * 25))
    assert long_title.value.response["error"] == "invalid_arguments"
    playground.http.post("/playground/close", json={"user": "U0ADMIN", "view_id": top["id"]})
    assert playground.state("U0ADMIN")["modals"] == []
    # files_upload_v2: upload URL, the bytes, completion with a message carrying the file.
    dm_channel = api.conversations_open(users="U0ADMIN")["channel"]["id"]
    uploaded = api.files_upload_v2(
        channel=dm_channel, content="a,b\n1,2\n", filename="audit.csv", initial_comment="Here"
    )
    shared = playground.state("U0ADMIN")["messages"][dm_channel][-1]
    assert shared["text"] == "Here" and shared["files"][0]["name"] == "audit.csv"
    download = playground.http.get(f"/playground/files/{uploaded['file']['id']}")
    assert download.content == b"a,b\n1,2\n"
    home = api.views_publish(user_id="U0OWNER", view={"type": "home", "blocks": []})["view"]
    assert playground.state("U0OWNER")["home"]["id"] == home["id"]

    # Every call was recorded for the page, the token never.
    log = playground.slack_log()
    methods = {e["method"] for e in log if e["kind"] == "api"}
    assert {"chat.postMessage", "views.push", "views.update", "views.publish"} <= methods
    assert BOT_TOKEN not in json.dumps(log)


def test_echo_receiver_verifies_and_echoes(playground: Running) -> None:
    secret = playground.pg.settings.WEBHOOK_SIGNING_SECRET
    body = b'{"title": "Disk full", "dedup_key": "d1"}'
    request = build_request(
        method="POST",
        url="",
        # The headers create-jira-ticket configures: the signature covers exactly those.
        configured={
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Authorization": "Basic stand-in",
        },
        body=body,
        secret=secret,
        prefix="X-Actions",
        run_id="run-1",
    )
    answer = playground.http.post(
        "/playground/echo/create-jira-ticket",
        params={"to": "https://t.example.com/x"},
        headers=request.headers,
        content=body,
    )
    assert answer.status_code == 200
    echoed = answer.json()
    assert echoed["title"] == "Disk full" and echoed["dedup_key"] == "d1"  # sent fields win
    assert echoed["key"].startswith("PLAY-") and echoed["html_url"].startswith("https://")
    assert isinstance(echoed["number"], int)
    assert echoed["echo"]["to"] == "https://t.example.com/x"
    assert echoed["echo"]["signatures"] == {
        "X-Actions-Signature": "valid",
        "webhook-signature": "valid",
    }
    forged = {**request.headers, "X-Actions-Signature": "sha256=00"}
    answer = playground.http.post("/playground/echo/x", headers=forged, content=body)
    assert answer.json()["echo"]["signatures"]["X-Actions-Signature"] == "invalid"

    assert playground.http.post("/playground/echo/fail", content=b"{}").status_code == 500
    assert playground.http.post("/playground/echo/x?mode=fail").status_code == 500
    started = time.perf_counter()
    assert playground.http.post("/playground/echo/slow?seconds=0.3").status_code == 200
    assert time.perf_counter() - started >= 0.3
    assert playground.http.post("/playground/echo/async").status_code == 202


def press_run(running: Running, user: str, action_id: str) -> dict[str, Any] | None:
    """Type /actions and press an action's Run button, as the page does.

    Returns the form that opened; None for a one-click action (no inputs: no form).
    """
    state = running.state(user)
    before = len(state["ephemerals"])
    query = action_id.replace("-", " ")
    running.http.post(
        "/playground/command",
        json={"user": user, "channel": "C0CHAN", "text": f"/actions {query}"},
    )
    state = running.until(lambda s: len(s["ephemerals"]) > before and s, user)
    message = state["ephemerals"][-1]
    block = next(b for b in message["blocks"] if b.get("block_id") == f"card:{action_id}")
    button = block["accessory"]
    running.http.post(
        "/playground/action",
        json={
            "user": user,
            "source": {
                "type": "message",
                "channel": "C0CHAN",
                "ts": message["ts"],
                "ephemeral": True,
            },
            "action": {**button, "block_id": block["block_id"]},
        },
    )
    if button["action_id"] == "run_now":
        return None
    return running.until(lambda s: s["modals"] and s["modals"][-1]["view"], user)


def test_async_receiver_calls_back_through_the_protocol(async_playground: Running) -> None:
    running = async_playground
    assert press_run(running, "U0DEV", "async-job") is None  # one click: no form
    runs = running.until(
        lambda s: [
            r for r in s["runs"] if r["action_id"] == "async-job" and r["status"] == "SUCCESS"
        ],
        timeout=15,
    )
    kinds = [e["kind"] for e in running.run_detail(runs[0]["id"])["events"]]
    assert kinds.count("callback") == 2 and "accepted" in kinds
    thread = running.until(
        lambda s: [
            m
            for m in s["messages"]["C0CHAN"]
            if m["ts"] != m.get("thread_ts")
            and m.get("thread_ts")
            and "Finished: PLAY-" in json.dumps(m["blocks"])
        ]
    )
    assert thread


def test_failing_receiver_reports_in_the_thread(async_playground: Running) -> None:
    running = async_playground
    assert press_run(running, "U0DEV", "failing") is None
    runs = running.until(
        lambda s: [r for r in s["runs"] if r["action_id"] == "failing" and r["status"] == "FAILURE"]
    )
    events = {e["kind"]: e["detail"] for e in running.run_detail(runs[0]["id"])["events"]}
    assert events["webhook_response"]["status"] == 500


def test_page_requests_are_signed_like_slack(playground: Running) -> None:
    # The bot verifies Slack's signature: a request signed with another secret is refused.
    body = b"command=%2Factions&user_id=U0DEV&channel_id=C0CHAN"
    stamp = str(int(time.time()))
    wrong = slack_signature("not-the-secret", stamp, body)
    refused = playground.http.post(
        "/slack/events",
        content=body,
        headers={
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": wrong,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert refused.status_code == 401
    expected = (
        "v0="
        + hmac.new(
            playground.pg.settings.SLACK_SIGNING_SECRET.encode(),
            f"v0:{stamp}:".encode() + body,
            hashlib.sha256,
        ).hexdigest()
    )
    assert slack_signature(playground.pg.settings.SLACK_SIGNING_SECRET, stamp, body) == expected


def test_plain_python_m_bot_starts_the_playground_without_tokens(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bot.playground
    from bot.__main__ import main

    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    started: list[dict[str, Any]] = []
    monkeypatch.setattr(bot.playground, "serve", lambda settings, **kw: started.append(kw) or 0)
    assert main([]) == 0
    assert started == [{"host": "127.0.0.1", "echo": True}]
    out = capsys.readouterr().out
    assert "starting the playground" in out and "SLACK_BOT_TOKEN" in out
    assert main(["playground", "--no-echo"]) == 0 and started[-1]["echo"] is False
    assert main(["serve"]) == 2  # asked for explicitly: still a clear error


def test_page_modules_are_served_as_javascript(
    playground: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A browser runs a module script only when it is served as JavaScript, and some systems'
    # MIME tables map .js to text/plain.
    monkeypatch.setitem(mimetypes.types_map, ".js", "text/plain")
    page = playground.http.get("/").text
    entry = re.search(r'<script type="module" src="(/playground/static/js/[\w-]+\.js)"', page)
    assert entry, "the page loads its code as an ES module"
    pending, seen = [entry.group(1)], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        response = playground.http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/javascript"), path
        for name in re.findall(r'^import .* from "\./([\w-]+\.js)";$', response.text, re.M):
            pending.append(f"/playground/static/js/{name}")
    on_disk = {f"/playground/static/js/{p.name}" for p in (STATIC / "js").glob("*.js")}
    assert seen == on_disk  # every module is reached from the page, and every import exists


def test_package_data_ships_every_static_file() -> None:
    # setuptools ships the files pyproject's package-data globs match; the page's modules
    # live in a subfolder of static/.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot.playground"]
    package = STATIC.parent
    shipped = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    on_disk = {p for p in STATIC.rglob("*") if p.is_file()}
    assert (STATIC / "js" / "main.js") in on_disk
    assert on_disk <= shipped, sorted(str(p.relative_to(package)) for p in on_disk - shipped)


# --------------------------------------------------------------------------------------------
# In a real browser
# --------------------------------------------------------------------------------------------
