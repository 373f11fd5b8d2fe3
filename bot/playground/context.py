"""The playground's parts, built once by `server.build` and read by every router."""

from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette

from bot.playground import config
from bot.playground.echo import Echo
from bot.playground.interactions import Interactions
from bot.playground.workspace import PageWorkspace
from bot.runtime import Runtime
from bot.testing.github import FakeGitHub


@dataclass
class Playground:
    app: Starlette
    settings: config.PlaygroundSettings
    runtime: Runtime
    bolt: AsyncApp
    workspace: PageWorkspace
    interactions: Interactions
    echo: Echo
    originals: dict[str, str]
    stand_ins: dict[str, str]
    github: FakeGitHub | None = None  # stands in for GitHub when no credentials are set
