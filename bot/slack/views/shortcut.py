"""The "Run an action…" message shortcut's modal: the actions for that message's channel."""

from __future__ import annotations

from typing import Any

from bot.catalog import Action
from bot.mrkdwn import escape
from bot.slack import limits
from bot.slack.views.blocks import context, modal, plain, section

CALLBACK = "run_from_message"  # the shortcut's callback id, as in manifest.yml
PICK_BUTTON = "run_from_message_pick"
MAX_ACTIONS = 45  # two blocks each, under the modal's 100


def picker_modal(actions: list[Action], metadata: str) -> dict[str, Any]:
    """One Run button per action; the chosen action's form replaces this modal."""
    blocks: list[dict[str, Any]] = [
        context("The form is filled in from the message; its run replies in the message's thread.")
    ]
    for action in actions[:MAX_ACTIONS]:
        line = f"*{escape(action.name)}*"
        if action.description:
            line += f"\n{escape(action.description)}"
        button = {
            "type": "button",
            "text": plain("Run", limits.BUTTON_TEXT),
            "action_id": PICK_BUTTON,
            "value": action.id,
        }
        blocks.append(section(line, accessory=button))
    if not actions:
        blocks.append(section("No action can run in this channel for you."))
    return modal(
        "Run an action",
        blocks,
        private_metadata=metadata,
        close=plain("Cancel", limits.MODAL_TITLE),
    )
