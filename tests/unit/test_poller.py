"""The shared status poller against an in-memory image source (no HTTP)."""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, Callable, Optional

import pytest

from zomro_pulumi.clock import SYSTEM_CLOCK, Clock, FakeClock
from zomro_pulumi.errors import (
    ApiError,
    AuthError,
    ConfigError,
    InvalidRequestError,
    NotFoundError,
    TransportError,
    ZomroError,
)
from zomro_pulumi.model import ImageRecord
from zomro_pulumi.poller import DEFAULT_SCHEDULE, Schedule, Sighting, StatusPoller, WaitTimeout


class Source:
    """Images in memory; an image may turn Active at a time on the clock, or
    after some number of list calls.  Counts every call."""

    def __init__(self, clock: Clock, pages: int = 1) -> None:
        self.clock = clock
        self.list_pages = pages
        self.images: dict[str, ImageRecord] = {}
        self.active_at: dict[str, float] = {}
        self.active_after_lists: dict[str, int] = {}
        self.unlisted: set[str] = set()
        self.lists = 0
        self.viewed: list[str] = []
        self.list_errors: deque[ZomroError] = deque()
        self.view_errors: dict[str, ZomroError] = {}
        self.gate: Optional[threading.Event] = None
        self._lock = threading.Lock()

    def add(self, image_id: str, name: str = "img", status: str = "Saving") -> None:
        self.images[image_id] = ImageRecord(id=image_id, image_name=name, status=status)

    def _current(self, image_id: str) -> ImageRecord:
        record = self.images[image_id]
        at = self.active_at.get(image_id)
        after = self.active_after_lists.get(image_id)
        if (at is not None and self.clock.monotonic() >= at) or (after is not None and self.lists >= after):
            return dataclasses.replace(record, status="Active")
        return record

    def list_images(
        self, *, max_age: Optional[float] = None, deadline: Optional[float] = None
    ) -> list[ImageRecord]:
        if self.gate is not None:
            self.gate.wait(5)
        with self._lock:
            self.lists += 1
            if self.list_errors:
                raise self.list_errors.popleft()
            return [self._current(i) for i in sorted(self.images) if i not in self.unlisted]

    def get_image(self, image_id: str, *, deadline: Optional[float] = None) -> ImageRecord:
        if self.gate is not None:
            self.gate.wait(5)
        with self._lock:
            self.viewed.append(image_id)
            if image_id in self.view_errors:
                raise self.view_errors[image_id]
            if image_id not in self.images:
                raise NotFoundError(f"image {image_id} not found", func="image.edit", err_type="missed")
            return self._current(image_id)


def when_active(sighting: Sighting) -> Optional[ImageRecord]:
    record = sighting.record
    return record if record is not None and record.status == "Active" else None


def first_sighting(sighting: Sighting) -> Sighting:
    return sighting


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def run_waiters(poller: StatusPoller, waits: Sequence[Callable[[], Any]], source: Source) -> list[Any]:
    """Run each wait in its own thread; the first call is held until every
    thread has started, so that all of them are waiting when rounds begin."""
    source.gate = threading.Event()
    results: list[Any] = [None] * len(waits)

    def run(i: int) -> None:
        try:
            results[i] = waits[i]()
        except BaseException as exc:  # handed to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(waits))]
    for t in threads:
        t.start()
    time.sleep(0.2)
    source.gate.set()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    return results


# ---------------------------------------------------------------- what a round calls


def test_waiters_share_one_list_call_per_round(clock: FakeClock) -> None:
    source = Source(clock)
    ids = [str(100 + i) for i in range(5)]
    for image_id in ids:
        source.add(image_id)
        source.active_at[image_id] = clock.monotonic() + 60
    poller = StatusPoller(source, clock=clock)
    deadline = clock.monotonic() + 600
    waits = [functools.partial(poller.wait, when_active, deadline=deadline, image_id=i) for i in ids]
    results = run_waiters(poller, waits, source)
    assert [r.id for r in results] == ids and all(r.status == "Active" for r in results)
    assert source.viewed == []
    assert source.lists == poller.rounds

    alone_clock = FakeClock()
    alone = Source(alone_clock)
    alone.add("1")
    alone.active_at["1"] = alone_clock.monotonic() + 60
    single = StatusPoller(alone, clock=alone_clock)
    single.wait(when_active, deadline=alone_clock.monotonic() + 600, image_id="1")
    # Five images waited on together cost about what one costs alone.
    assert poller.rounds <= single.rounds + 1


def test_a_single_waiter_on_a_multi_page_account_uses_single_views(clock: FakeClock) -> None:
    source = Source(clock, pages=3)
    source.add("7")
    source.active_at["7"] = clock.monotonic() + 20
    poller = StatusPoller(source, clock=clock)
    record = poller.wait(when_active, deadline=clock.monotonic() + 600, image_id="7")
    assert record.id == "7" and record.status == "Active"
    assert source.lists == 0 and source.viewed == ["7"] * poller.rounds


def test_as_many_waiters_as_pages_use_the_list(clock: FakeClock) -> None:
    source = Source(clock, pages=2)
    for image_id in ("1", "2"):
        source.add(image_id)
        source.active_at[image_id] = clock.monotonic() + 30
    poller = StatusPoller(source, clock=clock)
    deadline = clock.monotonic() + 600
    results = run_waiters(
        poller,
        [functools.partial(poller.wait, when_active, deadline=deadline, image_id=i) for i in ("1", "2")],
        source,
    )
    assert [r.id for r in results] == ["1", "2"]
    # Only a round that began before the second wait joined views one image.
    assert len(source.viewed) <= 1 and source.lists == poller.rounds - len(source.viewed)
    assert source.lists >= 3


def test_an_image_missing_from_the_list_gets_its_single_view(clock: FakeClock) -> None:
    source = Source(clock)
    source.add("9", status="Saving")
    source.unlisted.add("9")  # the list does not show the new image yet
    poller = StatusPoller(source, clock=clock)
    sighting = poller.wait(first_sighting, deadline=clock.monotonic() + 60, image_id="9")
    assert sighting.record is not None and sighting.record.status == "Saving"
    assert (source.lists, source.viewed) == (1, ["9"])


def test_waiting_for_gone_takes_absence_from_the_list_once_the_view_fails_too(clock: FakeClock) -> None:
    """A list filter saved in the panel may hide a live image: "not listed" is
    "gone" only when the image's own view fails as well."""
    source = Source(clock)
    poller = StatusPoller(source, clock=clock)
    sighting = poller.wait(
        first_sighting, deadline=clock.monotonic() + 60, image_id="9", absent_means_gone=True
    )
    assert sighting.record is None and sighting.answered
    assert (source.lists, source.viewed) == (1, ["9"])


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError("not found", err_type="missed"),
        InvalidRequestError("Field has invalid value", err_type="value"),
        ApiError("HTTP 404 from the API", err_type="http404"),
    ],
)
def test_a_failed_view_is_decided_by_the_list(clock: FakeClock, error: ZomroError) -> None:
    source = Source(clock, pages=3)
    source.view_errors["5"] = error
    poller = StatusPoller(source, clock=clock)
    gone = poller.wait(first_sighting, deadline=clock.monotonic() + 60, image_id="5")
    assert gone.record is None and gone.answered and gone.problem is error
    assert (source.viewed, source.lists) == (["5"], 1)

    source.add("5", status="Saving")  # still listed: the view's error is not "gone"
    listed = poller.wait(first_sighting, deadline=clock.monotonic() + 60, image_id="5")
    assert listed.record is not None and listed.record.status == "Saving"
    assert listed.problem is error


def test_a_view_without_an_answer_is_decided_by_the_list_too(clock: FakeClock) -> None:
    """A 502 or an HTML page instead of the view: the list says the image is there."""
    source = Source(clock, pages=3)
    source.add("5")
    source.view_errors["5"] = TransportError("HTTP 502 from the API")
    poller = StatusPoller(source, clock=clock)
    sighting = poller.wait(first_sighting, deadline=clock.monotonic() + 60, image_id="5")
    assert sighting.answered and sighting.record is not None and sighting.record.id == "5"
    assert isinstance(sighting.problem, TransportError)
    assert source.lists == 1


def test_a_failed_list_leaves_every_waiter_without_an_answer(clock: FakeClock) -> None:
    source = Source(clock)
    source.add("1", status="Active")
    source.list_errors.extend([TransportError("HTTP 503 from the API")] * 2)
    poller = StatusPoller(source, clock=clock)
    seen: list[Sighting] = []

    def judge(sighting: Sighting) -> Optional[ImageRecord]:
        seen.append(sighting)
        return when_active(sighting)

    record = poller.wait(judge, deadline=clock.monotonic() + 600, image_id="1")
    assert record.id == "1"
    assert [s.answered for s in seen] == [False, False, True]


# ---------------------------------------------------------------- by name


def test_a_watch_by_name_finds_the_image_then_follows_its_id(clock: FakeClock) -> None:
    source = Source(clock, pages=3)
    source.add("1", name="other")
    poller = StatusPoller(source, clock=clock)
    rounds: list[Sighting] = []

    def judge(sighting: Sighting) -> Optional[ImageRecord]:
        rounds.append(sighting)
        if len(rounds) == 2:
            source.add("2", name="zp-0011aabb0011aabb-Ubuntu24")  # the order lands
        if len(rounds) == 4:
            source.images["2"] = dataclasses.replace(source.images["2"], image_name="renamed")
            source.active_at["2"] = clock.monotonic()
        return when_active(sighting)

    record = poller.wait(judge, deadline=clock.monotonic() + 600, name="zp-0011aabb0011aabb-Ubuntu24")
    assert record.id == "2" and record.image_name == "renamed"
    assert [s.record.id if s.record else None for s in rounds] == [None, None, "2", "2", "2"]
    # By name: the list; once seen, by its id: single views (one waiter, three pages).
    assert source.lists == 3 and source.viewed == ["2", "2"]


def test_images_with_the_watched_name_are_reported_as_duplicates(clock: FakeClock) -> None:
    source = Source(clock)
    for image_id in ("11", "12", "13"):
        source.add(image_id, name="zp-0000000100000001-x")
    poller = StatusPoller(source, clock=clock)
    first = poller.wait(first_sighting, deadline=clock.monotonic() + 60, name="zp-0000000100000001-x")
    assert first.record is not None and first.record.id == "11"
    assert [r.id for r in first.duplicates] == ["12", "13"]


def test_a_watch_needs_an_id_or_a_name(clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        StatusPoller(Source(clock), clock=clock).wait(first_sighting, deadline=clock.monotonic() + 1)


# ---------------------------------------------------------------- endings


def test_the_deadline_ends_a_wait_with_the_last_sighting(clock: FakeClock) -> None:
    source = Source(clock)
    source.add("3", status="Saving")
    poller = StatusPoller(source, clock=clock)
    start = clock.monotonic()
    with pytest.raises(WaitTimeout) as info:
        poller.wait(when_active, deadline=start + 60, image_id="3")
    last = info.value.last
    assert last is not None and last.record is not None and last.record.status == "Saving"
    assert start + 60 <= clock.monotonic() < start + 60 + DEFAULT_SCHEDULE.cap


def test_a_deadline_with_failing_calls_keeps_the_failure_as_the_last_sighting(clock: FakeClock) -> None:
    source = Source(clock)
    source.list_errors.extend([TransportError("HTTP 502 from the API")] * 1000)
    poller = StatusPoller(source, clock=clock)
    with pytest.raises(WaitTimeout) as info:
        poller.wait(when_active, deadline=clock.monotonic() + 30, image_id="3")
    last = info.value.last
    assert last is not None and not last.answered and "502" in str(last.problem)


def test_an_error_raised_by_the_judge_ends_the_wait(clock: FakeClock) -> None:
    source = Source(clock)
    source.add("3", status="Killed")

    def judge(sighting: Sighting) -> Optional[bool]:
        if sighting.record is not None and sighting.record.status == "Killed":
            raise RuntimeError("ended in Killed")
        return None

    with pytest.raises(RuntimeError, match="Killed"):
        StatusPoller(source, clock=clock).wait(judge, deadline=clock.monotonic() + 60, image_id="3")


# ---------------------------------------------------------------- the schedule


def noticed_after(active_in: float) -> tuple[float, int]:
    """How long after turning Active an image is noticed, and in how many rounds."""
    clock = FakeClock()
    source = Source(clock)
    source.add("1")
    start = clock.monotonic()
    source.active_at["1"] = start + active_in
    poller = StatusPoller(source, clock=clock)
    poller.wait(when_active, deadline=start + 3600, image_id="1")
    return clock.monotonic() - (start + active_in), poller.rounds


def test_an_active_image_is_noticed_within_two_seconds_plus_a_tenth_of_its_wait() -> None:
    for tenth in range(5, 1800, 7):  # 0.5 s to 180 s, off any round's beat
        active_in = tenth / 10
        late, _ = noticed_after(active_in)
        assert 0 <= late <= min(2 + 0.1 * active_in, 10), active_in


def test_rounds_to_two_minutes_stay_few() -> None:
    _, rounds = noticed_after(120)
    assert 5 <= rounds <= 40  # a figure, only bounded loosely


def test_schedule_pauses_grow_with_the_wait_and_stop_at_the_cap() -> None:
    schedule = Schedule(first=1, factor=0.5, cap=4)
    assert [schedule.pause(w) for w in (0, 2, 6, 100)] == [1, 2, 4, 4]


# ---------------------------------------------------------------- real threads


def test_the_lead_passes_on_when_the_leading_wait_ends() -> None:
    source = Source(SYSTEM_CLOCK)
    for image_id, after in (("1", 2), ("2", 5), ("3", 8)):
        source.add(image_id)
        source.active_after_lists[image_id] = after
    poller = StatusPoller(source, schedule=Schedule(first=0.01, factor=0, cap=0.01))
    deadline = time.monotonic() + 10
    results = run_waiters(
        poller,
        [functools.partial(poller.wait, when_active, deadline=deadline, image_id=i) for i in ("1", "2", "3")],
        source,
    )
    assert [r.id for r in results] == ["1", "2", "3"]
    assert all(r.status == "Active" for r in results)
    assert source.lists == poller.rounds
    assert poller.rounds < 2 + 5 + 8  # shared: fewer than the three waits alone


@pytest.mark.parametrize("problem", [AuthError("session expired", err_type="access"), ConfigError("no credentials")])
def test_credential_and_setting_problems_end_every_wait_at_once(
    clock: FakeClock, problem: ZomroError
) -> None:
    """No amount of waiting mends a refused session or missing settings: the
    round that meets one ends every wait it served, without asking the judges."""
    source = Source(clock)
    source.add("1")
    source.add("2")
    source.list_errors.extend([problem] * 2)
    poller = StatusPoller(source, clock=clock)
    judged: list[Sighting] = []

    def judge(sighting: Sighting) -> Optional[ImageRecord]:
        judged.append(sighting)
        return None

    results: list[BaseException] = []

    def wait(image_id: str) -> None:
        try:
            poller.wait(judge, deadline=clock.monotonic() + 600, image_id=image_id, name=None)
        except ZomroError as exc:
            results.append(exc)

    threads = [threading.Thread(target=wait, args=(i,)) for i in ("1", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert [type(r) for r in results] == [type(problem)] * 2
    assert judged == [] and source.lists <= 2
