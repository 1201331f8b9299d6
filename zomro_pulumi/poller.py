"""One status poller per provider process, serving every wait in flight.

Each image being created or deleted is a *watch*: an id (or, until the image is
seen, the unique name its order carried) and a function that looks at what a
round saw and says whether the wait is over.  A round answers every watch at
once, with whichever is cheaper: one image list (all its pages; it also serves
watches by name) or one single view per waiting image.  An image missing from
the list gets its single view while waiting for it to appear; and whenever a
call on one id fails, the list decides whether the image exists.  An answer
that says the credentials or the settings are wrong ends every wait it reaches,
here and nowhere else: no amount of waiting mends those.

No thread of its own: the first waiting thread leads the rounds and hands the
lead to another waiter when its own wait ends.  The clock and the schedule are
injected, so tests run the whole thing on a fake clock without sleeping.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from typing import Callable, Generic, Optional, Protocol, TypeVar

from .clock import SYSTEM_CLOCK, Clock
from .errors import AuthError, ConfigError, ZomroError
from .model import ImageRecord, token_of

T = TypeVar("T")


class ImageSource(Protocol):
    """What the poller needs from the API client."""

    list_pages: int

    def list_images(
        self, *, max_age: Optional[float] = None, deadline: Optional[float] = None
    ) -> list[ImageRecord]: ...

    def get_image(self, image_id: str, *, deadline: Optional[float] = None) -> ImageRecord: ...


@dataclasses.dataclass(frozen=True)
class Schedule:
    """When to look again: `first` seconds after a watch starts, then pauses
    growing by `factor` of the time already waited, never longer than `cap`.

    The defaults notice an image at most about 2 s + 10 % of its wait after it
    turned Active (10 s at most), at every wait length, not just some.
    """

    first: float = 1.75
    factor: float = 0.1
    cap: float = 9.75

    def pause(self, waited: float) -> float:
        return min(self.cap, self.first + self.factor * max(0.0, waited))


DEFAULT_SCHEDULE = Schedule()


@dataclasses.dataclass(frozen=True)
class Sighting:
    """What one round saw of one watched image."""

    record: Optional[ImageRecord]
    """The image as listed/viewed; None when the list does not hold it."""
    answered: bool = True
    """False when the round got no usable answer (the call is retried next round)."""
    problem: Optional[ZomroError] = None
    """Why the round had no answer, or why a single view failed."""
    duplicates: tuple[ImageRecord, ...] = ()
    """Other images carrying the watched name (when the watch has a name)."""


class WaitTimeout(ZomroError):
    """The watch's deadline passed; `last` is the last sighting, if any."""

    def __init__(self, message: str, last: Optional[Sighting]) -> None:
        super().__init__(message)
        self.last = last


@dataclasses.dataclass(eq=False)
class _Watch(Generic[T]):
    image_id: Optional[str]
    name: Optional[str]
    absent_means_gone: bool
    namesakes: bool
    """Asked for both an id and a name: name the other images carrying it."""
    on_sighting: Callable[[Sighting], Optional[T]]
    deadline: float
    token: Optional[str]
    """The order token the watched name carries: any name carrying it matches."""
    started: float
    next_due: float
    finished: bool = False
    result: Optional[T] = None
    error: Optional[BaseException] = None
    last: Optional[Sighting] = None
    rounds: int = 0


class StatusPoller:
    """Serves every wait of the process with shared rounds of API calls."""

    def __init__(
        self,
        source: ImageSource,
        *,
        clock: Clock = SYSTEM_CLOCK,
        schedule: Schedule = DEFAULT_SCHEDULE,
    ) -> None:
        self._source = source
        self._clock = clock
        self.schedule = schedule
        self._cond = threading.Condition()
        self._watches: list[_Watch[object]] = []
        self._leader: Optional[_Watch[object]] = None
        self.rounds = 0

    def wait(
        self,
        on_sighting: Callable[[Sighting], Optional[T]],
        *,
        deadline: float,
        image_id: Optional[str] = None,
        name: Optional[str] = None,
        absent_means_gone: bool = False,
    ) -> T:
        """Block until `on_sighting` returns a value (returned here) or raises
        (raised here), or `deadline` passes (`WaitTimeout`).

        Watch by `image_id`, or by `name` (an image named so; for a name that
        carries an order token, any image whose name carries that token, however
        the API stored it) when the id is not known yet; once seen, by its id.
        A watch with a name is served by list rounds, and each sighting names the
        other images carrying it.  An answer that rules out any progress
        (`AuthError`, `ConfigError`) ends the wait with that error.  An image the
        list does not hold gets its single view (a new image the list may not
        show yet, or one a list filter hides); only when that fails too is it
        reported as None, which `absent_means_gone` (waiting for a deletion)
        takes for the end.
        """
        if not image_id and not name:
            raise ValueError("a watch needs an image id or a name")
        now = self._clock.monotonic()
        watch: _Watch[T] = _Watch(
            image_id=image_id,
            name=name,
            namesakes=bool(image_id and name),
            absent_means_gone=absent_means_gone,
            on_sighting=on_sighting,
            deadline=deadline,
            token=token_of(name),
            started=now,
            next_due=now + self.schedule.pause(0.0),
        )
        mine: _Watch[object] = watch  # type: ignore[assignment]
        with self._cond:
            self._watches.append(mine)
            self._cond.notify_all()
            try:
                self._serve_until_finished(mine)
            finally:
                self._watches.remove(mine)
                if self._leader is mine:
                    self._leader = None
                self._cond.notify_all()
        if watch.error is not None:
            raise watch.error
        return watch.result  # type: ignore[return-value]

    # ---------------------------------------------------------------- leading

    def _serve_until_finished(self, watch: _Watch[object]) -> None:
        """With the lock held: lead rounds, or wait for the leader's news."""
        while not watch.finished:
            if self._leader is None:
                self._leader = watch
            if self._leader is not watch:
                self._cond.wait()
                continue
            now = self._clock.monotonic()
            self._expire(now)
            if watch.finished:
                return
            due = min(min(w.next_due, w.deadline) for w in self._watches if not w.finished)
            if due > now:
                self._clock.wait(self._cond, due - now)
                continue
            batch = self._batch(now)
            round_deadline = min(w.deadline for w in self._watches if not w.finished)
            self._cond.release()
            try:
                sightings = self._round(batch, round_deadline)
            finally:
                self._cond.acquire()
            self.rounds += 1
            self._deliver(sightings, now)
            self._cond.notify_all()

    def _expire(self, now: float) -> None:
        for w in self._watches:
            if not w.finished and now >= w.deadline:
                what = f"image {w.image_id}" if w.image_id else f"an image named {w.name!r}"
                w.error = WaitTimeout(f"gave up waiting for {what}", w.last)
                w.finished = True

    def _batch(self, now: float) -> list[_Watch[object]]:
        """The watches one round serves: every one when a list is cheaper than
        their views, else those due now or within half a pause."""
        live = [w for w in self._watches if not w.finished]
        if self._prefers_list(live):
            return live
        return [
            w
            for w in live
            if w.next_due <= now + 0.5 * self.schedule.pause(now - w.started)
        ]

    def _prefers_list(self, watches: Sequence[_Watch[object]]) -> bool:
        by_name = any(w.image_id is None or w.namesakes for w in watches)
        return by_name or len(watches) >= max(1, self._source.list_pages)

    def _deliver(self, sightings: dict[int, Sighting], round_start: float) -> None:
        for w in self._watches:
            sighting = sightings.get(id(w))
            if sighting is None or w.finished:
                continue
            w.last = sighting
            w.rounds += 1
            if not sighting.answered and isinstance(sighting.problem, (AuthError, ConfigError)):
                w.error, w.finished = sighting.problem, True
                continue
            if sighting.record is not None and w.image_id is None:
                w.image_id = sighting.record.id
            # Counted from the round that served it, so that watches started at
            # different moments fall into the same rounds instead of each
            # bringing its own; each still is looked at as often as it needs.
            w.next_due = round_start + self.schedule.pause(round_start - w.started)
            try:
                outcome = w.on_sighting(sighting)
            except BaseException as exc:
                w.error, w.finished = exc, True
                continue
            if outcome is not None:
                w.result, w.finished = outcome, True

    # ---------------------------------------------------------------- a round

    def _round(self, batch: Sequence[_Watch[object]], deadline: float) -> dict[int, Sighting]:
        """One round of calls for `batch`; an API error becomes a sighting
        without an answer (with the error), for the watch to judge."""
        seen: dict[int, Sighting] = {}
        listed: Optional[dict[str, ImageRecord]] = None
        to_view: list[_Watch[object]] = []
        if self._prefers_list(batch):
            try:
                records = self._source.list_images(max_age=0, deadline=deadline)
            except ZomroError as exc:
                return self._unanswered(batch, exc)
            listed = {r.id: r for r in records}
            for w in batch:
                if w.image_id is None:
                    seen[id(w)] = _by_name(w, records)
                elif w.image_id in listed:
                    seen[id(w)] = Sighting(listed[w.image_id], duplicates=_namesakes(w, records))
                else:
                    # Not listed: gone only if its own view fails too (a list
                    # filter saved in the panel may hide a live image).
                    to_view.append(w)
        else:
            to_view = list(batch)
        failed: list[tuple[_Watch[object], ZomroError]] = []
        for w in to_view:
            assert w.image_id is not None
            try:
                view = self._source.get_image(w.image_id, deadline=deadline)
            except ConfigError as exc:
                seen[id(w)] = Sighting(None, answered=False, problem=exc)
                continue
            except ZomroError as exc:
                failed.append((w, exc))
                continue
            from_list = listed.get(w.image_id) if listed else None
            seen[id(w)] = Sighting(view.merged(from_list) if from_list else view)
        if failed:
            # A view that fails, whatever the answer (an error of any type, HTTP
            # 404, an HTML page): only the list says whether the image is gone.
            if listed is None:
                try:
                    records = self._source.list_images(max_age=0, deadline=deadline)
                except ZomroError as list_error:
                    seen.update(self._unanswered([w for w, _ in failed], list_error))
                    return seen
                listed = {r.id: r for r in records}
            for w, view_error in failed:
                assert w.image_id is not None
                seen[id(w)] = Sighting(listed.get(w.image_id), problem=view_error)
        return seen

    @staticmethod
    def _unanswered(batch: Sequence[_Watch[object]], exc: ZomroError) -> dict[int, Sighting]:
        return {id(w): Sighting(None, answered=False, problem=exc) for w in batch}


def _named(watch: _Watch[object], record: ImageRecord) -> bool:
    if watch.token is not None:
        return token_of(record.image_name) == watch.token
    return record.image_name == watch.name


def _namesakes(watch: _Watch[object], records: Sequence[ImageRecord]) -> tuple[ImageRecord, ...]:
    """Other images carrying a watched name, once the watch knows its own id."""
    if not watch.namesakes:
        return ()
    return tuple(r for r in records if _named(watch, r) and r.id != watch.image_id)


def _by_name(watch: _Watch[object], records: Sequence[ImageRecord]) -> Sighting:
    named = sorted(
        (r for r in records if _named(watch, r)),
        key=lambda r: (len(r.id), r.id),
    )
    if not named:
        return Sighting(None)
    return Sighting(named[0], duplicates=tuple(named[1:]))
