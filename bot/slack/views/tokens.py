"""API tokens in Slack: the modal that makes one, the token shown once, the lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.kinds import Scope
from bot.mrkdwn import escape
from bot.slack.views.blocks import context, modal, plain, section
from bot.store.models import ApiToken
from bot.tokens import describe

TOKEN_MODAL = "token_modal"
REVOKE_TOKEN = "revoke_token"
NAME, SCOPES, EXPIRY = "token_name", "token_scopes", "token_expiry"
EXPIRIES = [("7 days", "7d"), ("30 days", "30d"), ("90 days", "90d"), ("1 year", "1y")]
SCOPE_TEXT = {
    Scope.ACTIONS_READ: "actions:read — list and describe actions",
    Scope.RUNS_READ: "runs:read — read your runs",
    Scope.RUNS_WRITE: "runs:write — start and cancel runs as you",
}


def _choice(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": value}


def token_modal() -> dict[str, Any]:
    scopes = [_choice(text, scope.value) for scope, text in SCOPE_TEXT.items()]
    expiries = [_choice(text, value) for text, value in EXPIRIES]
    blocks = [
        section("A personal token acts as you in the API and for MCP clients, under your access."),
        {
            "type": "input",
            "block_id": NAME,
            "label": plain("Name"),
            "element": {
                "type": "plain_text_input",
                "action_id": NAME,
                "max_length": 75,
                "placeholder": plain("e.g. ci, laptop-agent"),
            },
        },
        {
            "type": "input",
            "block_id": SCOPES,
            "label": plain("Scopes"),
            "element": {
                "type": "checkboxes",
                "action_id": SCOPES,
                "options": scopes,
                "initial_options": scopes,
            },
        },
        {
            "type": "input",
            "block_id": EXPIRY,
            "label": plain("Expires in"),
            "element": {
                "type": "static_select",
                "action_id": EXPIRY,
                "options": expiries,
                "initial_option": expiries[2],
            },
        },
    ]
    return modal(
        "New API token",
        blocks,
        callback_id=TOKEN_MODAL,
        submit=plain("Create", 24),
        close=plain("Cancel", 24),
    )


def token_shown(value: str, token: ApiToken) -> dict[str, Any]:
    """The token, once: only the person who made it sees this modal."""
    return modal(
        "Your API token",
        [
            section(f"*{escape(token.name)}* · {describe(token)}"),
            section(f"```{value}```"),
            context("Copy it now: it is shown only this once. Revoke it with `/actions tokens`."),
        ],
        close=plain("Done", 24),
    )


def token_list(tokens: Sequence[ApiToken], *, everyone: bool = False) -> list[dict[str, Any]]:
    title = "All API tokens" if everyone else "Your API tokens"
    blocks: list[dict[str, Any]] = [section(f"*{title}*")]
    if not tokens:
        blocks.append(context("None yet. Make one with `/actions token`."))
    for token in tokens[:45]:
        owner = f" · <@{token.user_id}>" if everyone else ""
        line = section(f"*{escape(token.name)}*{owner}\n{describe(token)}")
        if token.revoked_at is None:
            line["accessory"] = {
                "type": "button",
                "action_id": REVOKE_TOKEN,
                "text": plain("Revoke", 75),
                "style": "danger",
                "value": token.id,
            }
        blocks.append(line)
    return blocks


def read_token_form(state: Any) -> tuple[str, list[str], str]:
    """Name, scopes and expiry from the modal's state; malformed parts read as empty."""
    values = state.get("values") if isinstance(state, dict) else None
    values = values if isinstance(values, dict) else {}

    def element(block: str) -> dict[str, Any]:
        found = (
            (values.get(block) or {}).get(block) if isinstance(values.get(block), dict) else None
        )
        return found if isinstance(found, dict) else {}

    name = element(NAME).get("value")
    chosen = element(SCOPES).get("selected_options") or []
    scopes = [
        str(o["value"]) for o in chosen if isinstance(o, dict) and isinstance(o.get("value"), str)
    ]
    picked = element(EXPIRY).get("selected_option")
    expiry = picked.get("value") if isinstance(picked, dict) else None
    allowed = {value for _, value in EXPIRIES}
    return (
        name if isinstance(name, str) else "",
        scopes,
        expiry if expiry in allowed else "90d",
    )
