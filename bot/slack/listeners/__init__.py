"""Listeners grouped by Slack surface; each module's register(app) only wires.

Listeners are top-level functions. They find the runtime and the parsed request among
their arguments (bot.slack.middleware puts them in Bolt's context); who may use a
listener is decided by the guards it is wired with (bot.slack.guards).
"""

from slack_bolt.async_app import AsyncApp

from bot.slack.listeners import (
    admin,
    approvals,
    catalog,
    commands,
    runs,
    schedules,
    scheduling,
    shortcuts,
)


def register(app: AsyncApp) -> None:
    for module in (commands, catalog, runs, admin, approvals, shortcuts, schedules, scheduling):
        module.register(app)
