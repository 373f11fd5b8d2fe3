"""`/actions-admin` and the admin section of the Home tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncRespond

from bot.access import Decision, Principal, is_admin
from bot.catalog import Access, Action, Catalog
from bot.mrkdwn import escape
from bot.runtime import Runtime
from bot.slack import limits
from bot.slack.blocks import context, plain, section

HELP = "Usage: `/actions-admin list` — every action with its state."


def access_text(action: Action) -> str:
    rule = action.access
    if not isinstance(rule, Access):
        return rule
    parts = [
        *(f"team {t}" for t in rule.teams),
        *(f"<@{u}>" for u in rule.users),
        *(f"<!subteam^{g}>" for g in rule.usergroups),
    ]
    return ", ".join(parts) or "admins"


def list_blocks(catalog: Catalog) -> list[dict[str, Any]]:
    actions = list(catalog.actions.values())
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(f"Actions ({len(actions)})", limits.HEADER_TEXT)},
        context(f"Managed in `{escape(catalog.source or 'the config file')}`"),
    ]
    lines = []
    for action in actions:
        state = "published" if action.published else "draft"
        owner = catalog.owner_of(action)
        lines.append(
            f"• *{escape(action.name)}* `{action.id}` · {state} · access: {access_text(action)}"
            f" · scope: {action.scope} · owner: {escape(owner.name)}"
        )
    chunk: list[str] = []  # many actions: several sections, each within Slack's text limit
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > limits.SECTION_TEXT - 10:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    return blocks[: limits.MESSAGE_BLOCKS]


def home_section(catalog: Catalog, who: Principal) -> list[dict[str, Any]]:
    if not is_admin(catalog, who):
        return []
    return [context(":key: You are an admin: `/actions-admin list` shows every action's state.")]


async def command(runtime: Runtime, command: dict[str, Any], respond: AsyncRespond) -> None:
    catalog = runtime.catalog()
    user_id = command["user_id"]
    who = await runtime.directory.principal(user_id, catalog)
    if not is_admin(catalog, who):
        await runtime.runner.refuse(
            "/actions-admin", user_id, Decision(False, "not an admin"), "admin_command"
        )
        await respond(
            response_type="ephemeral",
            text="Sorry, `/actions-admin` is only for the bot's admins. Admins are listed "
            "under `admins` in the actions config; use `/actions` to browse and run actions.",
        )
        return
    words = (command.get("text") or "").split()
    sub = words[0].lower() if words else "list"
    if sub == "list":
        await respond(response_type="ephemeral", text="Actions", blocks=list_blocks(catalog))
    else:
        await respond(response_type="ephemeral", text=f"Unknown subcommand `{sub}`. {HELP}")
