"""Markdown -> Slack mrkdwn conversion, escaping and truncation."""

import pytest

from bot.mrkdwn import escape, to_mrkdwn, truncate

OPSLEVEL_TEMPLATE = (
    "## Congratulations!\n"
    "Your request for **Checkout API** succeeded. "
    "See the incident here: [INC-42](https://pd.example.com/i/42)"
)
OPSLEVEL_EXPECTED = (
    "*Congratulations!*\n"
    "Your request for *Checkout API* succeeded. "
    "See the incident here: <https://pd.example.com/i/42|INC-42>"
)

CASES = [
    # --- the example from the docs -----------------------------------------------------
    ("opslevel-example", OPSLEVEL_TEMPLATE, OPSLEVEL_EXPECTED),
    # --- headings ----------------------------------------------------------------------
    ("h1", "# Title", "*Title*"),
    ("h6", "###### Deep", "*Deep*"),
    ("heading-closing-hashes", "## Done ##", "*Done*"),
    ("heading-keeps-inner-hash", "# C# rocks", "*C# rocks*"),
    ("heading-indented", "   ### Spaced", "*Spaced*"),
    ("heading-with-bold-drops-inner-stars", "## **Deploy** done", "*Deploy done*"),
    ("heading-with-italic", "## Step _one_", "*Step _one_*"),
    ("heading-empty", "Above\n##\nBelow", "Above\n\nBelow"),
    ("hashtag-is-not-heading", "#deploys channel", "#deploys channel"),
    ("seven-hashes-is-not-heading", "####### no", "####### no"),
    # --- emphasis ----------------------------------------------------------------------
    ("bold-stars", "**bold**", "*bold*"),
    ("bold-underscores", "__bold__", "*bold*"),
    ("italic-star", "*italic*", "_italic_"),
    ("italic-underscore", "_italic_", "_italic_"),
    ("strike", "~~gone~~", "~gone~"),
    ("bold-italic", "***both***", "*_both_*"),
    ("italic-inside-bold", "**very *much* so**", "*very _much_ so*"),
    ("bold-inside-italic", "_a **b** c_", "_a *b* c_"),
    ("several-spans", "**a** and *b* and ~~c~~", "*a* and _b_ and ~c~"),
    ("snake-case-unchanged", "set my_var_name and MY_CONST_X", "set my_var_name and MY_CONST_X"),
    ("dunder-mid-word-unchanged", "foo__bar__baz", "foo__bar__baz"),
    ("multiplication-unchanged", "2 * 3 * 4", "2 * 3 * 4"),
    ("star-mid-word-unchanged", "a*b*c", "a*b*c"),
    ("spaced-delimiters-unchanged", "** not bold **", "** not bold **"),
    ("lone-tildes-unchanged", "~5 minutes", "~5 minutes"),
    ("backslash-escaped-stars", r"\*literal\*", "*literal*"),
    # --- links -------------------------------------------------------------------------
    ("link", "[Docs](https://docs.example.com)", "<https://docs.example.com|Docs>"),
    ("link-text-equals-url", "[https://x.io](https://x.io)", "<https://x.io>"),
    ("link-empty-text", "[](https://x.io)", "<https://x.io>"),
    ("link-with-title", '[Docs](https://d.io "The docs")', "<https://d.io|Docs>"),
    ("link-angle-url", "[Docs](<https://d.io/a b>)", "<https://d.io/a%20b|Docs>"),
    ("link-url-with-parens", "[Foo](https://w.org/Foo_(bar))", "<https://w.org/Foo_(bar)|Foo>"),
    ("link-url-ampersand", "[q](https://x.io/?a=1&b=2)", "<https://x.io/?a=1&amp;b=2|q>"),
    ("link-url-pipe-encoded", "[q](https://x.io/a|b)", "<https://x.io/a%7Cb|q>"),
    ("image", "![diagram](https://x.io/d.png)", "<https://x.io/d.png|diagram>"),
    ("image-no-alt", "![](https://x.io/d.png)", "<https://x.io/d.png>"),
    ("bold-link", "**[bold link](https://x)**", "*<https://x|bold link>*"),
    ("link-with-bold-text", "[**bold** text](https://x)", "<https://x|*bold* text>"),
    ("link-text-escaped", "[a < b](https://x)", "<https://x|a &lt; b>"),
    ("link-url-underscores-stars", "[x](https://x.com/a_b_c*d)", "<https://x.com/a_b_c*d|x>"),
    (
        "link-url-markdown-chars-not-formatted",
        "_see_ [here](https://x.com/_a_/**b**/~~c~~) _now_",
        "_see_ <https://x.com/_a_/**b**/~~c~~|here> _now_",
    ),
    ("bare-url-underscores-stars", "go https://x.com/a_b_c*d now", "go https://x.com/a_b_c*d now"),
    ("bare-url-in-italics", "_https://x.com/a_b_", "_https://x.com/a_b_"),
    ("bare-url-trailing-period", "see https://x.com/_a_.", "see https://x.com/_a_."),
    ("bare-url-ampersand", "https://x.io/?a=1&b=2", "https://x.io/?a=1&amp;b=2"),
    ("autolink", "<https://x.io/a_b_>", "<https://x.io/a_b_>"),
    ("autolink-ampersand", "<https://x.io/?a&b>", "<https://x.io/?a&amp;b>"),
    ("email-autolink", "<ops@example.com>", "<mailto:ops@example.com|ops@example.com>"),
    # A scheme-less target must not become a Slack channel, user or @channel token.
    ("relative-link-text-only", "[Setup](#setup)", "Setup"),
    ("fake-channel-link", "[x](#C123)", "x"),
    ("fake-broadcast-link", "[x](!channel)", "x"),
    ("unclosed-link-syntax", "[not a link] (https://x)", "[not a link] (https://x)"),
    # --- lists -------------------------------------------------------------------------
    ("dash-list", "- one\n- two", "\u2022 one\n\u2022 two"),
    ("star-list", "* one", "\u2022 one"),
    ("plus-list", "+ one", "\u2022 one"),
    ("nested-list-keeps-indent", "- a\n  - b\n    * c", "\u2022 a\n  \u2022 b\n    \u2022 c"),
    ("list-item-formatting", "- **bold** item", "\u2022 *bold* item"),
    ("numbered-list-unchanged", "1. first\n2. second", "1. first\n2. second"),
    ("numbered-paren-unchanged", "1) first", "1) first"),
    ("dash-without-space-unchanged", "-1 degrees", "-1 degrees"),
    ("thematic-break-not-a-list", "* * *", "* * *"),
    ("list-in-quote", "> - item", "> \u2022 item"),
    # --- code --------------------------------------------------------------------------
    ("inline-code", "run `**not bold** _x_ [a](b)`", "run `**not bold** _x_ [a](b)`"),
    ("inline-code-escapes-only", "`a < b && c`", "`a &lt; b &amp;&amp; c`"),
    ("inline-code-double-ticks", "``has ` tick``", "`has ` tick`"),
    ("inline-code-keeps-entities", "`&amp; &lt;`", "`&amp; &lt;`"),
    ("unmatched-backtick", "it`s **ok**", "it`s *ok*"),
    (
        "fenced-block-untouched",
        "Before **b**\n```\n**x** _y_ [l](https://x) # h\n- item\n```\nAfter **b**",
        "Before *b*\n```\n**x** _y_ [l](https://x) # h\n- item\n```\nAfter *b*",
    ),
    ("fence-info-string-dropped", "```python\nprint(1)\n```", "```\nprint(1)\n```"),
    (
        "fenced-block-escaped",
        "```\nif a < b && c > d:\n```",
        "```\nif a &lt; b &amp;&amp; c &gt; d:\n```",
    ),
    ("tilde-fence", "~~~\n~~x~~\n~~~", "```\n~~x~~\n```"),
    ("long-fence-needs-long-close", "````\n```\n````", "```\n```\n```"),
    ("unclosed-fence-is-closed", "```\ncode **x**", "```\ncode **x**\n```"),
    ("fence-keeps-blank-lines", "```\na\n\n\n\n\nb\n```", "```\na\n\n\n\n\nb\n```"),
    ("fence-indent-removed", "  ```\n  x\n    y\n  ```", "```\nx\n  y\n```"),
    # --- Slack syntax preserved --------------------------------------------------------
    ("user-mention", "hi <@U123>", "hi <@U123>"),
    ("user-mention-labelled", "hi <@U123|alice>", "hi <@U123|alice>"),
    ("channel-mention", "see <#C123> and <#C9|ops>", "see <#C123> and <#C9|ops>"),
    ("special-mention", "<!here> <!channel>", "<!here> <!channel>"),
    ("usergroup", "<!subteam^S1|@oncall>", "<!subteam^S1|@oncall>"),
    ("slack-link", "<https://x.io/a_b|the *text*>", "<https://x.io/a_b|the *text*>"),
    ("emoji", ":white_check_mark: done :+1:", ":white_check_mark: done :+1:"),
    ("emoji-skin-tone", ":wave::skin-tone-2:", ":wave::skin-tone-2:"),
    ("emoji-inside-bold", "**:rocket_ship: shipped**", "*:rocket_ship: shipped*"),
    # --- escaping ----------------------------------------------------------------------
    ("escape-text", "a < b & c > d", "a &lt; b &amp; c &gt; d"),
    ("no-double-escape", "&amp; &lt; &gt;", "&amp; &lt; &gt;"),
    ("html-entities-decoded", "&copy; &#39;", "\u00a9 '"),
    ("decoded-entity-re-escaped", "&#60;!channel&#62;", "&lt;!channel&gt;"),
    ("unknown-entity-escaped", "&bogus; AT&T", "&amp;bogus; AT&amp;T"),
    ("html-tag-escaped", "<b>hi</b>", "&lt;b&gt;hi&lt;/b&gt;"),
    ("not-a-mention", "<!-- comment -->", "&lt;!-- comment --&gt;"),
    ("arrow-escaped", "a -> b => c", "a -&gt; b =&gt; c"),
    ("backslash-escaped-lt", r"\<@U1\>", "&lt;@U1&gt;"),
    # --- blockquotes -------------------------------------------------------------------
    ("blockquote", "> quote", "> quote"),
    ("blockquote-no-space", ">quote", "> quote"),
    ("blockquote-nested-collapsed", "> > deep", "> deep"),
    ("blockquote-empty-line", "> a\n>\n> b", "> a\n>\n> b"),
    ("blockquote-inline", "> **b** < c", "> *b* &lt; c"),
    ("blockquote-heading", "> ## Note", "> *Note*"),
    ("gt-mid-line-escaped", "x > y", "x &gt; y"),
    # --- whitespace --------------------------------------------------------------------
    ("collapse-blank-lines", "a\n\n\n\n\nb", "a\n\n\nb"),
    ("two-blank-lines-kept", "a\n\n\nb", "a\n\n\nb"),
    ("whitespace-only-lines-are-blank", "a\n  \n\t\n \n \nb", "a\n\n\nb"),
    ("trailing-whitespace-stripped", "a  \n\n\n", "a"),
    ("crlf", "**a**\r\n- b\r\n", "*a*\n\u2022 b"),
    ("empty", "", ""),
    ("sentinel-chars-removed", "a\x00b\x01c\x02", "abc"),
]


@pytest.mark.parametrize(
    ("markdown", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_to_mrkdwn(markdown: str, expected: str) -> None:
    assert to_mrkdwn(markdown) == expected


def test_rendered_input_stays_inert() -> None:
    # A value escaped with escape() and pasted into a template must not come back to life.
    template = f"Requested by {escape('<!channel> & co')} for **prod**"
    assert to_mrkdwn(template) == "Requested by &lt;!channel&gt; &amp; co for *prod*"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<!channel> & <@U1>", "&lt;!channel&gt; &amp; &lt;@U1&gt;"),
        ("<https://evil.example|bank>", "&lt;https://evil.example|bank&gt;"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        # User input is plain text: an `&amp;` they typed is shown literally, not decoded.
        ("&amp;", "&amp;amp;"),
        ("*bold* _x_ :smile:", "*bold* _x_ :smile:"),
        ("", ""),
    ],
    ids=["mentions", "fake-link", "operators", "entity-literal", "only-three-chars", "empty"],
)
def test_escape(text: str, expected: str) -> None:
    assert escape(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "suffix", "expected"),
    [
        ("short", 10, "\u2026", "short"),
        ("exact", 5, "\u2026", "exact"),
        ("abcdef", 4, "\u2026", "abc\u2026"),
        ("abcdef", 4, "...", "a..."),
        ("abcdef", 3, "", "abc"),
        ("hello world", 8, "\u2026", "hello w\u2026"),
        # Whitespace before the suffix is dropped so it doesn't read "hello \u2026".
        ("hello world", 7, "\u2026", "hello\u2026"),
        # Never inside an entity: "x &a" would be cut from "x &amp; y".
        ("x &amp; y", 5, "\u2026", "x\u2026"),
        ("x &amp; y", 8, "\u2026", "x &amp;\u2026"),
        ("&lt;&lt;&lt;", 6, "\u2026", "&lt;\u2026"),
        # Never inside a link or mention token.
        ("see <https://x.io|docs> ok", 15, "\u2026", "see\u2026"),
        ("see <https://x.io|docs> ok", 25, "\u2026", "see <https://x.io|docs>\u2026"),
        ("ping <@U12345>", 10, "\u2026", "ping\u2026"),
        ("<@U12345>", 5, "\u2026", "\u2026"),
        # Nor inside an emoji shortcode.
        ("ok :white_check_mark:", 10, "\u2026", "ok\u2026"),
        # Suffix as long as (or longer than) the limit.
        ("abcdef", 1, "\u2026", "\u2026"),
        ("abcdef", 2, "...", ".."),
        ("abcdef", 0, "\u2026", ""),
        ("", 0, "\u2026", ""),
    ],
)
def test_truncate(text: str, limit: int, suffix: str, expected: str) -> None:
    result = truncate(text, limit, suffix)
    assert result == expected
    assert len(result) <= limit


def test_truncate_default_suffix() -> None:
    assert truncate("abcdef", 4) == "abc\u2026"


def test_truncate_negative_limit() -> None:
    with pytest.raises(ValueError):
        truncate("abc", -1)


@pytest.mark.parametrize("limit", range(0, 40))
def test_truncate_never_splits_tokens(limit: int) -> None:
    text = to_mrkdwn("A & B <@U1> [docs](https://x.io/?a=1&b=2) :tada: done")
    result = truncate(text, limit)
    assert len(result) <= limit
    body = result.removesuffix("\u2026")
    # Every `&` and `<` that survives starts a complete entity / token.
    assert body.count("<") == body.count(">")
    for i, char in enumerate(body):
        if char == "&":
            assert ";" in body[i:]
