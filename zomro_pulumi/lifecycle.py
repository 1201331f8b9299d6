"""An image's life after the order: wait, finish, discard, adopt, edit, delete.

No Pulumi and no HTTP in here: the client owns the wire, the ordering room
orders and identifies, the waits ride on the shared poller, and this room owns
the decisions.  Three rules shape it:

- Whether an image exists is decided by a complete image list, never by the
  wording of an error: a call on one id that fails is followed by a fresh list,
  and only an image still listed makes the error the caller's problem.  An image
  the list does not show is gone only when its own view fails too: a filter
  saved in the panel may hide a live image from a list that is complete in its
  counts (`Looks.unlisted`, which says once a run that the list looks filtered).
- Nothing is discarded without a last look.  A create that fails deletes the
  image it ordered only when a last look shows it is not Active; an image that
  turned Active after all is kept (and the create succeeds), and an image whose
  state cannot be seen is kept and named in the error.
- Once Active, a failing later step (the rename, the protect edit) is reported
  as a warning and the create still returns the image as it is; the next run
  finishes it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

from .client import ZomroClient
from .clock import Clock
from .errors import ConfigError, ImageCreateError, ProtectedImageError, ZomroError
from .fields import ImageSpec, take_over, to_form
from .model import ImageRecord, keeps_tokens, token_of
from .ordering import Identified, Order, Orders, unknown_fate
from .poller import StatusPoller
from .statuses import Phase
from .waits import APPEAR, BECOME_ACTIVE, DISAPPEAR, Look, Say, StateChange, wait_for

DELETE_TIMEOUT = 600.0
# The word that starts a warning: the provider shows such a line as the engine's warning.
WARNING = "warning: "
# How long a last look (before discarding) and other single checks may take.
LOOK_TIMEOUT = 60.0


@dataclasses.dataclass(frozen=True)
class Created:
    """A create's outcome: the image as it is, and anything left to finish."""

    record: ImageRecord
    warnings: tuple[str, ...] = ()
    token: Optional[str] = None
    """The token of the order that made the image (kept in the state)."""


class Looks:
    """Whether an image exists and how it is, decided by a complete image list,
    never by the wording of an error."""

    def __init__(self, client: ZomroClient, clock: Clock) -> None:
        self._client = client
        self._clock = clock

    def locate(self, image_id: str, *, deadline: Optional[float] = None) -> Optional[ImageRecord]:
        """The image as a fresh, complete list shows it; None when it does not hold it."""
        records = self._client.list_images(max_age=0, deadline=deadline)
        return next((r for r in records if r.id == image_id), None)

    def listed(self, image_id: str, *, deadline: Optional[float] = None) -> Optional[ImageRecord]:
        """The image from the shared list (a moment old at most); None: not listed."""
        records = self._client.list_images(deadline=deadline)
        return next((r for r in records if r.id == image_id), None)

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
        try:
            from_list = self.listed(image_id, deadline=deadline)
        except ZomroError:
            return single  # what only the list shows (the cost) can wait
        return single.merged(from_list) if from_list else single

    def unlisted(
        self, image_id: str, say: Say, *, deadline: Optional[float] = None
    ) -> Optional[ImageRecord]:
        """An image a complete list does not hold, as its own view shows it (no
        list filter applies to a view); None when the view fails too, or shows it
        gone.  One it shows alive means the list hides images: said once a run."""
        try:
            record = self._client.get_image(image_id, deadline=deadline)
        except ConfigError:
            raise
        except ZomroError:
            return None
        if record.phase is Phase.GONE:
            return None
        if self._client.note_hidden(image_id):
            say(
                f"{WARNING}{self._client.hides_images}: the account's image list looks "
                "filtered (a filter saved in the Zomro panel's image list?). For the rest of "
                "this run no image is taken for gone, and no lost order is sent again, on the "
                "list's word; clear the filter in the panel"
            )
        return record

    def last_look(self, image_id: str) -> Optional[ImageRecord]:
        """The image as it is now, for a decision that cannot be taken back:
        the single view, else a complete list; None only when the list proves
        it gone.  Raises when neither can be had."""
        deadline = self._clock.monotonic() + LOOK_TIMEOUT
        try:
            return self.view(image_id, deadline=deadline)
        except ConfigError:
            raise
        except ZomroError:
            record = self.locate(image_id, deadline=deadline)
            return None if record is None or record.phase is Phase.GONE else record


class Doubles:
    """Images that carry an order's token under an id no resource holds for it:
    made by that order too, found in any list a run makes, never left unnamed."""

    def __init__(self, client: ZomroClient, looks: Looks, delete: Callable[..., None]) -> None:
        self._client = client
        self._looks = looks
        self._delete = delete

    def find(
        self, token: Optional[str], image_id: str, *, deadline: Optional[float] = None
    ) -> tuple[ImageRecord, ...]:
        """Images other than `image_id` whose names carry the order token `token`,
        from the shared list (no call of its own when a list is fresh)."""
        if not token:
            return ()
        records = self._client.list_images(deadline=deadline)
        return tuple(r for r in records if r.id != image_id and token_of(r.image_name) == token)

    def drop(self, doubles: tuple[ImageRecord, ...], token: str, say: Say) -> list[str]:
        """Other images carrying one order's token: that order made them too (an
        API that made two images of one order, or an attempt that landed late),
        and no resource holds them.  Each is deleted after a last look shows it
        still carries the token and is not protected; a protected one, or one
        that cannot be deleted, is named in a warning (returned too)."""
        warnings: list[str] = []
        for extra in doubles:
            try:
                record = self._looks.last_look(extra.id)
                if record is None or token_of(record.image_name) != token:
                    continue  # gone, or renamed meanwhile: no longer provably a double
                if not record.protected:
                    say(
                        f"image {extra.id} ({record.image_name!r}) also carries order token "
                        f"{token}, so that order made it too, and no resource holds it; "
                        "deleting it so it is not billed"
                    )
                    self._delete(extra.id, unprotect=False, say=say)
                    continue
                problem = "it is protected"
            except ZomroError as exc:
                problem = f"deleting it failed ({exc})"
            warning = (
                f"{WARNING}image {extra.id} also carries order token {token}, so that order "
                f"made it too, and {problem}; no resource holds it and it may be billed: "
                f"delete it in the Zomro panel, or take it over with {take_over(extra.id)}"
            )
            say(warning)
            warnings.append(warning)
        return warnings


class ImageLifecycle:
    """Waits for, finishes, edits and deletes images of one account."""

    def __init__(self, client: ZomroClient, poller: StatusPoller, clock: Clock, say: Say) -> None:
        self._client = client
        self._poller = poller
        self._clock = clock
        self._say = say
        self.orders = Orders(client, poller, clock)
        self.looks = Looks(client, clock)
        self.doubles = Doubles(client, self.looks, self.delete)

    @property
    def client(self) -> ZomroClient:
        return self._client

    def _deadline(self, seconds: float) -> float:
        return self._clock.monotonic() + seconds

    # ------------------------------------------------------------ create

    def create(self, spec: ImageSpec, say: Optional[Say] = None) -> Created:
        """Order one image and wait until it is Active.

        Ends within `create_timeout` plus one HTTP timeout, cleanup excluded.
        An order is sent once, whatever happens to its answer.
        """
        say = say or self._say
        timeout = float(spec.create_timeout)
        deadline = self._deadline(timeout)
        limit = f"the create_timeout of {timeout:.0f}s"
        order = self.orders.place(spec, deadline, say)
        image_id = order.image_id
        try:
            found = self.orders.identify(order, deadline, limit, say)
            image_id = found.image_id
            # An order sent twice may land twice: then its token is watched too,
            # and a double is dropped as soon as it shows.
            token = order.ordered_as if order.attempts > 1 else None
            if token is not None and found.record is None:
                found = self._see(APPEAR, found, token, token, deadline, limit, say)
            warnings = self.doubles.drop(found.doubles, order.token, say)
            if found.record is None or found.record.phase is not Phase.ACTIVE:
                found = self._see(BECOME_ACTIVE, found, spec.image_name, token, deadline, limit, say)
                warnings += self.doubles.drop(found.doubles, order.token, say)
        except Exception as exc:
            return self._after_failure(order, image_id, spec, exc, say)
        assert found.record is not None  # seen Active
        listed = found.record.image_name
        self.orders.observe(found.image_id, order.ordered_as, listed)
        if order.attempts > 1 and not keeps_tokens(order.ordered_as, listed):
            warnings.append(_untraceable(order, listed, say))
        created = self._finish(found.record, spec, deadline, say)
        return dataclasses.replace(
            created, warnings=tuple(warnings) + created.warnings, token=order.token
        )

    def _see(
        self,
        change: StateChange,
        found: Identified,
        label: str,
        token: Optional[str],
        deadline: float,
        limit: str,
        say: Say,
    ) -> Identified:
        """The image once the wait `change` is over, with any other image
        carrying `token` (its order's name) when one is given."""
        look = Look(image_id=found.image_id, name=token, seen=found.record is not None)
        sighting = wait_for(
            self._poller, change, look, label=label, deadline=deadline, limit=limit,
            clock=self._clock, say=say,
        )
        return Identified(sighting.record, found.image_id, sighting.duplicates)

    def _finish(self, record: ImageRecord, spec: ImageSpec, deadline: float, say: Say) -> Created:
        """Rename and protect an Active image; a failure here leaves it as it is."""
        changes: dict[str, Any] = {}
        if record.image_name != spec.image_name:
            changes["image_name"] = spec.image_name
        if spec.protected and not record.protected:
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
            say(warning)
            return Created(record, (warning,))
        return Created(dataclasses.replace(record, **changes))

    def _after_failure(
        self, order: Order, image_id: Optional[str], spec: ImageSpec, cause: Exception, say: Say
    ) -> Created:
        """A create whose wait failed: keep what is Active or cannot be seen,
        delete what provably is not; one error says what happened."""
        error_type = type(cause) if isinstance(cause, ImageCreateError) else ImageCreateError
        message = cause.message if isinstance(cause, ZomroError) else str(cause)
        if image_id is None:
            if isinstance(cause, ImageCreateError):
                raise cause
            raise error_type(unknown_fate(order, f"was sent, but then: {message}")) from None
        try:
            record = self.looks.last_look(image_id)
        except ZomroError as exc:
            raise error_type(
                f"{message}. Image {image_id} could not be looked at afterwards {_why(exc, message)}, so it "
                f"was kept, not deleted, and may be billed: if it is Active, take it over with "
                f"{take_over(image_id)}; otherwise delete it in the Zomro panel"
            ) from None
        if record is None:
            raise error_type(f"{message}. Image {image_id} is not listed any more: nothing is left behind")
        if record.phase is Phase.ACTIVE:
            say(f"image {image_id} is Active at a last look after: {message}; it is kept")
            kept = self._finish(record, spec, self._deadline(LOOK_TIMEOUT), say)
            return dataclasses.replace(kept, token=order.token)
        status = record.status or record.item_status or "unknown"
        say(f"{message}; deleting image {image_id} ({status}) so it is not billed")
        try:
            self.delete(image_id, unprotect=True, say=say)
        except ZomroError as exc:
            raise error_type(
                f"{message}. Deleting image {image_id} afterwards failed {_why(exc, message)}: delete it in "
                f"the Zomro panel (it may still be billed), or take it over with "
                f"{take_over(image_id)}"
            ) from None
        raise error_type(f"{message}. Image {image_id} was deleted, so nothing is left behind") from None

    # ------------------------------------------------------------ adopt, edit

    def adopt(self, spec: ImageSpec, say: Optional[Say] = None) -> ImageRecord:
        """Take over an existing image: what cannot be edited must match, what
        can is edited; one still uploading is waited on first."""
        say = say or self._say
        image_id = str(spec.adopt_image_id)
        record = self.looks.view(image_id)
        if record is None:
            raise ZomroError(f"adopt_image_id: image {image_id} does not exist in this Zomro account")
        mismatched = spec.unadoptable(record)
        if mismatched:
            raise ZomroError(
                f"adopt_image_id: image {image_id} cannot be adopted because fields that cannot "
                f"be edited differ: {'; '.join(mismatched)}. Change the program to match, or "
                "drop adopt_image_id to order a new image"
            )
        if record.phase is Phase.PENDING:
            timeout = float(spec.create_timeout)
            limit = f"the create_timeout of {timeout:.0f}s"
            found = self._see(
                BECOME_ACTIVE, Identified(record, image_id), spec.image_name, None,
                self._deadline(timeout), limit, say,
            )
            record = found.record or record
        elif record.phase is not Phase.ACTIVE:
            raise ZomroError(f"adopt_image_id: image {image_id} is {record.status!r}, not Active")
        form = spec.edits_from(record)
        if form:
            self.edit(image_id, form)
        return self.looks.view(image_id) or record

    def edit(self, image_id: str, form: dict[str, str], *, deadline: Optional[float] = None) -> None:
        """One `image.edit`; an image the list no longer holds is named as gone."""
        try:
            self._client.edit_image(image_id, form, deadline=deadline)
        except ConfigError:
            raise
        except ZomroError:
            if (
                self.looks.locate(image_id, deadline=deadline) is None
                and self.looks.unlisted(image_id, self._say, deadline=deadline) is None
            ):
                raise ZomroError(
                    f"image {image_id} no longer exists (it is not in the image list); run "
                    "`pulumi refresh` to drop it from the stack"
                ) from None
            raise

    # ------------------------------------------------------------ delete

    def delete(
        self,
        image_id: str,
        *,
        unprotect: bool,
        say: Optional[Say] = None,
        deadline: Optional[float] = None,
    ) -> None:
        """Delete an image and wait until the list no longer holds it.

        An image already gone is fine.  A protected one raises
        `ProtectedImageError`, unless `unprotect` (cleanup of an image this
        run ordered, or a deletion the user allowed).
        """
        try:
            self._client.delete_image(image_id, deadline=deadline)
        except ConfigError:
            raise
        except ZomroError as exc:
            record = self.looks.locate(image_id, deadline=deadline)
            if record is None:
                record = self.looks.unlisted(image_id, say or self._say, deadline=deadline)
            if record is None or record.phase is Phase.GONE:
                return
            if not record.protected:
                raise
            if not unprotect:
                raise ProtectedImageError(image_id, exc) from None
            self._client.edit_image(image_id, to_form({"protected": False}), deadline=deadline)
            self._client.delete_image(image_id, deadline=deadline)
        self.wait_gone(image_id, say=say)

    def wait_gone(self, image_id: str, *, say: Optional[Say] = None) -> None:
        wait_for(
            self._poller,
            DISAPPEAR,
            Look(image_id=image_id, seen=True),
            label=f"image {image_id}",
            deadline=self._deadline(DELETE_TIMEOUT),
            limit=f"{DELETE_TIMEOUT:.0f}s",
            clock=self._clock,
            say=say or self._say,
        )


def _untraceable(order: Order, listed: Optional[str], say: Say) -> str:
    """A warning: an earlier attempt of an order sent again may still land, and
    the API's way of storing names hides the token it would be known by."""
    warning = (
        f"{WARNING}the API stored the name of this image as {listed!r}, not as "
        f"{order.ordered_as!r}, so its order token cannot be seen in a list; the order "
        f"was sent {order.attempts} times. If an earlier attempt lands after all, the "
        f"panel lists it under what the API keeps of {order.ordered_as!r}, as it did here: "
        "it is this order's double, and no resource holds it; delete it in the Zomro panel"
    )
    say(warning)
    return warning


def _why(exc: ZomroError, message: str) -> str:
    """A second failure, said once: "for the same reason" when it repeats the first."""
    return "for the same reason" if exc.message in message else f"({exc})"
