"""Convert Markdown response templates to Slack "mrkdwn".

Action owners write templates in ordinary Markdown (the way OpsLevel does), but Slack
understands a different dialect: single `*` for bold, `_` for italic, `~` for strike,
`<url|text>` for links, and `&`, `<`, `>` must be sent as HTML entities. This module
does that translation, plus the escaping and truncation helpers needed to put text
into a Slack message safely.

The converter works line by line (so fenced code blocks can be skipped wholesale) and,
inside a line, first lifts out everything that must not be touched (code spans, links,
Slack tokens, URLs, ...) into numbered placeholders. Only then is the remaining text
escaped and the emphasis markers rewritten, so `_` or `*` inside a URL or code span can
never be mistaken for formatting.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

__all__ = ["escape", "inert", "local_time", "safe_url", "to_mrkdwn", "truncate"]

BULLET = "\u2022"
ELLIPSIS = "\u2026"

# Placeholders use control characters that cannot survive in the input (they are removed
# up front), so a template can never forge one.
_PH_OPEN = "\x00"
_BOLD = "\x01"  # emitted for bold, turned into `*` last so the italic pass can't see it
_ITALIC = "\x02"  # same idea for italic, so `*x*` -> `_x_` isn't re-read as `_`-italic
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_SENTINELS = re.compile("[\x00\x01\x02]")

# --- block level -----------------------------------------------------------------------

_FENCE_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$")
_HEADING_CLOSE = re.compile(r"(?:^|[ \t]+)#+$")
# Slack has a single level of quoting, so `> > x` collapses to one `>`.
_QUOTE = re.compile(r"^ {0,3}>(?:[ \t]*>)*[ \t]?")
_LIST_ITEM = re.compile(r"^([ \t]*)[-*+][ \t]+(?=\S)")
# `---`, `* * *`, `___`: there is no Slack equivalent, and `* * *` must not become a list.
_THEMATIC_BREAK = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")

# --- inline level ----------------------------------------------------------------------

_LINK_SCHEME = re.compile(r"^(?:https?://|mailto:)", re.IGNORECASE)
_BARE_URL_TRAILING = ".,;:!?'\"*_~]"

_INLINE = re.compile(
    r"""
      (?P<code>(?<!`)(?P<ticks>`+)(?!`)(?P<code_body>.+?)(?<!`)(?P=ticks)(?!`))
    | \\(?P<escaped>[!-/:-@\[-`{-~])
    | (?P<image>!)?
      \[(?P<text>(?:\\.|[^\[\]\\]|\[(?:\\.|[^\[\]\\])*\])*)\]
      \(\s*
        (?:<(?P<angle_url>[^<>\n]*)>
          |(?P<url>(?:\\.|[^\s()\\]|\((?:\\.|[^\s()\\])*\))+)
        )?
        (?:\s+(?:"[^"]*"|'[^']*'|\([^()]*\)))?
      \s*\)
    | (?P<slack><(?:[@\#!][^\s<>|]+|[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>|]+)\|[^<>]*>
               |<[@\#!][^\s<>|]+>)
    | <(?P<autolink>[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>
    | <(?P<email>[A-Za-z0-9.!\#$%&'*+/=?^_`{}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)>
    | (?P<bare_url>(?<![\w/])(?:https?|ftp)://(?:(?!&(?:lt|gt);)[^\s<>])+)
    | (?P<emoji>(?<!\w):[A-Za-z0-9_+'-]+:(?!\w))
    | (?P<entity>&(?:\#[0-9]{1,7}|\#[xX][0-9A-Fa-f]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)
    """,
    re.VERBOSE,
)

# Emphasis requires non-word characters around the delimiters, like Slack itself does, so
# `my_var_name` or `2*3*4` are left alone. Contents may not contain the delimiter itself,
# which keeps `**a**b **c**` from being read as one long span.
_BOLD_ITALIC_STAR = re.compile(r"(?<![\w*])\*\*\*(?=[^\s*])([^*]*?[^\s*])\*\*\*(?![\w*])")
_BOLD_STAR = re.compile(r"(?<![\w*])\*\*(?=[^\s*])((?:[^*]|\*(?!\*))*?[^\s*])\*\*(?![\w*])")
_BOLD_UNDER = re.compile(r"(?<![\w_])__(?=[^\s_])((?:[^_]|_(?!_))*?[^\s_])__(?![\w_])")
_ITALIC_STAR = re.compile(r"(?<![\w*])\*(?=[^\s*])([^*]*?[^\s*])\*(?![\w*])")
_ITALIC_UNDER = re.compile(r"(?<![\w_])_(?=[^\s_])([^_]*?[^\s_])_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~~(?=[^\s~])((?:[^~]|~(?!~))*?[^\s~])~~(?![\w~])")

# `@channel`, `@here` and `@everyone` typed as plain words: a word joiner after the `@`
# keeps them from ever being read as a broadcast, and is invisible to the reader.
_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_WORD_JOINER = "\u2060"
# `[` and `]` of an untrusted value, as entities: to_mrkdwn shows them as plain brackets
# but never reads them as Markdown link syntax.
_INERT_BRACKETS = {"[": "&#91;", "]": "&#93;"}
_INERT_ENTITY = re.compile("&#9[13];")

# Existing entities are kept as they are instead of being escaped a second time.
_RAW_AMP = re.compile(r"&(?!(?:amp|lt|gt);)")

# Things truncate() must not cut through: entities, `<...>` tokens, emoji shortcodes.
_ATOM = re.compile(
    r"&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]*);|<[^<>]*>|:[A-Za-z0-9_+'-]+:"
)


def escape(text: str) -> str:
    """Escape `&`, `<` and `>` so *text* is shown literally in a Slack message.

    Meant for untrusted values (action inputs, user names): everything is escaped,
    including an `&` that already looks like an entity, so the user sees exactly what
    they typed and `<!channel>` or `<https://evil|bank>` can never become a mention or
    a link; a bare `@channel` or `@here` is neutralised too.
    """
    return _BROADCAST.sub("@" + _WORD_JOINER, _escape_html(text))


def local_time(moment: datetime, fmt: str = "{date_short_pretty} {time}") -> str:
    """A time every reader sees in their own time zone; clients that cannot show it read
    the UTC fallback."""
    stamp = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = f"{stamp.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(stamp.timestamp())}^{fmt}|{fallback}>"


def inert(text: str) -> str:
    """Escape an untrusted value for a Markdown template that to_mrkdwn will convert.

    Like escape(), and `[`/`]` become entities as well, so a value holding
    `[click](https://evil)` stays text instead of turning into a disguised link.
    """
    return "".join(_INERT_BRACKETS.get(char, char) for char in escape(text))


def safe_url(url: str) -> bool:
    """Whether *url* may become a Slack link or button: http(s), nothing that ends a token."""
    return (
        bool(re.match(r"^https?://[^/?#\s]", url, re.IGNORECASE))
        and not any(char in "<>|" or char.isspace() or ord(char) < 32 for char in url)
        and len(url) <= 3000
    )


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _uninert(text: str) -> str:
    # Code and URLs are shown verbatim: the bracket entities of inert() are undone there.
    return _INERT_ENTITY.sub(lambda m: "[" if m[0] == "&#91;" else "]", text)


def _escape_keep_entities(text: str) -> str:
    # For code and URLs coming from the template: escape, but leave `&amp;`, `&lt;` and
    # `&gt;` alone, since the template may already contain Slack-escaped text.
    return _RAW_AMP.sub("&amp;", _uninert(text)).replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Convert a Markdown template to Slack mrkdwn.

    Headings become bold lines, `**b**`/`__b__` -> `*b*`, `*i*`/`_i_` -> `_i_`,
    `~~s~~` -> `~s~`, `[text](url)` and `![alt](url)` -> `<url|text>`, list bullets
    become `•`. Code spans, fenced code blocks, Slack tokens (`<@U1>`, `<!here>`,
    `<url|text>`) and emoji shortcodes are left alone, and all other `&`, `<`, `>` are
    escaped, except a leading `>` which stays a Slack blockquote.
    """
    text = _SENTINELS.sub("", markdown.replace("\r\n", "\n").replace("\r", "\n"))
    out: list[tuple[str, bool]] = []  # (line, is_code): code lines are never collapsed
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        fence = _FENCE_OPEN.match(lines[i])
        # A backtick fence's info string may not contain backticks (CommonMark), which is
        # what tells "```js" apart from an inline "```code```" on one line.
        if fence and not (fence[2][0] == "`" and "`" in fence[3]):
            i = _convert_fence(lines, i, fence, out)
            continue
        out.append((_convert_line(lines[i]), False))
        i += 1
    return _join(out)


def _convert_fence(
    lines: list[str], start: int, fence: re.Match[str], out: list[tuple[str, bool]]
) -> int:
    """Copy a fenced block verbatim (escaped only) and return the index after it."""
    indent, marker = len(fence[1]), fence[2]
    closing = re.compile(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}[ \t]*$")
    # Slack has no syntax highlighting: an info string like "python" would just be shown
    # as the first line of the block, so it is dropped.
    out.append(("```", True))
    i = start + 1
    while i < len(lines) and not closing.match(lines[i]):
        line = lines[i]
        # Content is de-indented by the fence's own indentation, as CommonMark does.
        strip = len(line) - len(line.lstrip(" "))
        out.append((_escape_keep_entities(line[min(indent, strip) :]), True))
        i += 1
    # An unclosed fence runs to the end of the document; close it so Slack does too.
    out.append(("```", True))
    return i + 1


def _convert_line(line: str) -> str:
    prefix = ""
    quote = _QUOTE.match(line)
    if quote:
        prefix, line = ">", line[quote.end() :]
    body = _convert_block(line)
    if prefix:
        return f"{prefix} {body}" if body else prefix
    return body


def _convert_block(line: str) -> str:
    heading = _HEADING.match(line)
    if heading:
        content = _HEADING_CLOSE.sub("", heading[2] or "").strip()
        # Slack can't nest bold, so bold inside a heading just loses its markers.
        inner = _convert_inline(content, bold="")
        return f"*{inner}*" if inner else ""
    if _THEMATIC_BREAK.match(line):
        return line.strip()
    item = _LIST_ITEM.match(line)
    if item:
        return f"{item[1]}{BULLET} {_convert_inline(line[item.end() :])}"
    return _convert_inline(line)


def _convert_inline(text: str, bold: str = "*") -> str:
    stash: list[str] = []

    def keep(value: str) -> str:
        stash.append(value)
        return f"{_PH_OPEN}{len(stash) - 1}{_PH_OPEN}"

    def protect(m: re.Match[str]) -> str:
        if m["code"] is not None:
            return keep(f"`{_escape_keep_entities(_code_body(m['code_body']))}`")
        if m["escaped"] is not None:
            return keep(_escape_html(m["escaped"]))
        if m["text"] is not None:
            return keep(_link(m, bold))
        if m["slack"] is not None:
            return keep(m["slack"])
        if m["autolink"] is not None:
            return keep(f"<{_clean_url(m['autolink'])}>")
        if m["email"] is not None:
            address = _escape_keep_entities(m["email"])
            return keep(f"<mailto:{address}|{address}>")
        if m["bare_url"] is not None:
            url, rest = _split_bare_url(m["bare_url"])
            return keep(_escape_keep_entities(url)) + rest
        if m["emoji"] is not None:
            return keep(m["emoji"])
        return keep(_entity(m["entity"]))

    protected = _INLINE.sub(protect, text)
    result = _emphasis(_escape_html(protected), bold)
    return _PLACEHOLDER.sub(lambda m: stash[int(m[1])], result)


def _code_body(body: str) -> str:
    # CommonMark strips one space on each side so `` ` `x` ` `` can show backticks.
    if len(body) > 2 and body[0] == body[-1] == " " and body.strip():
        return body[1:-1]
    return body


def _link(m: re.Match[str], bold: str) -> str:
    raw_url = m["angle_url"] if m["angle_url"] is not None else (m["url"] or "")
    url = _uninert(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", raw_url.strip()))
    label = _convert_inline(m["text"], bold)
    # Only web and mail URLs become links: a relative or scheme-less target such as `#C123`,
    # `@U123` or `!channel` would otherwise turn into a Slack channel/user/@channel token,
    # and a value used as the target may hold any scheme.
    if not _LINK_SCHEME.match(url):
        return label
    target = _clean_url(url)
    if not label.strip() or m["text"].strip() == url:
        return f"<{target}>"
    return f"<{target}|{label}>"


def _clean_url(url: str) -> str:
    # `|` would end the URL part of a Slack link and spaces aren't allowed in it.
    return _escape_keep_entities(url.replace("|", "%7C").replace(" ", "%20"))


def _split_bare_url(url: str) -> tuple[str, str]:
    # Sentence punctuation and emphasis markers after a bare URL belong to the text,
    # e.g. "see https://x.com/a." or "**https://x.com**".
    end = len(url)
    while end > 0:
        char = url[end - 1]
        if char in _BARE_URL_TRAILING or (
            char == ")" and url[:end].count(")") > url[:end].count("(")
        ):
            end -= 1
        else:
            break
    return url[:end], url[end:]


def _entity(entity: str) -> str:
    # Slack only knows &amp; &lt; &gt;, so other HTML entities (&copy;, &#39;, ...) are
    # decoded to their character; unknown ones are shown literally.
    decoded = html.unescape(entity)
    return _escape_html(decoded) if decoded != entity else _escape_html(entity)


def _emphasis(text: str, bold: str) -> str:
    text = _BOLD_ITALIC_STAR.sub(rf"{_BOLD}{_ITALIC}\1{_ITALIC}{_BOLD}", text)
    text = _BOLD_STAR.sub(rf"{_BOLD}\1{_BOLD}", text)
    text = _BOLD_UNDER.sub(rf"{_BOLD}\1{_BOLD}", text)
    text = _ITALIC_STAR.sub(rf"{_ITALIC}\1{_ITALIC}", text)
    text = _ITALIC_UNDER.sub(rf"{_ITALIC}\1{_ITALIC}", text)
    text = _STRIKE.sub(r"~\1~", text)
    return text.replace(_BOLD, bold).replace(_ITALIC, "_")


def _join(lines: list[tuple[str, bool]]) -> str:
    result: list[str] = []
    blanks = 0
    for line, is_code in lines:
        if not is_code and not line.strip():
            blanks += 1
            # Templates often leave gaps around Liquid tags; keep at most two blank lines.
            if blanks > 2:
                continue
            line = ""
        else:
            blanks = 0
        result.append(line)
    return "\n".join(result).rstrip()


def truncate(text: str, limit: int, suffix: str = ELLIPSIS) -> str:
    """Shorten mrkdwn *text* to at most *limit* characters, suffix included.

    The cut never lands inside an entity such as `&amp;`, a `<url|text>`/`<@U1>` token
    or an emoji shortcode, since a half token would render as garbage or break the
    message; the cut moves back to just before it instead.
    """
    if limit < 0:
        raise ValueError("limit must not be negative")
    if len(text) <= limit:
        return text
    if len(suffix) >= limit:
        return suffix[:limit]
    cut = limit - len(suffix)
    for atom in _ATOM.finditer(text):
        if atom.start() >= cut:
            break
        if atom.end() > cut:
            cut = atom.start()
            break
    return text[:cut].rstrip() + suffix
