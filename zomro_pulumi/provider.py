"""The Pulumi mapping of `zomro.Image`: check, diff, create, read, update, delete.

Only the mapping lives here.  The field table (`fields.py`) decides every field,
the image lifecycle (`lifecycle.py`) orders, waits and deletes, and the client
(`client.py`) owns the wire.  The provider object is pickled into the Pulumi
state, so it keeps nothing when pickled; settings arrive through `configure()`
(stack config) or the environment, in the provider process.  Every image of a
program pickles to the same bytes, so one provider object, one client, one
shared list and one poller serve a whole run.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
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

from . import _concurrency
from .clock import SYSTEM_CLOCK, Clock
from .errors import ReportedError, ZomroError
from .fields import BY_NAME, OUTPUTS, changes, check_inputs, edit_form, outputs, refreshed_inputs
from .lifecycle import ImageLifecycle
from .poller import DEFAULT_SCHEDULE, Schedule, StatusPoller
from .settings import ProviderSettings
from .statuses import Phase

PROVIDER_KEY = "__provider"
F = TypeVar("F", bound=Callable[..., Any])


def _say(message: str) -> None:
    # The engine shows a dynamic provider's stderr lines while `pulumi up` runs.
    # One write per line: lines from images waited on in parallel must not mix.
    sys.stderr.write(f"zomro: {message}\n")
    sys.stderr.flush()


def _is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def _plain(value: Any) -> Any:
    return rpc.unwrap_rpc_secret(value) if rpc.is_rpc_secret(value) else value


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
        self._clock = clock
        self._schedule = schedule
        self._settings: Optional[ProviderSettings] = None
        self._lifecycle: Optional[ImageLifecycle] = None
        self._lock = threading.Lock()

    # Pickled into the state: nothing but the class reference.
    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self._init_runtime()

    def configure(self, req: ConfigureRequest) -> None:
        settings = ProviderSettings.load(req.config.get)
        with self._lock:
            if settings != self._settings:
                self._settings, self._lifecycle = settings, None
        _concurrency.raise_worker_limit(settings.max_concurrency)

    def _loaded_settings(self) -> ProviderSettings:
        with self._lock:
            if self._settings is None:
                self._settings = ProviderSettings.load()
            return self._settings

    def _images(self) -> ImageLifecycle:
        """The process's one lifecycle, with its client and poller (built once)."""
        settings = self._loaded_settings()
        with self._lock:
            if self._lifecycle is None:
                client = settings.client(clock=self._clock)
                poller = StatusPoller(client, clock=self._clock, schedule=self._schedule)
                self._lifecycle = ImageLifecycle(client, poller, self._clock, _say)
            return self._lifecycle

    # ------------------------------------------------------------ check/diff

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate every input and the settings locally; nothing is sent to the API.

        A check without old inputs plans a new image (a create or a replacement):
        its outputs, not known yet in a preview, stay in the plan as unknown, so a
        replacement's preview shows them as `=> [unknown]`, not as removed."""
        given = {k: _plain(v) for k, v in news.items() if k != PROVIDER_KEY}
        inputs, problems = check_inputs(given, _is_unknown)
        if not olds:
            inputs.update({k: v for k, v in given.items() if k in OUTPUTS and _is_unknown(v)})
        failures = [CheckFailure(name, reason) for name, reason in problems]
        problem = self._loaded_settings().problem()
        if problem:
            failures.append(CheckFailure(*problem))
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """In place for editable fields, replacement for the rest; outputs,
        provider settings and case-only differences are not changes."""
        changed, replaces = changes(
            {k: _plain(v) for k, v in olds.items()},
            {k: _plain(v) for k, v in news.items()},
            _is_unknown,
        )
        return DiffResult(
            changes=bool(changed), replaces=replaces, stables=["image_id"], delete_before_replace=False
        )

    # ------------------------------------------------------------ create

    @_briefly
    def create(self, props: dict[str, Any]) -> CreateResult:
        props = {k: _plain(v) for k, v in props.items()}
        timeout = float(props.get("create_timeout") or BY_NAME["create_timeout"].default)
        images = self._images()
        if props.get("adopt_image_id"):
            record = images.adopt(str(props["adopt_image_id"]), props, timeout)
            return CreateResult(record.id, outputs(record, props))
        record = images.create(props, timeout).record
        # What is true goes into the state: an image whose rename or protection
        # failed after Active shows as a diff that the next `pulumi up` finishes.
        actual = {**props, "image_name": record.image_name, "protected": bool(record.protected)}
        return CreateResult(record.id, outputs(record, actual))

    # ------------------------------------------------------------ read/update/delete

    @_briefly
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh from the shared image list; the single view only for what
        the list lacks (the url of an image read with `Image.get`)."""
        props = {k: _plain(v) for k, v in props.items()}
        images = self._images()
        record = images.listed(id_)
        if record is not None and props.get("url") is None and record.url is None:
            record = images.view(id_) or record
        if record is None or record.phase is Phase.GONE:
            return ReadResult(id_="", outs={})
        inputs = refreshed_inputs(record, props)
        return ReadResult(id_=record.id, outs=outputs(record, inputs), inputs=inputs)

    @_briefly
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        olds = {k: _plain(v) for k, v in olds.items()}
        news = {k: _plain(v) for k, v in news.items()}
        images = self._images()
        form = edit_form(olds, news)
        if form:
            images.edit(id_, form)
        record = images.view(id_)
        if record is None:
            raise ZomroError(f"image {id_} disappeared during the update; run `pulumi refresh`")
        return UpdateResult(outputs(record, news))

    @_briefly
    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        self._images().delete(id_, unprotect=False)
