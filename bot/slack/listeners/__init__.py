"""Listeners grouped by Slack surface; each module exposes register(app, runtime)."""

from slack_bolt.async_app import AsyncApp

from bot.runtime import Runtime
from bot.slack.listeners import admin, approvals, catalog, commands, runs


def register(app: AsyncApp, runtime: Runtime) -> None:
    for module in (commands, catalog, runs, admin, approvals):
        module.register(app, runtime)
