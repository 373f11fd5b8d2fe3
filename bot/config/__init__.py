"""The actions config file: loading and validation."""

from bot.config.loader import (
    ConfigError,
    Loaded,
    load_file,
    payload_errors,
    payload_warnings,
    validate,
)

__all__ = ["ConfigError", "Loaded", "load_file", "payload_errors", "payload_warnings", "validate"]
