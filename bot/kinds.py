"""The bot's vocabulary: the statuses and kinds every layer speaks of, in one place.

StrEnums, so a member is also its string: what the database stores, what templates and
audit events show, and what older rows already hold.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    PENDING = "PENDING"  # queued or retrying
    RUNNING = "RUNNING"  # an async receiver accepted it and will call back
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    TIMED_OUT = "TIMED_OUT"
    CANCELLED = "CANCELLED"
    PENDING_APPROVAL = "PENDING_APPROVAL"  # nothing is sent until enough approvers agree
    DENIED = "DENIED"
    EXPIRED = "EXPIRED"  # no decision in time
    WITHDRAWN = "WITHDRAWN"  # the requester took it back


FINAL = frozenset(
    {
        RunStatus.SUCCESS,
        RunStatus.FAILURE,
        RunStatus.TIMED_OUT,
        RunStatus.CANCELLED,
        RunStatus.DENIED,
        RunStatus.EXPIRED,
        RunStatus.WITHDRAWN,
    }
)


class RunKind(StrEnum):
    RUN = "run"  # someone ran an action
    REVERT = "revert"  # a time-limited run's undo, a child of that run
    EXTEND = "extend"  # a request to extend a time-limited run, waiting for approval


class GrantState(StrEnum):
    """Where a time-limited run stands: what its status message and Home tab show."""

    ACTIVE = "active"  # granted; the revert is scheduled
    REVERTING = "reverting"  # the revert is due or being sent
    REVERTED = "reverted"
    REVERT_FAILED = "revert_failed"  # still granted: someone must retry or undo it


class JobKind(StrEnum):
    """What a durable job does; each kind has exactly one handler."""

    ANNOUNCE = "announce"  # post the run's status message
    DELIVER = "deliver"  # render, sign and send the webhook
    REPORT = "report"  # the threaded result
    PROGRESS = "progress"  # a note in the run's thread
    DEADLINE = "deadline"  # an async run times out
    APPROVAL_REQUEST = "approval_request"
    APPROVAL_UPDATE = "approval_update"
    APPROVAL_EXPIRY = "approval_expiry"
    REVERT = "revert"  # a time-limited run's revert is due
    EXPIRY_NOTICE = "expiry_notice"
    EXPIRY_WARNING = "expiry_warning"  # a DM shortly before a grant expires, offering Extend
    ESCALATE = "escalate"  # a revert failed: tell the owner team
    EXTEND_APPLY = "extend_apply"  # an approved extension takes effect
    AUDIT_SINK = "audit_sink"  # stream the audit chain to one sink
    CI_FOLLOW = "ci_follow"  # poll a dispatched CI run until it completes
    CHAIN = "chain"  # start a finished run's on_success / on_failure action
    SCHEDULE_FIRE = "schedule_fire"  # one firing of a schedule: a run as its owner


class JobStatus(StrEnum):
    """Where a job stands; set by the worker."""

    QUEUED = "queued"  # waiting until due (new, released, or waiting for another job)
    RUNNING = "running"  # claimed by a worker
    DONE = "done"  # handled, or closed because its run ended
    FAILED = "failed"  # its last attempt failed; it will be tried again
    GIVEN_UP = "given_up"  # failed too often: nothing will try it again


class DeliveryErrorKind(StrEnum):
    """How a webhook request failed without an HTTP answer."""

    BLOCKED = "blocked"  # its target is on a private network
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    INVALID_URL = "invalid_url"
    PROTOCOL = "protocol"  # anything else httpx raised, or a body that would not decode


class Scope(StrEnum):
    """What an API token may do."""

    ACTIONS_READ = "actions:read"  # list and describe actions, their options
    RUNS_READ = "runs:read"  # read runs
    RUNS_WRITE = "runs:write"  # start and cancel runs


class CiProvider(StrEnum):
    """The CI systems an action's `backend:` can dispatch to."""

    GITHUB = "github"
    GITLAB = "gitlab"


class CiStatus(StrEnum):
    """Where a CI run stands, in one vocabulary for both systems."""

    QUEUED = "queued"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
