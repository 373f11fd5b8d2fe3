"""The playground's routes, one router per concern (the bot's own routes come after them).

- `page`: the page and its static files
- `slack_api`: Slack's side of the wire, which the bot calls
- `client`: the page as a Slack client, acting for its person
- `inspector`: the side panel (runs and their audit trail, Slack traffic, setup)
- `receiver`: the echo receiver and how it answers
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from bot.playground.context import Playground
from bot.playground.routes import page
from bot.playground.routes.client import Client
from bot.playground.routes.inspector import Inspector
from bot.playground.routes.receiver import Receiver
from bot.playground.routes.slack_api import SlackApi


def routes(pg: Playground) -> list[BaseRoute]:
    return [
        *page.routes(),
        *SlackApi(pg).routes(),
        *Client(pg).routes(),
        *Inspector(pg).routes(),
        *Receiver(pg).routes(),
    ]
