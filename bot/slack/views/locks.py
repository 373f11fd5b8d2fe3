"""Block Kit for the concurrency locks a user's runs hold or wait for, on the Home tab."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.mrkdwn import escape, local_time
from bot.slack.views.blocks import details_button, section
from bot.store.locks import UserLock

SHOWN = 5  # one block each: the Home tab holds 100


def lock_blocks(locks: Sequence[UserLock], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """One line per run: what, on which key, holding or waiting, since when; and Details."""
    blocks: list[dict[str, Any]] = []
    for lock in locks[:SHOWN]:
        what = escape(names.get(lock.action_id, lock.action_id))
        key = escape(lock.label) or "its key"
        since = local_time(lock.since)
        if lock.holding:
            line = f":lock: *{what}* holds *{key}* since {since}"
        else:
            line = f":hourglass: *{what}* is waiting for *{key}* since {since}"
        block_id = f"lock:{lock.run_id}"
        blocks.append(section(line, block_id=block_id, accessory=details_button(lock.run_id)))
    if len(locks) > SHOWN:  # the query is capped too: no count that could be wrong
        blocks.append(section("…and more of your runs hold or wait for a lock."))
    return blocks
