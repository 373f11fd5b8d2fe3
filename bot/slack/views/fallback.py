"""The `text` of every message: plain words for notifications and screen readers.

Slack shows a message's `text` in notifications, in the desktop's unread list and to
screen readers when the blocks are not read out. Formatting there is noise: `*bold*`
stars, `##` headings and `<url|label>` links are read character by character. One
function derives that text from whatever mrkdwn or Markdown the message shows.
"""

from __future__ import annotations

import re
from typing import Any

from bot.mrkdwn import truncate
from bot.slack.views.blocks import section

FALLBACK_LIMIT = 3000  # Slack truncates longer `text`; notifications show far less

_FENCE = re.compile(r"^[ \t]*(```|~~~)[^\n]*$", re.MULTILINE)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE)
_MD_LINK = re.compile(r"!?\[([^\[\]\n]*)\]\(\s*<?([^()\s<>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
_TOKEN = re.compile(r"<([^<>|\n]*)(?:\|([^<>\n]*))?>")
_EMPHASIS = (
    re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"),
    re.compile(r"(?<![\w*])__(?=\S)(.+?)(?<=\S)__(?![\w*])"),
    re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])"),
    re.compile(r"(?<!\w)_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)"),
    re.compile(r"(?<![\w~])~~?(?=\S)([^~\n]+?)(?<=\S)~~?(?![\w~])"),
    re.compile(r"`+([^`\n]+?)`+"),
)


def _token(match: re.Match[str]) -> str:
    target, label = match[1], match[2]
    if target[:1] in "@#":  # mentions read as names in notifications: keep them bare
        return f"<{target}>"
    if target.startswith("!"):
        # <!here>, <!subteam^S1> stay mentions; <!date^…|fallback> reads as its fallback
        return label if label and target.startswith("!date") else f"<{target}>"
    return label or target


def fallback(text: str, limit: int = FALLBACK_LIMIT) -> str:
    """``text`` (mrkdwn or Markdown) as plain words: no emphasis marks, headings or links."""
    out = _FENCE.sub("", text.replace("\r\n", "\n"))
    out = _HEADING.sub("", out)
    out = _MD_LINK.sub(lambda m: m[1] or m[2], out)
    out = _TOKEN.sub(_token, out)
    for pattern in _EMPHASIS:
        out = pattern.sub(r"\1", out)
    out = re.sub(r"\*{2,}", "", out)  # emphasis around nothing: `****`
    out = re.sub(r"\n{3,}", "\n\n", out).strip()
    return truncate(out, limit)


def text_message(text: str) -> dict[str, Any]:
    """A text-only message: ``text`` shown as mrkdwn in a block, its plain words as `text`."""
    return {"text": fallback(text) or " ", "blocks": [section(text)]}
