"""The Pulumi mapping of `zomro.Image`: check, diff, create, read, update, delete.

Only the mapping lives here.  The field table (`fields.py`) decides every field
and turns Pulumi's properties into a typed `ImageSpec`, the ordering room and
the lifecycle do the work, and the client (`client.py`) owns the wire.  The
provider object is pickled into the Pulumi state, so it keeps nothing when
pickled; settings arrive through `configure()` (stack config) or the
environment, in the provider process.  Every image of a program pickles to the
same bytes, so one provider object serves a whole run, with one client, shared
list, poller and lifecycle per Zomro account.
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
from .accounts import Accounts, Look
from .clock import SYSTEM_CLOCK, Clock
from .errors import (
    ConfigError,
    ProtectedImageError,
    ReportedError,
    ZomroError,
)
from .fields import (
    INPUTS,
    ORDER_TOKEN,
    OUTPUTS,
    changes,
    check_inputs,
    outputs,
    recorded,
    refreshed_inputs,
    spec_of,
)
from .lifecycle import WARNING, ImageLifecycle
from .poller import DEFAULT_SCHEDULE, Schedule
from .settings import ProviderSettings
from .statuses import Phase
from .waits import Say

PROVIDER_KEY = "__provider"
# Bounds of the calls that are not a create (which has create_timeout): a
# refresh, update or destroy against an API that hangs fails within this, plus
# one HTTP timeout; the credentials check of a preview within its own.
OPERATION_TIMEOUT = 90.0
CHECK_TIMEOUT = 30.0
# Ids of protected images the user allows this run to unprotect and delete
# (comma-separated): the way out of a refused deletion that orders nothing.
DELETE_PROTECTED = "ZOMRO_DELETE_PROTECTED"
F = TypeVar("F", bound=Callable[..., Any])
Config = Callable[[str], Any]


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




def _is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or value == rpc.UNKNOWN


def _plain(props: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: rpc.unwrap_rpc_secret(v) if rpc.is_rpc_secret(v) else v
        for k, v in props.items()
        if k != PROVIDER_KEY
    }


def _deletable(image_id: str) -> bool:
    allowed = os.environ.get(DELETE_PROTECTED, "")
    return image_id in {part.strip() for part in allowed.split(",")}


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
        self._accounts = Accounts(clock, schedule, functools.partial(_engine.log, urn=None))

    # Pickled into the state: nothing but the class reference.
    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self._init_runtime()

    def configure(self, req: ConfigureRequest) -> None:
        self._accounts.configure(req.config.get)
        _concurrency.raise_worker_limit(ProviderSettings.load(req.config.get).max_concurrency)
        _engine.start_parent_watch()

    def _deadline(self, seconds: float) -> float:
        return self._clock.monotonic() + seconds

    def _holding(self, id_: str, props: Mapping[str, Any], needed: str) -> tuple[ImageLifecycle, Look]:
        """The lifecycle of the account holding the image the state recorded
        (under a label the config may have renamed), and this request's look."""
        urn = _engine.current_urn()
        look = Look(self._deadline(OPERATION_TIMEOUT), _reporter(urn), needed, urn)
        label = self._accounts.holder(props.get("account"), id_, props, look)
        return self._accounts.lifecycle(label), look

    # ------------------------------------------------------------ check/diff

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        """Validate every input and the settings; the only API call is one
        check of each account's credentials per run.

        A check without old inputs plans a new image (a create or a replacement):
        its outputs, not known yet in a preview, stay in the plan as unknown, so a
        replacement's preview shows them as `=> [unknown]`, not as removed."""
        given = _plain(news)
        checked = check_inputs(given, _is_unknown)
        inputs = checked.inputs
        if not olds:
            inputs.update({k: v for k, v in given.items() if k in OUTPUTS and _is_unknown(v)})
        failures = [CheckFailure(name, reason) for name, reason in checked.problems]
        account = inputs.get("account")
        if not _is_unknown(account):
            problem = self._accounts.problem(account, self._deadline(CHECK_TIMEOUT))
            if problem:
                failures.append(CheckFailure(*problem))
        return CheckResult(inputs, failures)

    @_briefly
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """In place for editable fields, replacement for the rest; outputs,
        provider settings and case-only differences are not changes.  A
        replacement of a protected image is refused here, before anything is
        ordered: Zomro would refuse to delete the old image afterwards."""
        olds, news = _plain(olds), _plain(news)
        changed, replaces = changes(olds, news, _is_unknown)
        if "account" in replaces and not _is_unknown(news.get("account")):
            urn = _engine.current_urn()
            look = Look(self._deadline(CHECK_TIMEOUT), _reporter(urn), "the replacement", urn)
            if self._accounts.same(olds.get("account"), news.get("account"), _id, olds, look):
                replaces.remove("account")  # a label renamed: the state's label follows
        if replaces and olds.get("protected") is True and not _deletable(_id):
            _refuse_protected_replacement(_id, olds, replaces)
        return DiffResult(
            changes=bool(changed), replaces=replaces, stables=["image_id"], delete_before_replace=False
        )

    # ------------------------------------------------------------ create

    @_briefly
    def create(self, props: dict[str, Any]) -> CreateResult:
        say = _reporter()
        spec = spec_of(_plain(props))
        images = self._accounts.lifecycle(spec.account)
        if spec.adopt_image_id:
            record = images.adopt(spec, say)
            return CreateResult(record.id, outputs(record, spec.inputs()))
        created = images.create(spec, say)
        record = created.record
        # What is true goes into the state: an image whose rename or protection
        # failed after Active shows as a diff that the next `pulumi up` finishes.
        actual = {**spec.inputs(), "image_name": record.image_name, "protected": bool(record.protected)}
        return CreateResult(record.id, outputs(record, actual, {ORDER_TOKEN: created.token}))

    # ------------------------------------------------------------ read/update/delete

    @_briefly
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh from the shared image list; the single view only for what
        the list lacks (the url of an image read with `Image.get`).  A managed
        image that is gone is dropped from the state; an image looked up with
        `Image.get` that does not exist is an error naming the id."""
        props = _plain(props)
        looked_up = not any(props.get(f.name) is not None for f in INPUTS if f.required)
        images, look = self._holding(id_, props, "a refresh")
        deadline = look.deadline
        record = images.looks.listed(id_, deadline=deadline)
        if record is None:
            record = images.looks.unlisted(id_, look.say, deadline=deadline)
        elif props.get("url") is None and record.url is None:
            record = images.looks.view(id_, deadline=deadline) or record
        if record is None or record.phase is Phase.GONE:
            _drop_doubles(images, id_, props, deadline)
            if looked_up:
                raise ZomroError(
                    f"Image.get: image {id_} is not in this Zomro account (the complete image "
                    "list does not hold it); check the id, or remove the lookup"
                )
            return ReadResult(id_="", outs={})
        _drop_doubles(images, id_, props, deadline)
        inputs = refreshed_inputs(record, props)
        return ReadResult(id_=record.id, outs=outputs(record, inputs, props), inputs=inputs)

    @_briefly
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec = spec_of(_plain(news))
        images = self._accounts.lifecycle(spec.account)
        deadline = self._deadline(OPERATION_TIMEOUT)
        form = spec.edits_from(recorded(_plain(olds)))
        if form:
            images.edit(id_, form, deadline=deadline)
        record = images.looks.view(id_, deadline=deadline)
        if record is None:
            raise ZomroError(f"image {id_} disappeared during the update; run `pulumi refresh`")
        if "image_name" in form:
            images.orders.observe(id_, spec.image_name, record.image_name)
        before = _plain(olds)
        _drop_doubles(images, id_, before, deadline)
        return UpdateResult(outputs(record, spec.inputs(), before))

    @_briefly
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        props = _plain(props)
        images, look = self._holding(id_, props, "the deletion")
        deadline = look.deadline
        try:
            images.delete(id_, unprotect=_deletable(id_), say=look.say, deadline=deadline)
            _drop_doubles(images, id_, props, deadline)
        except ProtectedImageError as exc:
            raise ZomroError(
                f"{exc.message} (protected=True), and nothing was deleted. To delete it anyway "
                f"without ordering anything, run the same command again with "
                f"{DELETE_PROTECTED}={id_} (for example `{DELETE_PROTECTED}={id_} pulumi "
                f"destroy`): the provider then unprotects and deletes image {id_} only",
                func=exc.func, err_type=exc.err_type, err_object=exc.err_object,
            ) from None


def _drop_doubles(
    images: ImageLifecycle, image_id: str, props: Mapping[str, Any], deadline: float
) -> None:
    """Images carrying the order token of this resource's create under another
    id (an attempt that landed after the create returned): deleted, or named on
    the resource's row.  From the shared list: no call when none is found."""
    token = props.get(ORDER_TOKEN)
    if not isinstance(token, str):
        return
    say = _reporter()
    try:
        found = images.doubles.find(token, image_id, deadline=deadline)
    except ConfigError:
        raise
    except ZomroError as exc:
        say(
            f"{WARNING}could not look for other images carrying order token {token} ({exc}); "
            "the next refresh looks again"
        )
        return
    if found:
        images.doubles.drop(found, token, say)


def _refuse_protected_replacement(image_id: str, olds: Mapping[str, Any], replaces: list[str]) -> None:
    fields = ", ".join(replaces)
    name = olds.get("image_name") or image_id
    raise ZomroError(
        f"image {image_id} ({name}) is protected, and changing {fields} needs a new image: "
        "Zomro would refuse to delete this one afterwards, leaving two billed images. Nothing "
        f"was ordered. Either first set protected=False with {fields} unchanged and run "
        f"`pulumi up` (an edit in place), then change {fields}; or let this run delete it: "
        f"{DELETE_PROTECTED}={image_id} pulumi up"
    )

