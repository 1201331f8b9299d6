"""Time as a dependency: the real clock in the provider, a fake one in tests.

Waiting code asks its clock for the time and for pauses instead of calling
`time` directly, so a test can run minutes of polling and retry backoff in
microseconds, without patching the `time` module for everyone.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""
        ...

    def sleep(self, seconds: float) -> None:
        """Pause the calling thread."""
        ...

    def wait(self, condition: threading.Condition, seconds: float) -> None:
        """Pause while holding `condition`'s lock, waking early if it is notified."""
        ...


class SystemClock:
    """The real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def wait(self, condition: threading.Condition, seconds: float) -> None:
        if seconds > 0:
            condition.wait(seconds)


SYSTEM_CLOCK = SystemClock()


class FakeClock:
    """A clock that only moves when someone sleeps or waits on it (tests).

    Pauses return at once and move the time forward instead, so a test sees
    the same sequence of calls a real run would make, only faster.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def wait(self, condition: threading.Condition, seconds: float) -> None:
        self.advance(seconds)
