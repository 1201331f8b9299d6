"""What each Pulumi operation does to a Zomro image, on plain values: check,
diff, create, read, update and delete, for both mappings of the resource.

The dynamic provider (`provider.py`) and the provider plugin (`plugin.py`)
each only translate Pulumi's messages to and from the plain dicts here (field
table names, values not known yet marked by `unknown`) and report progress
lines with the `Say` they are given.  Everything else, and every guarantee, is
here once: the field table checks and diffs, the account that holds an image,
the lifecycle orders, waits, edits and deletes, and the order token finds late
doubles.  No Pulumi.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any, Callable, Optional

from .accounts import Accounts, Config, Look
from .clock import Clock
from .errors import ConfigError, ProtectedImageError, ZomroError
from .fields import (
    INPUTS,
    ORDER_TOKEN,
    OUTPUTS,
    changes,
    check_inputs,
    described,
    outputs,
    recorded,
    refreshed_inputs,
    spec_of,
)
from .lifecycle import WARNING, ImageLifecycle
from .model import selected
from .poller import Schedule
from .settings import STACK_CONFIG, Place
from .statuses import Phase
from .waits import Say

# Bounds of the calls that are not a create (which has create_timeout): a
# refresh, update or destroy against an API that hangs fails within this, plus
# one HTTP timeout; the credentials check of a preview within its own.
OPERATION_TIMEOUT = 90.0
CHECK_TIMEOUT = 30.0
# Ids of protected images the user allows this run to unprotect and delete
# (comma-separated): the way out of a refused deletion that orders nothing.
DELETE_PROTECTED = "ZOMRO_DELETE_PROTECTED"
Unknown = Callable[[Any], bool]


def deletable(image_id: str) -> bool:
    allowed = os.environ.get(DELETE_PROTECTED, "")
    return image_id in {part.strip() for part in allowed.split(",")}


@dataclasses.dataclass(frozen=True)
class Request:
    """Who asks: the resource's URN (None when not known) and its progress row."""

    say: Say
    urn: Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Checked:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]
    """(property, reason); the property is "" when its value must not be echoed."""


@dataclasses.dataclass(frozen=True)
class Diffed:
    changed: list[str]
    replaces: list[str]


@dataclasses.dataclass(frozen=True)
class Stored:
    """An image as the state is to hold it: its id, outputs and (from a read) inputs."""

    id: str
    outs: dict[str, Any]
    inputs: Optional[dict[str, Any]] = None


class ImageOperations:
    """One per provider process: the accounts of the run and what each
    operation does with them."""

    def __init__(self, clock: Clock, schedule: Schedule, say: Say) -> None:
        self.clock = clock
        self.accounts = Accounts(clock, schedule, say)

    def configure(self, config: Optional[Config], place: Place = STACK_CONFIG) -> None:
        self.accounts.configure(config, place)

    def _deadline(self, seconds: float) -> float:
        return self.clock.monotonic() + seconds

    def _holding(
        self, id_: str, props: Mapping[str, Any], needed: str, request: Request
    ) -> tuple[ImageLifecycle, Look]:
        """The lifecycle of the account holding the image the state recorded
        (under a label the config may have renamed), and this request's look."""
        look = Look(self._deadline(OPERATION_TIMEOUT), request.say, needed, request.urn)
        label = self.accounts.holder(props.get("account"), id_, props, look)
        return self.accounts.lifecycle(label), look

    def check(self, olds: Mapping[str, Any], news: Mapping[str, Any], unknown: Unknown) -> Checked:
        """Every input and the settings; the only API call is one check of each
        account's credentials per run.

        A check without old inputs plans a new image (a create or a replacement):
        its outputs, not known yet in a preview, stay in the plan as unknown, so a
        replacement's preview shows them as `=> [unknown]`, not as removed."""
        checked = check_inputs(news, unknown)
        inputs = checked.inputs
        if not olds:
            inputs.update({k: v for k, v in news.items() if k in OUTPUTS and unknown(v)})
        failures = list(checked.problems)
        account = inputs.get("account")
        if not unknown(account):
            problem = self.accounts.problem(account, self._deadline(CHECK_TIMEOUT))
            if problem:
                failures.append(problem)
        return Checked(inputs, failures)

    def diff(
        self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], unknown: Unknown, request: Request
    ) -> Diffed:
        """In place for editable fields, replacement for the rest; outputs,
        provider settings and case-only differences are not changes, nor is a
        renamed account label.  A replacement of a protected image is refused
        here, before anything is ordered: Zomro would refuse to delete the old
        image afterwards."""
        changed, replaces = changes(olds, news, unknown)
        if "account" in replaces and not unknown(news.get("account")):
            look = Look(self._deadline(CHECK_TIMEOUT), request.say, "the replacement", request.urn)
            if self.accounts.same(olds.get("account"), news.get("account"), id_, olds, look):
                replaces.remove("account")  # a label renamed: the state's label follows
        if replaces and olds.get("protected") is True and not deletable(id_):
            _refuse_protected_replacement(id_, olds, replaces)
        if replaces:  # the preview's text shows every change alike: say which forces it
            request.say(_replacing(id_, olds, replaces, [n for n in changed if n not in replaces]))
        return Diffed(changed, replaces)

    def create(self, props: Mapping[str, Any], request: Request, timeout: Optional[float] = None) -> Stored:
        """Order (or adopt) the image and wait until it is Active.  `timeout`
        (the engine's `customTimeouts`) bounds the wait as `create_timeout` does;
        the shorter one wins."""
        spec = spec_of(props)
        if timeout:
            spec = dataclasses.replace(spec, create_timeout=max(1, min(spec.create_timeout, int(timeout))))
        images = self.accounts.lifecycle(spec.account)
        if spec.adopt_image_id:
            record = images.adopt(spec, request.say)
            return Stored(record.id, outputs(record, spec.inputs()))
        created = images.create(spec, request.say)
        record = created.record
        # What is true goes into the state: an image whose rename or protection
        # failed after Active shows as a diff that the next `pulumi up` finishes.
        actual = {**spec.inputs(), "image_name": record.image_name, "protected": bool(record.protected)}
        return Stored(record.id, outputs(record, actual, {ORDER_TOKEN: created.token}))

    def read(self, id_: str, props: Mapping[str, Any], request: Request) -> Optional[Stored]:
        """Refresh from the shared image list; the single view only for what
        the list lacks (the url of an image read with `Image.get`).  None: a
        managed image that is gone (dropped from the state); an image looked up
        with `Image.get` that does not exist is an error naming the id."""
        looked_up = not any(props.get(f.name) is not None for f in INPUTS if f.required)
        images, look = self._holding(id_, props, "a refresh", request)
        deadline = look.deadline
        record = images.looks.listed(id_, deadline=deadline)
        if record is None:
            record = images.looks.unlisted(id_, look.say, deadline=deadline)
        elif props.get("url") is None and record.url is None:
            record = images.looks.view(id_, deadline=deadline) or record
        self._drop_doubles(images, id_, props, deadline, look.say)
        if record is None or record.phase is Phase.GONE:
            if looked_up:
                raise ZomroError(
                    f"Image.get: image {id_} is not in this Zomro account (the complete image "
                    "list does not hold it); check the id, or remove the lookup"
                )
            return None
        inputs = refreshed_inputs(record, props)
        return Stored(record.id, outputs(record, inputs, props), inputs)

    def update(self, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], request: Request) -> Stored:
        """One `image.edit` of every editable field that changed, then the image as it is."""
        spec = spec_of(news)
        images = self.accounts.lifecycle(spec.account)
        deadline = self._deadline(OPERATION_TIMEOUT)
        form = spec.edits_from(recorded(olds))
        if form:
            images.edit(id_, form, deadline=deadline)
        record = images.looks.view(id_, deadline=deadline)
        if record is None:
            raise ZomroError(f"image {id_} disappeared during the update; run `pulumi refresh`")
        if "image_name" in form:
            images.orders.observe(id_, spec.image_name, record.image_name)
        self._drop_doubles(images, id_, olds, deadline, request.say)
        return Stored(record.id, outputs(record, spec.inputs(), olds))

    def delete(self, id_: str, props: Mapping[str, Any], request: Request) -> None:
        """Delete the image and wait until it is gone; a protected one is refused
        naming the way out that orders nothing."""
        images, look = self._holding(id_, props, "the deletion", request)
        try:
            images.delete(id_, unprotect=deletable(id_), say=look.say, deadline=look.deadline)
            self._drop_doubles(images, id_, props, look.deadline, look.say)
        except ProtectedImageError as exc:
            raise ZomroError(
                f"{exc.message} (protected=True), and nothing was deleted. To delete it anyway "
                f"without ordering anything, run the same command again with "
                f"{DELETE_PROTECTED}={id_} (for example `{DELETE_PROTECTED}={id_} pulumi "
                f"destroy`): the provider then unprotects and deletes image {id_} only",
                func=exc.func, err_type=exc.err_type, err_object=exc.err_object,
            ) from None

    def images(
        self, region: Optional[str] = None, image_name: Optional[str] = None, account: Optional[str] = None
    ) -> list[dict[str, Any]]:
        """`getImages`: the images of the account as a fresh, complete list shows
        them, optionally in one region (any letter case) and of one exact name;
        each with every input and output the list reports."""
        client = self.accounts.lifecycle(account).client
        records = client.list_images(max_age=0, deadline=self._deadline(OPERATION_TIMEOUT))
        return [
            {name: value for name, value in described(record).items() if value is not None}
            for record in selected(records, region, image_name)
        ]

    @staticmethod
    def _drop_doubles(
        images: ImageLifecycle, image_id: str, props: Mapping[str, Any], deadline: float, say: Say
    ) -> None:
        """Images carrying the order token of this resource's create under another
        id (an attempt that landed after the create returned): deleted, or named on
        the resource's row.  From the shared list: no call when none is found."""
        token = props.get(ORDER_TOKEN)
        if not isinstance(token, str):
            return
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


def _replacing(id_: str, olds: Mapping[str, Any], replaces: list[str], edits: list[str]) -> str:
    """The line on a replaced image's row naming the inputs that force it."""
    name = olds.get("image_name") or id_
    line = (
        f"image {id_} ({name}) is replaced: {' and '.join(replaces)} cannot change "
        "in place, so a new image is ordered and this one deleted"
    )
    if edits:
        line += f"; {' and '.join(edits)} alone would be an edit in place"
    return line


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
