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
    details,
    grants,
    runs,
    schedules,
    scheduling,
    shortcuts,
    tokens,
)


def register(app: AsyncApp) -> None:
    listeners = (commands, catalog, runs, admin, approvals, grants, details, tokens)
    for module in (*listeners, shortcuts, schedules, scheduling):
        module.register(app)
