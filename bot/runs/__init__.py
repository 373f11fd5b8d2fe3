"""The run lifecycle, one concern per module (see `facade` for the map)."""

from bot.outcomes import Outcome
from bot.runs.callbacks import CallbackResult
from bot.runs.context import Context, Notifier
from bot.runs.facade import Runs
from bot.runs.sending import retry_after
from bot.runs.submission import Submission

__all__ = ["CallbackResult", "Context", "Notifier", "Outcome", "Runs", "Submission", "retry_after"]
