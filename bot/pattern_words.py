"""Regular expressions, said in words: people are told "Use up to 7 digits", not `^\\d{1,7}$`.

Only simple, common shapes are described: one run of characters from a class, anchored at
both ends (`^[a-z0-9-]+$`, `^\\d{6}$`, `^[A-Z]{2,5}$`). Anything else gets None, and the
caller falls back to a hint the author wrote, or to "doesn't match the expected format".
"""

from __future__ import annotations

import re

# One character class, one quantifier, anchored: the shapes worth describing.
_SHAPE = re.compile(
    r"^\^(?P<cls>\\d|\\w|\[(?P<set>[^\]\\]*(?:\\.[^\]\\]*)*)\])"
    r"(?P<q>\+|\*|\{(?P<a>\d+)(?P<comma>,)?(?P<b>\d*)\})\$$"
)
_RANGES = {
    "a-z": "lowercase letters",
    "A-Z": "capital letters",
    "0-9": "digits",
}
_HEX = {"0-9a-f", "a-f0-9", "0-9a-fA-F", "0-9A-Fa-f", "a-fA-F0-9", "A-Fa-f0-9"}
_SINGLES = {"_": "underscores", "-": "hyphens", ".": "dots", " ": "spaces", "\\.": "dots"}


def _class_words(found: re.Match[str]) -> list[str] | None:
    if found["cls"] == r"\d":
        return ["digits"]
    if found["cls"] == r"\w":
        return ["letters", "digits", "underscores"]
    members = found["set"] or ""
    if members in _HEX:
        return ["hex digits (0-9, a-f)"]
    words: list[str] = []
    for text, word in _RANGES.items():
        if text in members:
            members = members.replace(text, "", 1)
            words.append(word)
    members = members.replace("\\d", "", 1) if "\\d" in members else members
    if "\\d" in (found["set"] or "") and "digits" not in words:
        words.append("digits")
    for text, word in _SINGLES.items():
        if text in members:
            members = members.replace(text, "", 1)
            words.append(word)
    if members or not words:  # something we can't name: say nothing rather than be wrong
        return None
    if {"lowercase letters", "capital letters"} <= set(words):
        words = ["letters", *(w for w in words if not w.endswith("letters"))]
    return words


def _count(found: re.Match[str]) -> str:
    """'', 'exactly 6 ', 'up to 7 ', '3 to 20 ' or 'at least 2 '."""
    if found["q"] in ("+", "*"):
        return ""
    low = int(found["a"])
    if not found["comma"]:
        return f"exactly {low} "
    if not found["b"]:
        return f"at least {low} " if low > 1 else ""
    high = int(found["b"])
    return f"up to {high} " if low <= 1 else f"{low} to {high} "


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def describe(pattern: str) -> str | None:
    """`^\\d{1,7}$` → "Use up to 7 digits"; None when the pattern is not a simple shape."""
    found = _SHAPE.match(pattern.strip())
    if found is None:
        return None
    words = _class_words(found)
    if words is None:
        return None
    count = _count(found)
    only = "" if count else "only "
    return f"Use {count}{only}{_join(words)}"
