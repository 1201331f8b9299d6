"""An image's life through the API: order and identify, wait, finish, discard,
delete and wait until gone, and decide whether an image exists.

No Pulumi and no HTTP in here: the client owns the wire, the poller owns the
waiting, and this room owns the decisions.  Two rules shape it:

- Whether an image exists is decided by the image list, never by the wording
  of an error: a call on one id that fails is followed by a fresh list, and
  only an image still listed makes the error the caller's problem.
- Only an image that never became Active is ever deleted here.  Once Active,
  a failing later step (the rename, the protect edit) is reported as a warning
  and the create still returns the image as it is; the next run finishes it.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any, Callable, Optional

from .client import ZomroClient
from .clock import Clock
from .errors import (
    AuthError,
    ConfigError,
    ImageCreateError,
    ImageCreateTimeout,
    UncertainOrderError,
    ZomroError,
)
from .fields import edit_form, to_form, unadoptable
from .model import ImageRecord
from .poller import Sighting, StatusPoller, WaitTimeout
from .statuses import Phase, is_known

PROGRESS_EVERY = 30.0
DELETE_TIMEOUT = 600.0
# How long a lost order's image is looked for before ordering again.
FIND_LOST_ORDER_FOR = 15.0
ORDER_ATTEMPTS = 3

# A new image is ordered under a unique name when the order's answer may carry
# no id, so that it can be told apart from every other image, whoever ordered it
# at the same moment; it is renamed to the wanted name once Active.
_TEMPORARY = re.compile(r"^(?P<base>.*)-zp-[0-9a-f]{8}$", re.DOTALL)


def temporary_name(name: str) -> str:
    """`name` plus a unique suffix; the panel shows this while the image uploads."""
    return f"{name}-zp-{secrets.token_hex(4)}"


def base_name(name: Optional[str]) -> Optional[str]:
    """The wanted name inside a temporary one (else the name itself)."""
    if name is None:
        return None
    found = _TEMPORARY.match(name)
    return found.group("base") if found else name


@dataclasses.dataclass(frozen=True)
class Created:
    """A create's outcome: the image as it is, and anything left to finish."""

    record: ImageRecord
    warnings: tuple[str, ...] = ()


class ImageLifecycle:
    """Orders, waits for, edits and deletes images; one per provider process."""

    def __init__(
        self,
        client: ZomroClient,
        poller: StatusPoller,
        clock: Clock,
        say: Callable[[str], None],
    ) -> None:
        self._client = client
        self._poller = poller
        self._clock = clock
        self._say = say
        self._lock = threading.Lock()
        self._ordered: set[str] = set()
        # How many creates are ordering each wanted name at this moment.
        self._naming: Counter[str] = Counter()
        # Whether order answers carry the new id: unknown until the first one.
        self._answers_carry_id: Optional[bool] = None
        self._first_order = threading.Lock()
        # The account as it was before this process ordered anything: what a
        # leftover of an earlier run would be in.  One list serves every create.
        self._before: Optional[list[ImageRecord]] = None
        self._before_lock = threading.Lock()

    # ------------------------------------------------------------ existence

    def locate(self, image_id: str, *, deadline: Optional[float] = None) -> Optional[ImageRecord]:
        """The image as a fresh list shows it; None when the list does not hold it."""
        records = self._client.list_images(max_age=0, deadline=deadline)
        return next((r for r in records if r.id == image_id), None)

    def listed(self, image_id: str) -> Optional[ImageRecord]:
        """The image from the shared list (a moment old at most); None: not listed."""
        return next((r for r in self._client.list_images() if r.id == image_id), None)

    def view(self, image_id: str, *, deadline: Optional[float] = None) -> Optional[ImageRecord]:
        """The single view merged with the list; None when the list says it is gone.

        Any error of the view is confirmed through a fresh list first: absent
        there means gone; still listed means the error is the caller's problem.
        """
        try:
            single = self._client.get_image(image_id, deadline=deadline)
        except ConfigError:
            raise
        except ZomroError:
            record = self.locate(image_id, deadline=deadline)
            if record is None or record.phase is Phase.GONE:
                return None
            raise
        from_list = self.listed(image_id)
        return single.merged(from_list) if from_list else single

    # ------------------------------------------------------------ create

    def create(self, props: Mapping[str, Any], timeout: float) -> Created:
        """Order one image and wait until it is Active.

        Ends within `timeout` plus one HTTP timeout, cleanup excluded.  An
        image that fails or times out before Active is deleted again.
        """
        deadline = self._clock.monotonic() + timeout
        name = str(props["image_name"])
        want_protected = bool(props.get("protected"))
        # Ordered unprotected and protected once Active, so that an upload that
        # fails can always be deleted again (no orphan to pay for).
        form = to_form({**props, "protected": False})
        before = self._account_before(deadline)
        self._warn_about_leftovers(name, form, before, deadline)
        image_id, ordered_as = self._order(form, name, {r.id for r in before}, deadline)
        seen_id: list[str] = [image_id] if image_id else []
        try:
            record = self._wait_active(image_id, ordered_as, name, deadline, seen_id, timeout)
        except BaseException as exc:
            raise self._discard(seen_id[0] if seen_id else None, ordered_as, exc) from None
        return self._finish(record, name, want_protected, deadline)

    def _account_before(self, deadline: float) -> list[ImageRecord]:
        """The image list from before this process's first order (listed once)."""
        with self._before_lock:
            if self._before is None:
                self._before = self._client.list_images(deadline=deadline)
            return self._before

    def _warn_about_leftovers(
        self,
        name: str,
        form: Mapping[str, str],
        records: list[ImageRecord],
        deadline: float,
    ) -> None:
        """Name an image that looks like this one but that no call of this
        process created: the trace of an interrupted run, billed daily."""
        with self._lock:
            ordered = set(self._ordered)
        for record in records:
            if (
                record.id in ordered
                or base_name(record.image_name) != name
                or (record.region or "").casefold() != form["region"].casefold()
                or (record.disk_format or "").casefold() != form["disk_format"].casefold()
            ):
                continue
            url = record.url
            if url is None:
                try:
                    url = self._client.get_image(record.id, deadline=deadline).url
                except (AuthError, ConfigError):
                    raise
                except ZomroError:
                    url = None
            if url is not None and url != form["url"]:
                continue
            self._say(
                f"warning: image {record.id} ({record.image_name}) in this account has the same "
                f"name, region, url and disk format but was not created by this run (an "
                f"interrupted earlier run?); it is billed while it exists. To manage it instead "
                f"of a new one, set adopt_image_id='{record.id}'; otherwise delete it in the "
                "Zomro panel"
            )

    def _order(
        self, form: Mapping[str, str], name: str, before: set[str], deadline: float
    ) -> tuple[Optional[str], str]:
        """Order once and return (id if the answer had one, the name ordered under).

        After a lost answer the image is looked for before ordering again, so
        the same image is never ordered twice.
        """
        with self._lock:
            self._naming[name] += 1
        try:
            return self._order_once(form, name, before, deadline)
        finally:
            with self._lock:
                self._naming[name] -= 1

    def _order_once(
        self, form: Mapping[str, str], name: str, before: set[str], deadline: float
    ) -> tuple[Optional[str], str]:
        unique_name = temporary_name(name)
        for attempt in range(ORDER_ATTEMPTS):
            probing = self._answers_carry_id is None
            if probing:
                # Until one answer shows whether orders carry the id, one order
                # goes at a time; the others wait a moment for that answer.
                self._first_order.acquire()
            try:
                # A repeated order keeps the unique name, so an earlier attempt
                # that lands late is recognised as the same order, not a stranger.
                ordered_as = name if attempt == 0 and self._answers_carry_id else unique_name
                try:
                    image_id = self._client.order_image(
                        {**form, "image_name": ordered_as}, deadline=deadline
                    )
                except UncertainOrderError as exc:
                    found = self._find_lost_order(ordered_as, before, deadline)
                    if found:
                        self._remember(found)
                        return found, ordered_as
                    self._say(
                        f"the order of {name!r} was not confirmed ({exc.message}) and no new "
                        "image appeared; ordering again"
                    )
                    continue
                if self._answers_carry_id is None:
                    self._answers_carry_id = image_id is not None
            finally:
                if probing:
                    self._first_order.release()
            if image_id:
                self._remember(image_id)
                return image_id, ordered_as
            if ordered_as != name:
                return None, ordered_as  # identified by its unique name while waiting
            # An answer without an id for an order under the wanted name: the
            # API changed its answers since the first order.  Look by name.
            found = self._find_lost_order(ordered_as, before, deadline)
            if found:
                self._remember(found)
                return found, ordered_as
            raise ImageCreateError(
                f"the order for image {name!r} was accepted but no new image with that name "
                "appeared in the image list; check the Zomro panel before running `pulumi up` again",
                func="v2.image.order.param",
            )
        raise ImageCreateError(
            f"ordering image {name!r} failed {ORDER_ATTEMPTS} times without an answer and no "
            "image appeared",
            func="v2.image.order.param",
        )

    def _remember(self, image_id: str) -> None:
        with self._lock:
            self._ordered.add(image_id)

    def _find_lost_order(self, ordered_as: str, before: set[str], deadline: float) -> Optional[str]:
        """The id of the one new image named `ordered_as`, if it shows up soon."""

        unique = base_name(ordered_as) != ordered_as
        with self._lock:
            exclude = frozenset(before | self._ordered)
            siblings = self._naming[ordered_as] > 1
        if not unique and siblings:
            # Another create of this run is ordering the same name right now: a
            # new image of that name could be either's, so none is taken.
            self._say(
                f"warning: the answer to the order of {ordered_as!r} was lost while another "
                f"image of that name was being ordered; if an extra image named {ordered_as!r} "
                "shows up in the panel, delete it (the next `pulumi up` names it too)"
            )
            return None

        def found(sighting: Sighting) -> Optional[str]:
            if sighting.record is None:
                return None
            if sighting.duplicates and not unique:
                ids = ", ".join(sorted([sighting.record.id, *(r.id for r in sighting.duplicates)]))
                raise ImageCreateError(
                    f"several new images named {ordered_as!r} appeared at once ({ids}); cannot "
                    "tell which one this order made: adopt one with adopt_image_id and delete "
                    "the others"
                )
            self._drop_duplicates(ordered_as, sighting)
            return sighting.record.id

        soon = min(deadline, self._clock.monotonic() + FIND_LOST_ORDER_FOR)
        try:
            return self._poller.wait(found, deadline=soon, name=ordered_as, exclude=exclude)
        except WaitTimeout:
            return None

    def _wait_active(
        self,
        image_id: Optional[str],
        ordered_as: str,
        name: str,
        deadline: float,
        seen_id: list[str],
        timeout: float,
        *,
        listed: bool = False,
    ) -> ImageRecord:
        """Wait until the image is Active.  `listed`: it was seen already, so
        its absence from the list means it vanished; a new image may take a
        moment to show up, and is waited for."""
        started = self._clock.monotonic()
        said: dict[str, Any] = {"status": None, "at": started, "unknown": set(), "seen": listed}

        def judge(sighting: Sighting) -> Optional[ImageRecord]:
            record = sighting.record
            label = record.id if record else (image_id or ordered_as)
            if record is not None:
                said["seen"] = True
            if record is not None and not seen_id:
                seen_id.append(record.id)
                self._remember(record.id)
                self._say(f"image {record.id} ({ordered_as}) found in the image list")
            self._drop_duplicates(ordered_as, sighting)
            if not sighting.answered:
                problem = sighting.problem
                if isinstance(problem, (AuthError, ConfigError)):
                    raise problem
                now = self._clock.monotonic()
                if now - said.get("failed_at", -PROGRESS_EVERY) >= PROGRESS_EVERY:
                    said["failed_at"] = now
                    self._say(f"image {label}: status check failed ({problem}); will retry")
                return None
            now = self._clock.monotonic()
            if record is None:
                if said["seen"]:
                    raise ImageCreateError(
                        f"image {label} ({name}) disappeared while waiting for it to become "
                        f"Active (last status {said['status'] or 'unknown'})"
                    )
                if not said.get("unlisted_said"):
                    said["unlisted_said"] = True
                    self._say(f"image {label} ({ordered_as}) is not in the image list yet; waiting")
                return None
            status = record.status or record.item_status or "unknown"
            if status != said["status"] or now - said["at"] >= PROGRESS_EVERY:
                self._say(f"image {record.id} ({name}): {status} after {now - started:.0f}s")
                said["status"], said["at"] = status, now
            if record.status and not is_known(record.status) and status not in said["unknown"]:
                said["unknown"].add(status)
                self._say(
                    f"image {record.id}: status {record.status!r} is not one this provider "
                    "knows; waiting for Active (please report it with a trace, see the README)"
                )
            phase = record.phase
            if phase is Phase.ACTIVE:
                return record
            if phase in (Phase.FAILED, Phase.GONE):
                raise ImageCreateError(
                    f"image {record.id} ({name}) ended in status {status!r} instead of Active"
                )
            return None

        unique = ordered_as if base_name(ordered_as) != ordered_as else None
        try:
            return self._poller.wait(judge, deadline=deadline, image_id=image_id, name=unique)
        except WaitTimeout as exc:
            last = exc.last.record if exc.last else None
            status = (last.status or last.item_status) if last else said["status"]
            what = f"image {seen_id[0]} ({name})" if seen_id else f"the image ordered as {ordered_as!r}"
            check = ""
            if exc.last is not None and not exc.last.answered and exc.last.problem is not None:
                check = f" (last status check failed: {exc.last.problem.message})"
            if not said["seen"]:
                raise ImageCreateTimeout(
                    f"{what} did not appear in the image list within the create_timeout of "
                    f"{timeout:.0f}s{check}"
                ) from None
            raise ImageCreateTimeout(
                f"{what} was still {status or 'unknown'!r} after the create_timeout of "
                f"{timeout:.0f}s{check}"
            ) from None

    def _finish(
        self, record: ImageRecord, name: str, want_protected: bool, deadline: float
    ) -> Created:
        """Rename and protect an Active image; a failure here leaves it as it is."""
        changes: dict[str, Any] = {}
        if record.image_name != name:
            changes["image_name"] = name
        if want_protected and not record.protected:
            changes["protected"] = True
        if not changes:
            return Created(record)
        # Allowed one HTTP timeout past the deadline, as every call of a create.
        try:
            self._client.edit_image(record.id, to_form(changes), deadline=deadline)
        except ZomroError as exc:
            wanted = ", ".join(f"{k}={v!r}" for k, v in changes.items())
            warning = (
                f"warning: image {record.id} is Active but setting {wanted} failed ({exc}); "
                "it is kept as it is, and the next `pulumi up` finishes the change"
            )
            self._say(warning)
            return Created(record, (warning,))
        return Created(dataclasses.replace(record, **changes))

    def _discard(
        self, image_id: Optional[str], ordered_as: str, cause: BaseException
    ) -> BaseException:
        """Delete an image that never became Active; one error says what happened."""
        if isinstance(cause, (KeyboardInterrupt, SystemExit)):
            return cause
        if not isinstance(cause, ZomroError):
            cause = ImageCreateError(f"the image ordered as {ordered_as!r} failed: {cause}")
        if image_id is None:
            return type(cause)(
                f"{cause.message}. If an image named {ordered_as!r} shows up later, delete it in "
                "the Zomro panel (the next `pulumi up` names it too)"
            ) if isinstance(cause, ImageCreateError) else cause
        self._say(f"{cause.message}; deleting image {image_id} so it is not billed")
        error_type = type(cause) if isinstance(cause, ImageCreateError) else ImageCreateError
        try:
            self.delete(image_id, unprotect=True)
        except Exception as exc:  # report both problems, never hide the first
            again = "for the same reason" if str(exc) in str(cause) else f"({exc})"
            return error_type(
                f"{cause.message}. Deleting image {image_id} afterwards failed {again}: delete "
                f"image {image_id} in the Zomro panel (it may still be billed), or take it over "
                f"with adopt_image_id={image_id!r}"
            )
        return error_type(f"{cause.message}. Image {image_id} was deleted, so nothing is left behind")

    def _drop_duplicates(self, ordered_as: str, sighting: Sighting) -> None:
        """Images carrying this create's unique name besides the one it keeps are
        its own order landing twice (a lost answer, ordered again): delete them."""
        for extra in sighting.duplicates:
            self._say(
                f"image {extra.id} carries the same unique name {ordered_as!r}: an order whose "
                "answer was lost landed twice; deleting the extra one"
            )
            try:
                self._client.delete_image(extra.id)
            except ZomroError as exc:
                self._say(
                    f"warning: deleting the extra image {extra.id} failed ({exc}); delete it in "
                    "the Zomro panel"
                )

    # ------------------------------------------------------------ edit

    def edit(self, image_id: str, form: Mapping[str, str]) -> None:
        """One `image.edit`; an image the list no longer holds is named as gone."""
        try:
            self._client.edit_image(image_id, form)
        except ConfigError:
            raise
        except ZomroError:
            if self.locate(image_id) is None:
                raise ZomroError(
                    f"image {image_id} no longer exists (it is not in the image list); run "
                    "`pulumi refresh` to drop it from the stack"
                ) from None
            raise

    # ------------------------------------------------------------ adopt

    def adopt(self, image_id: str, props: Mapping[str, Any], timeout: float) -> ImageRecord:
        """Take over an existing image: what cannot be edited must match, what
        can is edited; one still uploading is waited on first."""
        record = self.view(image_id)
        if record is None:
            raise ZomroError(f"adopt_image_id: image {image_id} does not exist in this Zomro account")
        mismatched = unadoptable(record, props)
        if mismatched:
            raise ZomroError(
                f"adopt_image_id: image {image_id} cannot be adopted because fields that cannot "
                f"be edited differ: {'; '.join(mismatched)}. Change the program to match, or "
                "drop adopt_image_id to order a new image"
            )
        if record.phase is Phase.PENDING:
            name = str(props.get("image_name"))
            deadline = self._clock.monotonic() + timeout
            record = self._wait_active(
                image_id, name, name, deadline, [image_id], timeout, listed=True
            )
        elif record.phase is not Phase.ACTIVE:
            raise ZomroError(f"adopt_image_id: image {image_id} is {record.status!r}, not Active")
        form = edit_form(record, props)
        if form:
            self.edit(image_id, form)
        return self.view(image_id) or record

    # ------------------------------------------------------------ delete

    def delete(self, image_id: str, *, unprotect: bool) -> None:
        """Delete an image and wait until the list no longer holds it.

        An image already gone is fine.  A protected one is refused with what to
        do, unless `unprotect` (cleanup of an image this run ordered).
        """
        try:
            self._client.delete_image(image_id)
        except ConfigError:
            raise
        except ZomroError as exc:
            record = self.locate(image_id)
            if record is None or record.phase is Phase.GONE:
                return
            if not record.protected:
                raise
            if not unprotect:
                raise ZomroError(
                    f"image {image_id} is protected, so Zomro refuses to delete it. Set "
                    "protected=False on the resource and run `pulumi up` first, then "
                    "destroy or replace it",
                    func="image.delete",
                    err_type=exc.err_type,
                    err_object=exc.err_object,
                ) from None
            self._client.edit_image(image_id, to_form({"protected": False}))
            self._client.delete_image(image_id)
        self.wait_gone(image_id)

    def wait_gone(self, image_id: str) -> None:
        def gone(sighting: Sighting) -> Optional[bool]:
            if not sighting.answered:
                if isinstance(sighting.problem, (AuthError, ConfigError)):
                    raise sighting.problem
                return None
            if sighting.record is None or sighting.record.phase is Phase.GONE:
                return True
            return None

        deadline = self._clock.monotonic() + DELETE_TIMEOUT
        try:
            self._poller.wait(gone, deadline=deadline, image_id=image_id, absent_means_gone=True)
        except WaitTimeout:
            raise ZomroError(
                f"image {image_id} was asked to be deleted but is still listed after "
                f"{DELETE_TIMEOUT:.0f}s; check the Zomro panel"
            ) from None
