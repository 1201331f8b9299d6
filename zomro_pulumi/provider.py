"""The dynamic provider of `zomro.Image`: Pulumi's dynamic-provider messages
mapped onto the image operations (`operations.py`).

Only the mapping lives here: properties in and out (secrets unwrapped, values
not known yet recognised), progress on the resource's row, errors shown
first.  What each operation does, and every guarantee, is in
`operations.py`, shared with the provider plugin (`plugin.py`).  The provider
object is pickled into the Pulumi state, so it keeps nothing when pickled;
settings arrive through `configure()` (stack config) or the environment, in
the provider process.  Every image of a program pickles to the same bytes, so
one provider object serves a whole run, with one client, shared list, poller
and lifecycle per Zomro account.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any, Callable, Optional, TypeVar

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime import rpc

from . import _concurrency, _engine
from .clock import SYSTEM_CLOCK, Clock
from .errors import ReportedError, ZomroError
from .lifecycle import WARNING
from .operations import CHECK_TIMEOUT, DELETE_PROTECTED, OPERATION_TIMEOUT, ImageOperations, Request
from .poller import DEFAULT_SCHEDULE, Schedule
from .settings import ProviderSettings
from .waits import Say

__all__ = ["CHECK_TIMEOUT", "DELETE_PROTECTED", "OPERATION_TIMEOUT", "ImageProvider"]

PROVIDER_KEY = "__provider"
F = TypeVar("F", bound=Callable[..., Any])


def _reporter(urn: Optional[str] = None) -> Say:
    """Progress lines about the resource whose request this thread serves: shown
    on its own row while it runs and under it in the diagnostics (stderr, under
    the stack, when the engine cannot be told which resource it is).  Taken in
    the request's thread; the waits of every image may run in another."""
    urn = urn or _engine.current_urn()

    def say(message: str) -> None:
        # The engine marks a warning itself; stderr keeps the word.
        if urn is not None and message.startswith(WARNING):
            _engine.log(message[len(WARNING) :], urn=urn, severity="warning")
        else:
            _engine.log(message, urn=urn)

    return say


def _request() -> Request:
    urn = _engine.current_urn()
    return Request(_reporter(urn), urn)


def _is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def _plain(props: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: rpc.unwrap_rpc_secret(v) if rpc.is_rpc_secret(v) else v
        for k, v in props.items()
        if k != PROVIDER_KEY
    }


def _briefly(method: F) -> F:
    """Our errors reach the user message first, not after a page of traceback.

    The SDK reports an exception as `traceback.format_exc()`, which prints the
    cause before the exception itself, and an exception that was never raised
    without any traceback: so the error goes out as the traceback-free cause
    of a short `ReportedError`.  `ZOMRO_DEBUG=1` keeps the whole traceback.
    """

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ZomroError as exc:
            if os.environ.get("ZOMRO_DEBUG"):
                raise
            shown = exc.with_traceback(None)
            shown.__cause__ = shown.__context__ = None
            raise ReportedError("the error above (ZOMRO_DEBUG=1 shows the traceback)") from shown

    return wrapper  # type: ignore[return-value]


class ImageProvider(ResourceProvider):
    """Pulumi dynamic provider for Zomro Cloud VPS images.

    `clock` and `schedule` are for tests and tools that drive the provider
    directly; the copy Pulumi unpickles from the state uses the real ones.
    """

    def __init__(self, *, clock: Clock = SYSTEM_CLOCK, schedule: Schedule = DEFAULT_SCHEDULE) -> None:
        super().__init__()
        self._init_runtime(clock, schedule)

    def _init_runtime(self, clock: Clock = SYSTEM_CLOCK, schedule: Schedule = DEFAULT_SCHEDULE) -> None:
        self._ops = ImageOperations(clock, schedule, functools.partial(_engine.log, urn=None))

    # Pickled into the state: nothing but the class reference.
    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self._init_runtime()

    def configure(self, req: ConfigureRequest) -> None:
        self._ops.configure(req.config.get)
        _concurrency.raise_worker_limit(ProviderSettings.load(req.config.get).max_concurrency)
        _engine.start_parent_watch()

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        checked = self._ops.check(_plain(olds), _plain(news), _is_unknown)
        return CheckResult(checked.inputs, [CheckFailure(*failure) for failure in checked.failures])

    @_briefly
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        diffed = self._ops.diff(_id, _plain(olds), _plain(news), _is_unknown, _request())
        return DiffResult(
            changes=bool(diffed.changed), replaces=diffed.replaces, stables=["image_id"],
            delete_before_replace=False,
        )

    @_briefly
    def create(self, props: dict[str, Any]) -> CreateResult:
        stored = self._ops.create(_plain(props), _request())
        return CreateResult(stored.id, stored.outs)

    @_briefly
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        stored = self._ops.read(id_, _plain(props), _request())
        if stored is None:
            return ReadResult(id_="", outs={})
        return ReadResult(id_=stored.id, outs=stored.outs, inputs=stored.inputs)

    @_briefly
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._ops.update(id_, _plain(olds), _plain(news), _request()).outs)

    @_briefly
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._ops.delete(id_, _plain(props), _request())
