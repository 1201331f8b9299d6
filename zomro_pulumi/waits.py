"""Waiting for an image, written as a table: pending, target, how to look, timeout.

Every wait of the provider is one `StateChange` (compare Terraform's
`StateChangeConf` and hcloud's `wait_until_finished`): the phases that keep it
waiting, the phases that end it, what an image missing from the list means,
and the error to raise.  `wait_for` runs one on the process's shared poller,
keeps the progress of that one wait in a small typed `Progress`, and says a
line on every status change and every 30 s.  Anything not pending and not a
target ends the wait with the table's error.  Answers that rule out progress
(credentials, settings) end it in the poller, for every wait at once.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Callable, Optional

from .clock import Clock
from .errors import ImageCreateError, ImageCreateTimeout, ZomroError
from .model import ImageRecord
from .poller import Sighting, StatusPoller, WaitTimeout
from .statuses import Phase, is_known

PROGRESS_EVERY = 30.0

Say = Callable[[str], None]


class Absent(enum.Enum):
    """What it means when the image list does not hold the image."""

    NOT_YET = "not listed yet: keep waiting; once it was seen, it vanished and the wait fails"
    TARGET = "gone is what the wait is for"


@dataclasses.dataclass(frozen=True)
class StateChange:
    """One kind of wait, as data."""

    goal: str
    """What the image is waited on to do, for messages: "become Active"."""
    reached: str
    """The target as a status, for messages: "Active"."""
    pending: frozenset[Phase]
    target: frozenset[Phase]
    absent: Absent
    failure: type[ZomroError]
    timeout: type[ZomroError]


APPEAR = StateChange(
    "appear in the image list",
    "listed",
    pending=frozenset(),
    target=frozenset(Phase),
    absent=Absent.NOT_YET,
    failure=ImageCreateError,
    timeout=ImageCreateTimeout,
)
BECOME_ACTIVE = StateChange(
    "become Active",
    "Active",
    pending=frozenset({Phase.PENDING}),
    target=frozenset({Phase.ACTIVE}),
    absent=Absent.NOT_YET,
    failure=ImageCreateError,
    timeout=ImageCreateTimeout,
)
DISAPPEAR = StateChange(
    "disappear from the image list",
    "gone",
    pending=frozenset({Phase.ACTIVE, Phase.PENDING, Phase.FAILED}),
    target=frozenset({Phase.GONE}),
    absent=Absent.TARGET,
    failure=ZomroError,
    timeout=ZomroError,
)


@dataclasses.dataclass
class Progress:
    """What one wait has seen and said so far."""

    label: str
    started: float
    seen: bool = False
    status: Optional[str] = None
    said_status_at: float = 0.0
    said_problem_at: Optional[float] = None
    said_unlisted: bool = False
    unknown_words: set[str] = dataclasses.field(default_factory=set)

    def describe(self, record: Optional[ImageRecord]) -> str:
        return f"image {record.id} ({self.label})" if record else self.label


@dataclasses.dataclass(frozen=True)
class Look:
    """How to find the image: by id, or by the unique name its order carried
    (with both, the sightings also name other images carrying that name)."""

    image_id: Optional[str] = None
    name: Optional[str] = None
    seen: bool = False
    """Already seen in the list: its absence means it vanished."""


def wait_for(
    poller: StatusPoller,
    change: StateChange,
    look: Look,
    *,
    label: str,
    deadline: float,
    limit: str,
    clock: Clock,
    say: Say,
) -> Sighting:
    """Wait until the image reaches a target phase (or, for `Absent.TARGET`, is
    gone); the sighting that ended the wait.  `limit` names the bound in the
    timeout error ("the create_timeout of 1800s")."""
    progress = Progress(label, clock.monotonic(), seen=look.seen)
    progress.said_status_at = progress.started

    def judge(sighting: Sighting) -> Optional[Sighting]:
        return _judge(change, progress, sighting, clock, say)

    try:
        return poller.wait(
            judge,
            deadline=deadline,
            image_id=look.image_id,
            name=look.name,
            absent_means_gone=change.absent is Absent.TARGET,
        )
    except WaitTimeout as exc:
        raise _timed_out(change, progress, exc.last, limit) from None


def _judge(
    change: StateChange, progress: Progress, sighting: Sighting, clock: Clock, say: Say
) -> Optional[Sighting]:
    record = sighting.record
    now = clock.monotonic()
    if not sighting.answered:
        if progress.said_problem_at is None or now - progress.said_problem_at >= PROGRESS_EVERY:
            progress.said_problem_at = now
            say(f"{progress.describe(record)}: status check failed ({sighting.problem}); will retry")
        return None
    if record is None:
        return _absent(change, progress, sighting, say)
    progress.seen = True
    _say_status(progress, record, now, say)
    if record.phase in change.target:
        return sighting
    if record.phase in change.pending:
        return None
    status = record.status or record.item_status or "unknown"
    raise change.failure(
        f"image {record.id} ({progress.label}) ended in status {status!r} instead of {change.reached}"
    )


def _absent(change: StateChange, progress: Progress, sighting: Sighting, say: Say) -> Optional[Sighting]:
    if change.absent is Absent.TARGET:
        return sighting
    if progress.seen:
        raise change.failure(
            f"{progress.describe(sighting.record)} disappeared while waiting for it to "
            f"{change.goal} (last status {progress.status or 'unknown'})"
        )
    if not progress.said_unlisted:
        progress.said_unlisted = True
        say(f"{progress.label} is not in the image list yet; waiting")
    return None


def _say_status(progress: Progress, record: ImageRecord, now: float, say: Say) -> None:
    status = record.status or record.item_status or "unknown"
    if status != progress.status or now - progress.said_status_at >= PROGRESS_EVERY:
        say(f"image {record.id} ({progress.label}): {status} after {now - progress.started:.0f}s")
        progress.status, progress.said_status_at = status, now
    if record.status and not is_known(record.status) and status not in progress.unknown_words:
        progress.unknown_words.add(status)
        say(
            f"image {record.id}: status {record.status!r} is not one this provider knows; "
            "waiting for Active (please report it with a trace, see the README)"
        )


def _timed_out(
    change: StateChange, progress: Progress, last: Optional[Sighting], limit: str
) -> ZomroError:
    record = last.record if last else None
    check = ""
    if last is not None and not last.answered and last.problem is not None:
        check = f" (last status check failed: {last.problem.message})"
    what = progress.describe(record)
    if not progress.seen and change.absent is not Absent.TARGET:
        return change.timeout(f"{what} did not appear in the image list within {limit}{check}")
    status = (record.status or record.item_status) if record else progress.status
    return change.timeout(
        f"{what} was still {status or 'unknown'!r} after {limit} of waiting for it to "
        f"{change.goal}{check}"
    )
