"""A Slack simulator on loopback, shipped with the package: for the tests, the playground and bench.

- `workspace`: `Workspace`, one Slack workspace in memory (people, channels, messages,
  modals, Home tabs, files, the call log), strict (the playground) or lenient (tests);
  `web_api`: Slack's Web API methods on it; `blockkit`: the Block Kit limits Slack enforces.
- `slack`: `FakeSlack`, a lenient workspace served over real HTTP on a thread.
- `requests`: `SlackRequests`, Slack calling the bot: signed slash commands, interactions and
  events; `sign`, `signed_headers` and `encode` build them for any HTTP client.
- `receiver`: `Receiver`, a webhook endpoint that records what the bot sends.
- `http`: the threaded loopback server the doubles share.

Nothing here verifies signatures: checks that a receiver would make stay with the tests,
written independently of the code they test.
"""

from bot.testing.receiver import Received, Receiver
from bot.testing.requests import SlackRequests, values_for
from bot.testing.slack import FakeSlack
from bot.testing.workspace import Call, User, Workspace

__all__ = [
    "Call",
    "FakeSlack",
    "Received",
    "Receiver",
    "SlackRequests",
    "User",
    "Workspace",
    "values_for",
]
