"""The playground: the real bot with Slack simulated in-process, and a page to drive it.

`python -m bot playground` (or `python -m bot` with no Slack tokens) serves, on one port,
the bot's own routes, a Slack-compatible Web API the bot calls, an echo receiver for the
actions' webhooks, and a web page that behaves like a small Slack client. The page reaches
the bot only the way Slack does: signed requests to /slack/events.
"""

from bot.playground.context import Playground
from bot.playground.server import build, serve

__all__ = ["Playground", "build", "serve"]
