"""pydantic's validation messages in plain words, for config files and admin forms.

Each error keeps its field path (the loader adds it); only the words change: "expected a
whole number", not "Input should be a valid integer, unable to parse string as an integer",
and never a regular expression.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.pattern_words import describe

# pydantic's messages, in the words of someone editing a config file.
_TYPE_WORDS = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected text",
    "list_type": "expected a list",
    "dict_type": "expected a mapping of keys to values",
    "model_type": "expected a mapping of keys to values",
    "model_attributes_type": "expected a mapping of keys to values",
}
_LIMIT_WORDS = {
    "string_too_short": "too short: at least {min_length} characters",
    "string_too_long": "too long: at most {max_length} characters",
    "too_short": "too few items: at least {min_length}",
    "too_long": "too many items: at most {max_length}",
    "greater_than": "must be more than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
}
_KNOWN_PATTERNS = {
    r"^[a-z0-9][a-z0-9_-]*$": "use lowercase letters, digits, - and _, starting with a letter "
    "or digit",
    r"^[A-Za-z_][A-Za-z0-9_]*$": "use letters, digits and _, not starting with a digit",
    r"^[A-Z0-9][A-Z0-9]{2,}$": "expected a Slack id: capital letters and digits, like C0123ABCD",
    r"^https?://": "must start with http:// or https://",
}


def plain_words(kind: str, ctx: Mapping[str, Any]) -> str | None:
    """A pydantic error type in plain words, or None to keep pydantic's message."""
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    if kind in _LIMIT_WORDS:
        try:
            return _LIMIT_WORDS[kind].format(**ctx)
        except (KeyError, IndexError):
            return None
    return None


def pattern_words(pattern: str) -> str:
    """A field pattern in words: known ones by name, simple ones described."""
    if pattern in _KNOWN_PATTERNS:
        return _KNOWN_PATTERNS[pattern]
    words = describe(pattern)
    return words[0].lower() + words[1:] if words else "doesn't match the expected format"
