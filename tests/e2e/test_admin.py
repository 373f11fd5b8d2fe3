"""`/actions-admin` and access rules, end to end; the operator command line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import AuditEvent, Run
from bot.store.models import utcnow
from tests.conftest import (
    CONFIG,
    TRACKER_TOKEN,
    WEBHOOK_SECRET,
    Bot,
    Modals,
    start_bot,
)
from tests.fakes import verify_opslevel_style, verify_standard
from tests.support import admin_says, edit_values, open_modal, run_cli, shown, texts

EXTRA = """
  - id: pci-restart
    name: PCI restart
    owner: payments
    scope: service
    access: service_owners
    webhook: {url: "{receiver}/pci/{{ service.id }}"}
  - id: sre-only
    name: SRE only
    owner: payments
    access: {usergroups: [S0SRE], users: [U0CARL]}
    webhook: {url: "{receiver}/sre"}
  - id: deploys-only
    name: Deploys channel only
    owner: payments
    channels: [C0DEPLOYS]
    webhook: {url: "{receiver}/deploys"}
  - id: draft-thing
    name: Draft thing
    owner: payments
    published: false
    webhook: {url: "{receiver}/draft"}
"""


@pytest.fixture
def bot(tmp_path: Path, secrets_env: None) -> Iterator[Bot]:
    yield from start_bot(tmp_path, CONFIG + EXTRA)


def test_admin_commands_refused_for_others(bot: Bot) -> None:
    for text in ("list", "new", "test create-ticket", "runs", "export", "reload"):
        assert "only for the bot's admins" in shown(admin_says(bot, text, user="U0DEV"))
    assert not bot.slack.calls("views.open") and not bot.receiver.received
    refusals = bot.store.events(kind="refused")
    assert len(refusals) == 6 and {e.actor for e in refusals} == {"U0DEV"}


def test_list_shows_state_source_and_stats(bot: Bot) -> None:
    bot.receiver.reply("/api/tickets", status=500)
    bot.submit(bot.open_form("create-ticket"), {"title": "t"})
    bot.slack.wait_for("chat.update")
    listing = shown(admin_says(bot, "list"))
    assert "*Create ticket* `create-ticket` · published · file" in listing
    assert "1 runs in 7 days, 100% failed" in listing
    assert "*Draft thing* `draft-thing` · draft · file" in listing
    assert "access: team" not in listing and "access: admins" in listing


def test_create_edit_publish_delete_in_slack(bot: Bot, tmp_path: Path) -> None:
    view = open_modal(bot, "new")
    assert view["callback_id"] == "admin_edit"
    bad = edit_values(
        id="page-oncall",
        name="Page on-call",
        owner="payments",
        scope="global",
        access="everyone",
        method="POST",
        url=f"{bot.receiver.url}/page",
        payload='{"who": {{ user.idd | json }}}',
        inputs="- {identifier: why, displayName: Why, type: text_input",
    )
    response = json.loads(bot.requests.view_submission(view, bad, user_id="U0ADMIN").text)
    assert response["response_action"] == "errors"
    assert response["errors"]["inputs"].startswith("Invalid YAML")
    bad["inputs"] = {
        "inputs": {
            "type": "plain_text_input",
            "value": "- {identifier: why, displayName: Why, type: text_input}",
        }
    }
    response = json.loads(bot.requests.view_submission(view, bad, user_id="U0ADMIN").text)
    assert response["errors"] == {"payload": "unknown variable user.idd"}
    good = {**bad, **edit_values(payload='{"why": {{ manualInputs.why | json }}}')}
    assert bot.requests.view_submission(view, good, user_id="U0ADMIN").status_code == 200
    bot.slack.wait_for("chat.postMessage", lambda c: "Saved page-oncall" in shown(c.params))
    # A draft: admins see it, others don't, and others cannot run it by crafting a click.
    assert "Page on-call" in shown(admin_says(bot, "list"))
    count = len(bot.slack.calls("response_url"))
    bot.requests.command("/actions", user_id="U0DEV")
    assert "Page on-call" not in shown(
        bot.slack.wait_for("response_url", count=count + 1)[-1].params
    )
    opened = len(bot.slack.calls("views.open"))
    bot.requests.block_action("run_action", value="page-oncall", user_id="U0DEV")
    refusal = bot.slack.wait_for("views.open", count=opened + 1)[-1].params["view"]
    assert "draft" in texts(refusal["blocks"])
    assert "now published" in shown(admin_says(bot, "publish page-oncall"))
    view = bot.open_form("page-oncall")
    bot.submit(view, {"input:why": "disk"})
    assert bot.receiver.wait(1)[0].json() == {"why": "disk"}
    # Edit: the form comes prefilled; the change is audited with a diff.
    view = open_modal(bot, "edit page-oncall")
    assert "Editing `page-oncall`" in texts(view["blocks"])
    renamed = {**good, **edit_values(name="Page the on-call")}
    renamed.pop("id")
    bot.requests.view_submission(view, renamed, user_id="U0ADMIN")
    deadline = time.monotonic() + 5
    while bot.runtime.catalog().action("page-oncall").name != "Page the on-call":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    changes = [e.detail for e in bot.store.events(kind="admin")]
    assert [c["change"] for c in changes] == ["create", "publish", "edit"]
    assert "-name: Page on-call" in changes[2]["diff"]
    assert "+name: Page the on-call" in changes[2]["diff"]
    # It survives a restart: a fresh runtime on the same database has it.
    from bot.config import load_file
    from bot.runtime import Runtime

    other = Runtime(bot.runtime.settings, load_file(bot.config_path))
    import asyncio

    asyncio.run(other.refresh_slack_actions(force=True))
    assert other.catalog().action("page-oncall").name == "Page the on-call"
    other.store.close()
    # Delete asks first, then deletes.
    message = admin_says(bot, "delete page-oncall")
    button = message["blocks"][-1]["elements"][0]
    assert button["confirm"]["title"]["text"] == "Delete this action?"
    bot.requests.block_action(button["action_id"], value=button["value"], user_id="U0ADMIN")
    deadline = time.monotonic() + 5
    while bot.runtime.catalog().action("page-oncall") is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_file_actions_are_read_only(bot: Bot) -> None:
    for text in ("edit create-ticket", "publish draft-thing", "delete create-ticket"):
        said = shown(admin_says(bot, text))
        assert "is managed in" in said and "actions.yml" in said
    assert "No action `nope`" in shown(admin_says(bot, "edit nope"))


def test_dry_run_then_private_send(bot: Bot) -> None:
    view = open_modal(bot, "test create-ticket")
    assert view["callback_id"] == "admin_test"
    values = bot.requests.values_for(view, {"input:title": "Test me", "input:prio": "high"})
    response = json.loads(bot.requests.view_submission(view, values, user_id="U0ADMIN").text)
    assert response["response_action"] == "update"
    dry = response["view"]
    text = texts(dry["blocks"])
    assert f"{bot.receiver.url}/api/tickets" in text
    assert "Authorization: [REDACTED]" in text and TRACKER_TOKEN not in json.dumps(dry)
    assert "X-Actions-Signature: sha256=" in text and "webhook-signature: v1," in text
    assert '"title": "Test me"' in text
    assert not bot.receiver.received  # a dry run sends nothing
    dry["id"] = view["id"]
    bot.requests.block_action(
        "admin_send_test", value="send", user_id="U0ADMIN", channel_id=None, view=dry
    )
    request = bot.receiver.wait(1)[0]
    verify_standard(WEBHOOK_SECRET, request.headers, request.body)
    verify_opslevel_style(
        WEBHOOK_SECRET,
        request.headers,
        request.body,
        signed_headers=["Content-Type", "Authorization"],
    )
    result = bot.slack.wait_for("views.update")[-1].params["view"]
    assert "HTTP 200" in texts(result["blocks"])
    run = bot.store.runs()[0]
    assert run.is_test and run.status == "SUCCESS"
    time.sleep(0.3)
    assert not bot.slack.calls("chat.postMessage")  # posted nowhere


def test_runs_history_filters_paging_and_debug_view(bot: Bot) -> None:
    now = utcnow()
    with bot.store.session() as session:
        for n in range(25):
            session.add(
                Run(
                    id=f"00000000-0000-0000-0000-{n:012}",
                    action_id="create-ticket",
                    user_id="U0DEV" if n % 2 else "U0OWNER",
                    status="FAILURE" if n % 5 == 0 else "SUCCESS",
                    inputs={"title": f"t{n}"},
                    created_at=now - timedelta(hours=n),
                )
            )
        session.flush()
        session.add(
            AuditEvent(
                run_id="00000000-0000-0000-0000-000000000000",
                action_id="create-ticket",
                kind="webhook_request",
                detail={"url": "https://x", "body": "b" * 5000},
            )
        )
        session.commit()
    page = admin_says(bot, "runs")
    first = shown(page)
    assert first.count("`00000000-") == 20 and "t0" in first and "t24" not in first
    older = page["blocks"][-1]["elements"][0]
    bot.requests.block_action(older["action_id"], value=older["value"], user_id="U0ADMIN")
    second = shown(bot.slack.wait_for("response_url", count=2)[-1].params)
    assert second.count("`00000000-") == 5 and "t24" in second
    failures = shown(admin_says(bot, "runs status:failure user:<@U0OWNER|owen> since:2d"))
    assert failures.count("`00000000-") == 3  # n = 0, 10, 20 (n = 5, 15 are U0DEV)
    assert "status:" in shown(admin_says(bot, "runs status:bogus"))
    debug = shown(admin_says(bot, "run 00000000-0000-0000-0000-000000000000"))
    assert "webhook_request" in debug and "audit_event" in debug
    assert "b" * 5000 not in debug


def test_runs_filter_by_every_run_status(bot: Bot) -> None:
    # Every status a run can end in is a filter, withdrawn requests included.
    now = utcnow()
    with bot.store.session() as session:
        for n, status in enumerate(["WITHDRAWN", "SUCCESS", "DENIED"]):
            session.add(
                Run(
                    id=f"00000000-0000-0000-0000-{n:012}",
                    action_id="create-ticket",
                    user_id="U0DEV",
                    status=status,
                    inputs={"title": status.lower()},
                    created_at=now - timedelta(minutes=n),
                )
            )
        session.commit()
    withdrawn = shown(admin_says(bot, "runs status:withdrawn"))
    assert "is one of" not in withdrawn
    assert (
        withdrawn.count("`00000000-") == 1 and "`00000000-0000-0000-0000-000000000000" in withdrawn
    )
    refused = shown(admin_says(bot, "runs status:bogus"))
    assert "withdrawn" in refused and "pending_approval" in refused


def test_export_uploads_files_without_secrets(bot: Bot) -> None:
    bot.submit(bot.open_form("create-ticket"), {"title": f"token {TRACKER_TOKEN}"})
    bot.slack.wait_for("chat.update")
    assert "in your direct messages" in shown(admin_says(bot, "export since:1d format:jsonl"))
    files = {f["filename"]: f for f in bot.slack.files.values()}
    assert set(files) == {"audit.jsonl", "slack-actions.yml"}
    audit = files["audit.jsonl"]["content"]
    rows = [json.loads(line) for line in audit.splitlines()]
    assert {"requested", "webhook_request", "webhook_response", "finished"} <= {
        r["kind"] for r in rows
    }
    assert TRACKER_TOKEN not in audit and "[REDACTED]" in audit
    assert files["audit.jsonl"]["channel"].startswith("D")


def test_reload_keeps_running_config_when_invalid(bot: Bot) -> None:
    original = bot.config_path.read_text()
    bot.config_path.write_text(original.replace("name: Create ticket", "nam: Create ticket"))
    said = shown(admin_says(bot, "reload"))
    assert "is invalid; the running config is kept" in said and "unknown key" in said
    assert bot.runtime.catalog().action("create-ticket") is not None
    bot.config_path.write_text(original.replace("name: Create ticket", "name: Open ticket"))
    assert "Reloaded" in shown(admin_says(bot, "reload"))
    assert bot.runtime.catalog().action("create-ticket").name == "Open ticket"


def test_access_rules_end_to_end(bot: Bot) -> None:
    # service_owners: U0OWNER is in Payments, which owns checkout-api.
    modals = Modals.before(bot.slack)
    bot.requests.block_action("run_action", value="pci-restart@checkout-api", user_id="U0DEV")
    assert "only the team that owns" in texts(modals.sent()["blocks"])
    view = bot.open_form("pci-restart", user_id="U0OWNER")
    bot.submit(view, {"service": "checkout-api"}, user_id="U0OWNER")
    assert bot.receiver.wait(1)[0].path == "/pci/checkout-api"
    # usergroups: resolved from Slack; membership grants access.
    bot.slack.usergroups["S0SRE"] = ["U0DEV"]
    view = bot.open_form("sre-only", user_id="U0DEV")
    bot.submit(view, {})
    bot.receiver.wait(2)
    # channels: only from #deploys; a crafted submission from elsewhere is refused too.
    modals = Modals.before(bot.slack)
    bot.requests.block_action("run_action", value="deploys-only", user_id="U0DEV")
    assert "runs only in <#C0DEPLOYS>" in texts(modals.sent()["blocks"])
    view = bot.open_form("deploys-only", channel_id="C0DEPLOYS")
    forged = dict(view, private_metadata=view["private_metadata"].replace("C0DEPLOYS", "C0X"))
    body = json.loads(bot.submit(forged, {}).text)
    assert "out of date" in texts(body["view"]["blocks"])


def test_usergroup_lookup_failure_fails_closed(bot: Bot) -> None:
    bot.slack.set_response("usergroups.users.list", {"ok": False, "error": "fatal_error"})
    modals = Modals.before(bot.slack)
    bot.requests.block_action("run_action", value="sre-only", user_id="U0DEV")
    refusal = texts(modals.sent()["blocks"])
    assert "Slack did not tell us your user groups" in refusal
    assert not bot.receiver.received


def test_retention_purges_old_runs(bot: Bot) -> None:
    long_ago = utcnow() - timedelta(days=400)
    old = Run(action_id="create-ticket", user_id="U0DEV", created_at=long_ago)
    new = Run(action_id="create-ticket", user_id="U0DEV")
    with bot.store.session() as session:  # a run written long ago, with its event
        session.add(old)
        session.flush()
        session.add(
            AuditEvent(
                run_id=old.id,
                action_id="create-ticket",
                kind="requested",
                actor="U0DEV",
                at=long_ago,
                detail={"x": 1},
            )
        )
        session.commit()
    assert bot.store.create_run(new, {"x": 1})
    removed = bot.store.purge(utcnow() - timedelta(days=365), batch=1)
    assert removed >= 1
    assert bot.store.get_run(old.id) is None and bot.store.get_run(new.id) is not None
    assert bot.store.events(old.id) == []


def test_cli_preview_and_audit_export(bot: Bot) -> None:
    env = {
        "ACTIONS_CONFIG": str(bot.config_path),
        "WEBHOOK_SIGNING_SECRET": WEBHOOK_SECRET,
        "ACTIONS_SECRET_TRACKER_TOKEN": TRACKER_TOKEN,
        "DATABASE_URL": bot.runtime.settings.DATABASE_URL,
    }
    result = run_cli(
        "preview", "create-ticket", "--input", "title=Hi {{ 7*7 }}", "--input", "prio=high", env=env
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"POST {bot.receiver.url}/api/tickets")
    assert "Authorization: [REDACTED]" in result.stdout
    assert TRACKER_TOKEN not in result.stdout
    assert '"title": "Hi {{ 7*7 }}"' in result.stdout and not bot.receiver.received
    bad = run_cli("preview", "create-ticket", "--input", "prio=urgent", env=env)
    assert bad.returncode == 2 and "title: Title is required." in bad.stderr
    bot.submit(bot.open_form("create-ticket"), {"title": f"x {TRACKER_TOKEN}"})
    bot.slack.wait_for("chat.update")
    export = run_cli("audit", "export", "--since", "1d", "--format", "csv", env=env)
    assert export.returncode == 0, export.stderr
    assert export.stdout.startswith("at,run_id,action_id,kind,actor,status,user_id,detail")
    assert "webhook_request" in export.stdout and TRACKER_TOKEN not in export.stdout
