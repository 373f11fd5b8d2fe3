"""What Slack does with the bot's answers: a view_submission's ack, a response_url post."""

from __future__ import annotations

import copy
import time
from typing import Any

from bot.playground.workspace import BOT_USER_ID, PageWorkspace, dm_id
from bot.testing import blockkit
from bot.testing.workspace import MAX_VIEW_STACK, RESPONSE_URL_USES

TROUBLE = "We had some trouble connecting. Try again?"


def apply_submission_answer(
    ws: PageWorkspace, user_id: str, view_id: str, body: dict[str, Any]
) -> None:
    """What Slack does with a view_submission ack: close, errors, update, push, clear."""
    action = body.get("response_action")
    if action is None:
        ws.close_views(user_id, 1)
    elif action == "clear":
        ws.close_views(user_id)
    elif action == "errors":
        errors = body.get("errors")
        if not isinstance(errors, dict):
            errors = {}
        inputs = {
            b.get("block_id")
            for b in ws.views[view_id].get("blocks") or []
            if b.get("type") == "input"
        }
        unknown = sorted(set(errors) - inputs)
        if unknown or not errors:
            _refuse(ws, view_id, "errors must name input blocks of the view", unknown)
        else:
            ws.view_errors[view_id] = {str(k): str(v) for k, v in errors.items()}
    elif action in ("update", "push"):
        view = body.get("view")
        problems = blockkit.check_view(view)
        if problems or not isinstance(view, dict):
            _refuse(ws, view_id, f"response_action {action}: invalid view", problems)
        elif action == "update":
            ws.replace_view(view_id, view)
        elif len(ws.stack(user_id)) >= MAX_VIEW_STACK:
            _refuse(ws, view_id, "push_limit_reached", [])
        else:
            ws.push_view(user_id, view)
    else:
        _refuse(ws, view_id, f"unknown response_action {action!r}", [])


def _refuse(ws: PageWorkspace, view_id: str, why: str, details: list[str]) -> None:
    # Slack shows its generic error in the modal; the notice tells the author why.
    ws.view_notice[view_id] = TROUBLE
    ws.notice(f"Slack would refuse the view_submission answer: {why}. {' '.join(details)}")


def respond(ws: PageWorkspace, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A post to a response_url: a new message, or a change to the one clicked."""
    grant = ws.response_urls.get(token)
    if grant is None or grant.expires < time.monotonic():
        return 404, {"ok": False, "error": "expired_url"}
    grant.uses += 1
    if grant.uses > RESPONSE_URL_USES:
        return 404, {"ok": False, "error": "used_url"}
    problems = blockkit.check_message(body.get("text"), body.get("blocks"))
    if problems and not body.get("delete_original"):
        ws.notice("A response_url post was refused: " + " ".join(problems))
        return 400, {"ok": False, "error": "invalid_blocks", "errors": problems}
    summary = (
        "delete"
        if body.get("delete_original")
        else ("replace" if body.get("replace_original") else body.get("response_type", "ephemeral"))
    )
    ws.record("response_url", f"response_url → {summary}", request=body)
    deliver_message(ws, grant.user_id, grant.channel_id or dm_id(grant.user_id), body, grant.source)
    return 200, {"ok": True}


def deliver_message(
    ws: PageWorkspace,
    user_id: str,
    channel: str,
    body: dict[str, Any],
    source: dict[str, Any] | None,
) -> None:
    text = str(body.get("text") or "")
    blocks = copy.deepcopy(body.get("blocks"))
    blockkit.fill_ids(blocks or [])
    if source and (body.get("delete_original") or body.get("replace_original")):
        ts = str(source["ts"])
        if source.get("ephemeral"):
            target = ws.find_ephemeral(ts)
            if target is not None and body.get("delete_original"):
                ws.ephemerals.remove(target)
        else:
            target = ws.find_message(str(source["channel"]), ts)
            if target is not None and body.get("delete_original"):
                ws.messages[str(source["channel"])].remove(target)
        if target is not None and not body.get("delete_original"):
            target.update(text=text, blocks=blocks)
            if not source.get("ephemeral"):
                target["edited"] = {"user": BOT_USER_ID, "ts": ws.next_ts()}
        ws.changed()
        return
    thread_ts = body.get("thread_ts")
    if body.get("response_type") == "in_channel":
        ws.post(channel, BOT_USER_ID, text, blocks, thread_ts)
    else:
        ws.post_ephemeral(channel, user_id, text, blocks, thread_ts)
