"""The playground: its Slack Web API, echo receiver and URL rewriting, and the page itself
driven in a real browser (Debian's Chromium through Playwright, no browser download).

The browser tests are skipped only when /usr/bin/chromium is missing outside CI; under CI
(`CI` set) a missing browser fails them. `PLAYGROUND_SCREENSHOTS=1` also writes the
screenshots kept in docs/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import mimetypes
import os
import re
import time
import tomllib
import urllib.parse
from collections.abc import Callable, Iterator
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
from bot.testing.requests import values_for
from bot.webhooks.delivery import build as build_request
from tests.conftest import free_port
from tests.support import ASYNC_CONFIG, Running, modal, serve

ROOT = Path(__file__).parents[1]
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
    # A CI backend is not a webhook: it runs on GitHub (or the playground's fake of it).
    hooked = {a.id for a in catalog.actions.values() if a.webhook is not None}
    assert hooked <= set(originals) and hooked != set(catalog.actions)
    # The expiry's revert goes to the echo receiver too.
    grant = rewritten.action("request-escalated-access")
    assert grant.expires is not None
    assert grant.expires.webhook.url.startswith(
        "http://127.0.0.1:3000/playground/echo/request-escalated-access?to="
    )
    assert originals["request-escalated-access expires.webhook"].startswith("https://")
    for action in rewritten.actions.values():
        if action.webhook is None:
            assert action == catalog.action(action.id)
            continue
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


def test_example_github_rollback_runs_on_the_built_in_fake_github(playground: Running) -> None:
    github = playground.pg.github
    assert github is not None and github.url == playground.pg.settings.GITHUB_API_URL
    view = press_run(playground, "U0DEV", "rollback-with-github-actions")
    assert view is not None
    answers = {"service": "checkout-api", "version": "v2.14.1", "reason": "errors after deploy"}
    values = values_for(view, answers)
    playground.http.post(
        "/playground/submit", json={"user": "U0DEV", "view_id": view["id"], "values": values}
    )
    runs = playground.until(
        lambda s: [
            r
            for r in s["runs"]
            if r["action_id"] == "rollback-with-github-actions" and r["status"] == "SUCCESS"
        ],
        timeout=30,
    )
    (dispatch,) = github.called("POST", "/repos/acme/checkout-api/actions/workflows/rollback.yml")
    assert dispatch["body"]["inputs"] == {
        "service": "checkout-api",
        "version": "v2.14.1",
        "reason": "errors after deploy",
    }
    kinds = [e["kind"] for e in playground.run_detail(runs[0]["id"])["events"]]
    assert "ci_request" in kinds and "ci_completed" in kinds
    # The form became the result; close it, as the page would, for the tests that follow.
    open_view = playground.state()["modals"][-1]["view"]["id"]
    closed = playground.http.post(
        "/playground/close", json={"user": "U0DEV", "view_id": open_view, "all": True}
    )
    assert closed.json()["ok"] is True and playground.state()["modals"] == []
    assert playground.until(
        lambda s: [
            m
            for m in s["messages"]["C0CHAN"]
            if "Checkout API is back on" in json.dumps(m.get("blocks") or [])
        ]
    )


def test_every_url_of_an_action_goes_to_the_echo_receiver(async_playground: Running) -> None:
    """Remote options and the revert of a time-limited grant stay in the playground too."""
    running = async_playground
    echo = f"{running.url}/playground/echo/grant?"
    form = press_run(running, "U0DEV", "grant")
    assert form is not None
    # The type-ahead asks the bot, which asks the options URL: the echo receiver answers.
    block = next(b for b in form["blocks"] if b.get("block_id") == "input:role")
    suggested = running.http.post(
        "/playground/suggest",
        json={
            "user": "U0DEV",
            "source": {"type": "view", "view_id": form["id"]},
            "action_id": block["element"]["action_id"],
            "block_id": "input:role",
            "value": "",
        },
    ).json()
    assert "Playground option 1" in json.dumps(suggested)
    values = {
        "input:role": {
            "role": {
                "type": "external_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "Playground option 2"},
                    "value": "playground-2",
                },
            }
        }
    }
    answer = running.http.post(
        "/playground/submit", json={"user": "U0DEV", "view_id": form["id"], "values": values}
    ).json()
    assert answer["ok"], answer
    granted = running.until(
        lambda s: [r for r in s["runs"] if r["action_id"] == "grant" and r["status"] == "SUCCESS"]
    )[0]
    sent = [
        e for e in running.run_detail(granted["id"])["events"] if e["kind"] == "webhook_request"
    ]
    assert sent[0]["detail"]["url"].startswith(echo)
    # Revoke now: the revert goes to the echo receiver, carrying its original URL.
    message = running.until(
        lambda s: next(
            (m for m in s["messages"]["C0CHAN"] if "revoke_now" in json.dumps(m.get("blocks"))),
            None,
        )
    )
    button = next(
        dict(e, block_id=b["block_id"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "revoke_now"
    )
    running.http.post(
        "/playground/action",
        json={
            "user": "U0DEV",
            "source": {"type": "message", "channel": "C0CHAN", "ts": message["ts"]},
            "action": button,
        },
    )
    revert = running.until(
        lambda s: [
            r
            for r in s["runs"]
            if r["action_id"] == "grant" and r["id"] != granted["id"] and r["status"] == "SUCCESS"
        ],
        timeout=15,
    )[0]
    sent = [e for e in running.run_detail(revert["id"])["events"] if e["kind"] == "webhook_request"]
    url = sent[0]["detail"]["url"]
    assert url.startswith(echo), url
    original = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["to"][0]
    assert original == f"https://access.example.com/grants/{granted['id']}"
    info = running.http.get("/playground/info").json()["originals"]
    assert info["grant expires.webhook"] == "https://access.example.com/grants/{{ run.parent_id }}"
    assert info["grant inputs[0].values_from"].startswith("https://access.example.com/roles")


def submit_form(running: Running, user: str, form: dict[str, Any], answers: dict[str, Any]) -> None:
    values = values_for(form, answers, use_initial=True)
    answer = running.http.post(
        "/playground/submit", json={"user": user, "view_id": form["id"], "values": values}
    ).json()
    assert answer["ok"], answer
    # The form became a notice; close it, as the person would, so the page is clear again.
    top = running.until(lambda s: s["modals"] and s["modals"][-1]["view"]["id"], user)
    closed = running.http.post(
        "/playground/close", json={"user": user, "view_id": top, "all": True}
    ).json()
    assert closed["ok"], closed


def click_in(
    running: Running, user: str, channel: str, action_id: str, has: str = ""
) -> dict[str, Any]:
    """Press the newest button ``action_id`` in a channel (or DM) as ``user``, in a message
    that mentions ``has``."""

    def found(state: dict[str, Any]) -> Any:
        for message in reversed(state["messages"].get(channel, [])):
            if has not in json.dumps(message):
                continue
            for block in message.get("blocks") or []:
                for element in block.get("elements") or []:
                    if isinstance(element, dict) and element.get("action_id") == action_id:
                        return message, {**element, "block_id": block.get("block_id")}
        return None

    message, button = running.until(found, user, timeout=30)
    running.http.post(
        "/playground/action",
        json={
            "user": user,
            "source": {"type": "message", "channel": channel, "ts": message["ts"]},
            "action": button,
        },
    )
    return message


def finished(running: Running, action_id: str, status: str = "SUCCESS") -> dict[str, Any]:
    return running.until(
        lambda s: next(
            (r for r in s["runs"] if r["action_id"] == action_id and r["status"] == status), None
        ),
        timeout=20,
    )


def test_tour_async_pipeline_reports_progress_through_the_echo(playground: Running) -> None:
    form = press_run(playground, "U0DEV", "run-ci-pipeline")
    assert form is not None
    submit_form(playground, "U0DEV", form, {"service": "checkout-api"})
    run = finished(playground, "run-ci-pipeline")
    kinds = [e["kind"] for e in playground.run_detail(run["id"])["events"]]
    assert "accepted" in kinds and kinds.count("callback") == 2  # running, then success


def test_tour_admin_access_waits_for_the_sre_approval(playground: Running) -> None:
    form = press_run(playground, "U0DEV", "request-escalated-access")
    assert form is not None
    submit_form(
        playground,
        "U0DEV",
        form,
        {
            "input:role": "prod-k8s-operator",
            "input:justification": "INC-2291 checking the stuck payout workers",
        },
    )
    finished(playground, "request-escalated-access", "PENDING_APPROVAL")
    # The SRE team (Ada) is asked in a DM, and approves there.
    click_in(playground, "U0ADMIN", "D0ADMIN", "approve_run", "checking the stuck payout")
    run = finished(playground, "request-escalated-access")
    sent = [e for e in playground.run_detail(run["id"])["events"] if e["kind"] == "approved"]
    assert sent and sent[0]["actor"] == "U0ADMIN"


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium to run these)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page_for(browser: Any, playground: Running) -> Iterator[Callable[[str], Any]]:
    """Open the page as a user; fail the test on any JavaScript error."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_page(user: str = "U0DEV") -> Any:
        context = browser.new_context(
            viewport={"width": 1600, "height": 1000}, timezone_id="UTC", locale="en-GB"
        )
        context.add_init_script(f"localStorage.setItem('playground.user', '{user}')")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{playground.url}/")
        page.wait_for_selector(f'body[data-user="{user}"]')
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == []


def type_command(page: Any, text: str) -> Any:
    """Type a slash command in the channel; return the ephemeral answer."""
    before = page.locator("#messages .message.ephemeral").count()
    page.fill("#composer", text)
    page.keyboard.press("Enter")
    answer = page.locator("#messages .message.ephemeral").nth(before)
    answer.wait_for()
    return answer


def card(page: Any, message: Any, action_id: str) -> Any:
    """A card in the catalog message, paging with Next until it shows."""
    for _ in range(5):
        found = message.locator(f'[data-block-id="card:{action_id}"]')
        if found.count():
            return found
        message.get_by_role("button", name="Next").click()
        page.wait_for_timeout(300)
    raise AssertionError(f"no card for {action_id}")


def shoot(page: Any, name: str) -> None:
    if os.environ.get("PLAYGROUND_SCREENSHOTS"):
        from playwright.sync_api import expect

        # A passing notice (they go after 9 s) is not part of the picture.
        expect(page.locator(".toast")).to_have_count(0, timeout=12_000)
        DOCS.mkdir(exist_ok=True)
        page.screenshot(path=str(DOCS / name))


def test_example_action_runs_end_to_end(
    page_for: Callable[[str], Any], playground: Running
) -> None:
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    catalog = type_command(page, "/actions")
    expect(catalog).to_contain_text("Only visible to you")
    card(page, catalog, "trigger-pagerduty-incident").get_by_role("button", name="Run").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Triggers a PagerDuty incident")
    dialog.get_by_label("Service").select_option("checkout-api")
    dialog.get_by_label("What is happening?").fill("Checkout returns 502 for card payments")
    dialog.get_by_label("Severity").select_option("critical")
    dialog.get_by_label("Details").fill("Since 14:05.\nGraphs: https://grafana.example.com/d/x")
    shoot(page, "playground-modal.png")
    dialog.get_by_role("button", name="Run").click()
    # The modal turns into the result (views.update), the channel gets the run's message.
    expect(dialog).to_contain_text("succeeded", timeout=15_000)
    dialog.get_by_role("button", name="Close", exact=True).click()
    status = page.locator("#messages .message", has_text="ran Page the on-call engineer").last
    expect(status).to_contain_text(":white_check_mark:")
    expect(status).to_contain_text("Checkout returns 502 for card payments")
    status.locator(".replies").click()
    thread = page.locator("#thread-pane")
    expect(thread).to_contain_text("On-call paged for Checkout API")
    expect(thread.locator("b", has_text="On-call paged for Checkout API")).to_be_visible()
    # The side panel: the exact request with both signatures, and the response.
    request = page.locator('#run-detail [data-kind="webhook_request"]')
    expect(request).to_contain_text("X-Actions-Signature")
    expect(request).to_contain_text("webhook-signature")
    expect(request).to_contain_text("Original URL: https://events.pagerduty.com/v2/enqueue")
    expect(request).to_contain_text('"routing_key": "[REDACTED]"')
    response = page.locator('#run-detail [data-kind="webhook_response"]')
    expect(response).to_contain_text("HTTP 200")
    expect(response).to_contain_text('"X-Actions-Signature": "valid"')
    expect(response).to_contain_text('"webhook-signature": "valid"')
    shoot(page, "playground-channel.png")
    run = next(
        r for r in playground.state()["runs"] if r["action_id"] == "trigger-pagerduty-incident"
    )
    assert run["status"] == "SUCCESS" and run["inputs"]["severity"] == "critical"


def test_validation_error_shows_inline(page_for: Callable[[str], Any]) -> None:
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    catalog = type_command(page, "/actions")
    card(page, catalog, "rollback-to-commit").get_by_role("button", name="Run").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Service").select_option("checkout-api")
    dialog.get_by_label("Commit SHA").fill("not-a-sha")
    dialog.get_by_label("Reason").fill("Bad deploy")
    dialog.get_by_role("button", name="Run").click()
    # The bot answered response_action: errors; Slack shows it under the input.
    error = dialog.locator('[data-block-id="input:commit_sha"] .input-error')
    expect(error).to_contain_text("Use 7 to 40 hex digits (0-9, a-f).")
    expect(dialog.locator(".input-error")).to_have_count(1)
    # A required field left empty is refused by the client before anything is sent.
    dialog.get_by_label("Reason").fill("")
    dialog.get_by_role("button", name="Run").click()
    expect(dialog.locator('[data-block-id="input:reason"] .input-error')).to_contain_text(
        "required"
    )
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def test_non_admin_sees_a_disabled_card(page_for: Callable[[str], Any]) -> None:
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    resize = card(page, type_command(page, "/actions"), "resize-infrastructure")
    expect(resize.get_by_role("button", name="Run")).to_have_count(0)
    notes = resize.locator("xpath=following-sibling::*[1]")
    expect(notes).to_contain_text("only admins can run this action")
    expect(notes).to_contain_text("#platform")
    # The same card for an admin, after switching user in the top bar.
    page.select_option("#user-switcher", "U0ADMIN")
    expect(page.locator("body")).to_have_attribute("data-user", "U0ADMIN")
    resize = card(page, type_command(page, "/actions"), "resize-infrastructure")
    expect(resize.get_by_role("button", name="Run")).to_be_visible()


def test_every_input_type_of_the_forms(page_for: Callable[[str], Any], playground: Running) -> None:
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    catalog = type_command(page, "/actions every input")
    card(page, catalog, "every-input").get_by_role("button", name="Run").click()
    d = page.get_by_role("dialog")
    d.get_by_label("Text", exact=True).fill("hello")
    d.get_by_label("Area").fill("two\nlines")
    d.get_by_label("Pick").select_option("b")
    d.get_by_label("Many").select_option("x")
    d.get_by_label("Many").select_option("z")
    d.get_by_label("Count").fill("7")
    d.get_by_label("Ratio").fill("0.25")
    d.get_by_role("checkbox", name="I am sure").check()
    d.get_by_role("checkbox", name="two").check()
    d.get_by_role("radio", name="left").check()
    d.get_by_label("Day").fill("2026-12-01")
    d.get_by_label("At", exact=True).fill("09:30")
    d.get_by_label("When").fill("2026-12-01T16:00")
    d.get_by_label("Who", exact=True).select_option("U0OWNER")
    d.get_by_label("Whom").select_option("U0DEV")
    d.get_by_label("Whom").select_option("U0ADMIN")
    d.get_by_label("Where").select_option("C0SRE")
    d.get_by_label("Mail").fill("a@example.com")
    d.get_by_label("Link").fill("https://example.com/x")
    d.get_by_label("Token").fill("hunter2-very-secret")
    d.get_by_label("Which service").click()  # type-ahead: a signed block_suggestion
    d.get_by_role("option", name="Payments Ledger", exact=True).click()
    d.get_by_label("Squads").fill("pay")
    d.get_by_role("option", name="Payments", exact=True).click()
    d.get_by_role("button", name="Run").click()
    expect(d).to_contain_text("succeeded", timeout=15_000)
    run = next(r for r in playground.state()["runs"] if r["action_id"] == "every-input")
    events = {e["kind"]: e["detail"] for e in playground.run_detail(run["id"])["events"]}
    sent = json.loads(events["webhook_request"]["body"])
    assert sent == {
        "text": "hello",
        "area": "two\nlines",
        "pick": "b",
        "many": ["x", "z"],
        "count": 7,
        "ratio": 0.25,
        "ok": True,
        "boxes": ["two"],
        "radio": "left",
        "day": "2026-12-01",
        "at": "09:30",
        "when": "2026-12-01T16:00:00Z",
        "who": "U0OWNER",
        "whom": ["U0DEV", "U0ADMIN"],
        "where": "C0SRE",
        "mail": "a@example.com",
        "link": "https://example.com/x",
        "token": "[REDACTED]",  # a secret input never reaches the audit log
        "svc": "payments-ledger",
        "squads": ["payments"],
    }
    request = page.locator('#run-detail [data-kind="webhook_request"]')
    expect(request).to_contain_text("Original URL: https://hooks.example.com/every/U0DEV")


SYNTHETIC_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Every element"}},
    {
        "type": "section",
        "block_id": "intro",
        "text": {
            "type": "mrkdwn",
            "text": "*bold* _italic_ ~strike~ `code` <https://example.com|a link> <@U0ADMIN> "
            "<#C0SRE> <!here> &lt;b&gt;not html&lt;/b&gt; :tada:\n```block of code```",
        },
        "fields": [
            {"type": "mrkdwn", "text": "*Field*\none"},
            {"type": "plain_text", "text": "two"},
        ],
        "accessory": {
            "type": "overflow",
            "action_id": "more",
            "options": [{"text": {"type": "plain_text", "text": "Archive"}, "value": "archive"}],
        },
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "context _line_"}]},
    {"type": "divider"},
]


def _input(block_id: str, label: str, element: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": {"action_id": block_id, **element},
        **extra,
    }


def _options(*values: str) -> list[dict[str, Any]]:
    return [{"text": {"type": "plain_text", "text": v.title()}, "value": v} for v in values]


SYNTHETIC_INPUTS = [
    _input(
        "title",
        "Title",
        {"type": "plain_text_input", "min_length": 3, "max_length": 20, "initial_value": "hi"},
    ),
    _input("notes", "Notes", {"type": "plain_text_input", "multiline": True}, optional=True),
    _input(
        "grouped",
        "Grouped",
        {
            "type": "static_select",
            "option_groups": [
                {
                    "label": {"type": "plain_text", "text": "Warm"},
                    "options": _options("red", "amber"),
                },
                {"label": {"type": "plain_text", "text": "Cold"}, "options": _options("blue")},
            ],
        },
    ),
    _input("svc", "External", {"type": "external_select", "min_query_length": 1}),
    _input("multi", "Multi static", {"type": "multi_static_select", "options": _options("x", "y")}),
    _input("squads", "Multi external", {"type": "multi_external_select", "min_query_length": 0}),
    _input(
        "number",
        "Number",
        {"type": "number_input", "is_decimal_allowed": True, "min_value": "0", "max_value": "10"},
    ),
    _input(
        "checks",
        "Checks",
        {
            "type": "checkboxes",
            "options": [
                {
                    "text": {"type": "plain_text", "text": "Alpha"},
                    "value": "a",
                    "description": {"type": "plain_text", "text": "the first"},
                },
                {"text": {"type": "plain_text", "text": "Beta"}, "value": "b"},
            ],
        },
    ),
    _input("radio", "Radio", {"type": "radio_buttons", "options": _options("on", "off")}),
    _input("date", "Date", {"type": "datepicker"}),
    _input("time", "Time", {"type": "timepicker"}),
    _input("datetime", "Date and time", {"type": "datetimepicker"}),
    _input("user", "User", {"type": "users_select"}),
    _input("users", "Users", {"type": "multi_users_select"}),
    _input("conv", "Conversation", {"type": "conversations_select"}),
    _input("chan", "Channel", {"type": "channels_select"}),
    _input("convs", "Conversations", {"type": "multi_conversations_select"}),
    _input("chans", "Channels", {"type": "multi_channels_select"}),
    _input("email", "Email", {"type": "email_text_input"}),
    _input("url", "URL", {"type": "url_text_input"}),
    _input(
        "dispatch", "Dispatching", {"type": "plain_text_input"}, dispatch_action=True, optional=True
    ),
    {
        "type": "actions",
        "block_id": "buttons",
        "elements": [
            {
                "type": "button",
                "action_id": "go",
                "value": "go",
                "style": "primary",
                "text": {"type": "plain_text", "text": "Go"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Really go?"},
                    "text": {"type": "mrkdwn", "text": "It *cannot* be undone."},
                    "confirm": {"type": "plain_text", "text": "Go"},
                    "deny": {"type": "plain_text", "text": "Stay"},
                },
            },
            {
                "type": "button",
                "action_id": "stop",
                "style": "danger",
                "text": {"type": "plain_text", "text": "Stop"},
            },
        ],
    },
]


def test_synthetic_modal_with_every_element(
    page_for: Callable[[str], Any], playground: Running
) -> None:
    """Every element type renders, and submits exactly the state.values Slack sends."""
    from playwright.sync_api import expect

    page = page_for("U0DEV")
    ws, sealer = playground.pg.workspace, playground.pg.runtime.sealer
    # Sealed like a run form of every-input, so the bot's own type-ahead answers svc/squads.
    metadata = sealer.seal(
        {"action": "every-input", "channel": None, "service": None, "parent": None, "fixed": False}
    )
    view = {
        "type": "modal",
        "callback_id": "playground_synthetic",
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Synthetic"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": SYNTHETIC_BLOCKS + SYNTHETIC_INPUTS,
    }
    api = WebClient(token=BOT_TOKEN, base_url=f"{playground.url}/api/")
    opened = api.views_open(trigger_id=ws.trigger("U0DEV"), view=view)["view"]
    d = page.get_by_role("dialog", name="Synthetic")
    intro = d.locator('[data-block-id="intro"]')
    expect(intro.locator("b", has_text="bold")).to_be_visible()
    expect(intro.locator("i", has_text="italic")).to_be_visible()
    expect(intro.locator("s", has_text="strike")).to_be_visible()
    expect(intro.locator("code", has_text="code")).to_be_visible()
    expect(intro.locator("a", has_text="a link")).to_have_attribute("href", "https://example.com")
    expect(intro.locator(".mention", has_text="@Ada Admin")).to_be_visible()
    expect(intro.locator(".mention", has_text="#sre")).to_be_visible()
    expect(intro.locator(".mention", has_text="@here")).to_be_visible()
    expect(intro).to_contain_text("<b>not html</b>")
    expect(intro.locator(".emoji", has_text=":tada:")).to_be_visible()
    expect(intro.locator("pre", has_text="block of code")).to_be_visible()
    expect(intro.locator(".fields")).to_contain_text("one")

    d.get_by_label("Title").fill("a")
    d.get_by_role("button", name="Send").click()  # min_length 3: refused before sending
    expect(d.locator('[data-block-id="title"] .input-error')).to_contain_text("at least 3")
    d.get_by_label("Title").fill("Hello")
    d.get_by_label("Notes").fill("line one\nline two")
    d.get_by_label("Grouped").select_option("amber")
    d.get_by_label("External", exact=True).fill("led")
    d.get_by_role("option", name="Payments Ledger", exact=True).click()
    d.get_by_label("Multi static").select_option("y")
    d.get_by_label("Multi external").click()
    d.get_by_role("option", name="Data", exact=True).click()
    d.get_by_label("Number").fill("2.5")
    d.get_by_role("checkbox", name="Alpha").check()
    d.get_by_role("radio", name="Off").check()
    d.get_by_label("Date", exact=True).fill("2026-12-24")
    d.get_by_label("Time", exact=True).fill("18:45")
    d.get_by_label("Date and time").fill("2026-12-01T16:00")
    d.get_by_label("User", exact=True).select_option("U0OWNER")
    d.get_by_label("Users").select_option("U0ADMIN")
    d.get_by_label("Conversation", exact=True).select_option("D0DEV")
    d.get_by_label("Channel", exact=True).select_option("C0DATA")
    d.get_by_label("Conversations").select_option("C0CHAN")
    d.get_by_label("Channels").select_option("C0SRE")
    d.get_by_label("Email").fill("dee@example.com")
    d.get_by_label("URL").fill("https://example.com/u")

    # A dispatch_action input and a confirmed button send block_actions from the modal.
    d.get_by_label("Dispatching").fill("ping")
    d.get_by_label("Dispatching").press("Enter")
    d.get_by_role("button", name="Go").click()
    confirm = page.get_by_role("alertdialog", name="Really go?")
    expect(confirm).to_contain_text("cannot")
    confirm.get_by_role("button", name="Go").click()
    sent = _wait_sent(
        playground,
        lambda p: p.get("type") == "block_actions" and p["actions"][0]["action_id"] == "go",
    )
    assert sent["container"] == {"type": "view", "view_id": opened["id"]}
    dispatched = _wait_sent(
        playground,
        lambda p: p.get("type") == "block_actions" and p["actions"][0]["action_id"] == "dispatch",
    )
    assert dispatched["actions"][0]["value"] == "ping"

    # A pushed view stacks on top; Back returns with everything still filled in.
    api.views_push(trigger_id=ws.trigger("U0DEV"), view=modal("Pushed"))
    pushed = page.get_by_role("dialog", name="Pushed")
    pushed.get_by_role("button", name="Back").click()
    expect(d.get_by_label("Title")).to_have_value("Hello")

    d.get_by_role("button", name="Send").click()
    # No listener in the bot takes this callback_id: Slack shows its generic error.
    expect(d.locator(".modal-notice")).to_contain_text("trouble connecting")
    payload = _wait_sent(playground, lambda p: p.get("type") == "view_submission")
    assert payload["view"]["id"] == opened["id"]
    assert payload["user"]["id"] == "U0DEV"
    values = payload["view"]["state"]["values"]

    def option(text: str, value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": text}, "value": value}

    assert values["title"] == {"title": {"type": "plain_text_input", "value": "Hello"}}
    assert values["notes"]["notes"]["value"] == "line one\nline two"
    assert values["grouped"]["grouped"] == {
        "type": "static_select",
        "selected_option": option("Amber", "amber"),
    }
    assert values["svc"]["svc"]["type"] == "external_select"
    assert values["svc"]["svc"]["selected_option"]["value"] == "payments-ledger"
    assert values["multi"]["multi"] == {
        "type": "multi_static_select",
        "selected_options": [option("Y", "y")],
    }
    assert [o["value"] for o in values["squads"]["squads"]["selected_options"]] == ["data"]
    assert values["number"]["number"] == {"type": "number_input", "value": "2.5"}
    assert values["checks"]["checks"]["selected_options"][0]["value"] == "a"
    assert values["radio"]["radio"] == {
        "type": "radio_buttons",
        "selected_option": option("Off", "off"),
    }
    assert values["date"]["date"] == {"type": "datepicker", "selected_date": "2026-12-24"}
    assert values["time"]["time"] == {"type": "timepicker", "selected_time": "18:45"}
    assert values["datetime"]["datetime"] == {
        "type": "datetimepicker",
        "selected_date_time": 1796140800,
    }
    assert values["user"]["user"] == {"type": "users_select", "selected_user": "U0OWNER"}
    assert values["users"]["users"] == {"type": "multi_users_select", "selected_users": ["U0ADMIN"]}
    assert values["conv"]["conv"] == {
        "type": "conversations_select",
        "selected_conversation": "D0DEV",
    }
    assert values["chan"]["chan"] == {"type": "channels_select", "selected_channel": "C0DATA"}
    assert values["convs"]["convs"] == {
        "type": "multi_conversations_select",
        "selected_conversations": ["C0CHAN"],
    }
    assert values["chans"]["chans"] == {
        "type": "multi_channels_select",
        "selected_channels": ["C0SRE"],
    }
    assert values["email"]["email"] == {"type": "email_text_input", "value": "dee@example.com"}
    assert values["url"]["url"] == {"type": "url_text_input", "value": "https://example.com/u"}
    assert values["dispatch"]["dispatch"] == {"type": "plain_text_input", "value": "ping"}
    d.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("dialog")).to_have_count(0)


def _wait_sent(running: Running, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The newest payload the playground sent the bot that matches."""

    def found(_: dict[str, Any]) -> dict[str, Any] | None:
        for entry in reversed(running.slack_log()):
            payload = (entry.get("request") or {}).get("payload")
            if entry["kind"] == "to_bot" and isinstance(payload, dict) and match(payload):
                return payload
        return None

    return running.until(found)


def test_home_tab_and_messages_tab(page_for: Callable[[str], Any], playground: Running) -> None:
    from playwright.sync_api import expect

    page = page_for("U0ADMIN")
    page.click("#app-link")
    home = page.locator("#home")
    expect(home).to_contain_text("Self-service actions")  # app_home_opened → views.publish
    home.get_by_label("Find an action").fill("unlock")  # dispatches on each pause in typing
    unlock = home.locator('[data-block-id="card:unlock-deploys"]')
    expect(home.locator('[data-block-id="card:lock-deploys"]')).to_have_count(0)
    expect(home.get_by_label("Find an action")).to_be_focused()
    unlock.get_by_role("button", name="Run").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Service").select_option("docs-portal")
    dialog.get_by_role("button", name="Run").click()
    expect(dialog).to_contain_text("succeeded", timeout=15_000)
    shoot_home = bool(os.environ.get("PLAYGROUND_SCREENSHOTS"))
    dialog.get_by_role("button", name="Close", exact=True).click()
    if shoot_home:
        home.get_by_label("Find an action").fill("")
        expect(home.locator('[data-block-id="card:lock-deploys"]')).to_have_count(1)
        shoot(page, "playground-home.png")
    # Started from the Home tab: the result is in the app's Messages tab (the DM).
    page.click("#tab-messages")
    dm = page.locator("#dm-messages")
    expect(dm).to_contain_text("Unlock deploys")
    expect(dm.locator(".replies")).to_have_count(1)


def test_screenshot_names_are_documented() -> None:
    doc = (ROOT / "docs" / "playground.md").read_text()
    for name in ("playground-channel.png", "playground-modal.png", "playground-home.png"):
        assert name in doc
        assert (DOCS / name).exists(), f"docs/{name} is missing: PLAYGROUND_SCREENSHOTS=1"


def test_tour_request_approve_and_admin_list_buttons(
    page_for: Callable[[str], Any], playground: Running
) -> None:
    """The tour in a browser: Dee asks for admin access, Ada approves it in her DM with the
    app, then uses the admin list's buttons."""
    from playwright.sync_api import expect

    dee = page_for("U0DEV")
    found = type_command(dee, "/actions admin access")
    card(dee, found, "request-escalated-access").get_by_role("button", name="Run").click()
    dialog = dee.get_by_role("dialog")
    dialog.get_by_label("Access").select_option("prod-aws-admin")
    dialog.get_by_label("Why do you need it?").fill("INC-2291: rotate the payout worker keys")
    dialog.get_by_role("button", name=re.compile("^(Run|Request)$")).click()
    expect(dialog).to_contain_text("Sent for approval")
    dialog.get_by_role("button", name="Close", exact=True).click()

    ada = page_for("U0ADMIN")
    ada.click("#app-link")
    ada.click("#tab-messages")
    dm = ada.locator("#dm-messages")
    request = dm.locator(".message", has_text="INC-2291: rotate the payout worker keys").last
    expect(request).to_contain_text("Request admin access")
    request.get_by_role("button", name="Approve").click()
    expect(request).to_contain_text("Approved", timeout=15_000)
    shoot(ada, "playground-approval.png")
    playground.until(
        lambda s: [
            r
            for r in s["runs"]
            if r["action_id"] == "request-escalated-access"
            and r["inputs"].get("role") == "prod-aws-admin"
            and r["status"] == "SUCCESS"
        ],
        timeout=20,
    )

    # The admin list: a section per action, with buttons that work.
    ada.locator("#channel-list a", has_text="general").click()
    listing = type_command(ada, "/actions-admin list")
    row = listing.locator('[data-block-id="buttons:request-escalated-access"]')
    expect(row.get_by_role("button")).to_have_text(["Test", "Runs"])
    shoot(ada, "playground-admin-list.png")
    row.get_by_role("button", name="Runs").click()
    runs = ada.locator("#messages .message.ephemeral", has_text="action:request-escalated-access")
    expect(runs.last).to_contain_text("Request admin access")
    unlock = listing.locator('[data-block-id="buttons:unlock-deploys"]')
    unlock.get_by_role("button", name="Test").click()
    test_form = ada.get_by_role("dialog")
    expect(test_form).to_contain_text("Nothing is sent until you press")
    test_form.get_by_role("button", name="Cancel", exact=True).click()
