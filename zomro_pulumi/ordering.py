"""Ordering a new image once, and knowing by proof which image it made.

An image belongs to a create only on proof: the id in its own order's answer, or
the unique token the order carried in the image's name, which the image list
shows.  A name alone is no proof (another create, or another stack on the same
account, may order the same name at the same moment), and neither is "it
appeared while I was looking".

Every order goes under `zp-<16 hex digits>-<image_name>`: the token is drawn
from the operating system's randomness for this one order and sent once, so no
other order, in this run or any other, carries it.  It stands at the front of
the name, in letters case folding keeps, so that an API which stores names cut
short, case-folded or trimmed still stores it (`model.token_of` reads it back).
The image keeps that name until it is Active, when the lifecycle renames it
(one `image.edit`, which also protects it if asked); the token stays in the
resource's state, so that later runs know a late double of its order.

An order whose answer is lost may or may not have been made.  Its image is
looked for by the token; it is sent again (with the same token) only once a
complete image list, taken after a grace period, proves it did not land.  A
list proves that only while names are seen to keep tokens: once this run saw
the API store a name altered beyond what a token survives, or the list holds a
name that may be the ordered one cut shorter than its token, the create fails
instead, naming the order.  A late landing of the first attempt carries the
same token, so it is known for this order's double, not mistaken for anyone
else's image.  When time runs out first, the create fails with an error naming
the token, which is how the image can be found (and taken over, or deleted)
later; it is never ordered again.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from typing import Optional

from .client import ZomroClient
from .clock import Clock
from .errors import ImageCreateError, UncertainOrderError, ZomroError
from .fields import ImageSpec, take_over
from .model import (
    TOKEN_DIGITS,
    ImageRecord,
    cut_token,
    keeps_tokens,
    name_with_token,
    token_of,
)
from .poller import StatusPoller
from .waits import APPEAR, Look, Say, wait_for

# After a lost answer: how long the image is looked for by its token before a
# complete list may prove the order did not land, and how often it is sent.
FIND_LOST_ORDER_FOR = 15.0
ORDER_ATTEMPTS = 3


def new_token() -> str:
    """A token no other order carries: 64 bits from the system's randomness."""
    return secrets.token_hex(TOKEN_DIGITS // 2)


@dataclasses.dataclass(frozen=True)
class Order:
    """One order as sent: the name it carried and what its answer proved."""

    name: str
    """The image's wanted name."""
    token: str
    """This order's token, and nobody else's."""
    ordered_as: str
    """The name the order carried: this order's token, then the wanted name."""
    image_id: Optional[str] = None
    """The id the order's own answer carried: proof of which image it made."""
    lost: Optional[ZomroError] = None
    """Why the answer was lost, when it was: the order may or may not have been made."""
    found: Optional[ImageRecord] = None
    """The image found by the token after a lost answer."""
    attempts: int = 1
    """How often it was sent: more than once only after a list proved it absent."""


@dataclasses.dataclass(frozen=True)
class Identified:
    """The image an order made, and any others carrying its token (an API that
    made two images of one order: also this order's, but not the one kept)."""

    record: Optional[ImageRecord]
    image_id: str
    doubles: tuple[ImageRecord, ...] = ()


class Orders:
    """Places orders and identifies the image each one made; one per account."""

    def __init__(self, client: ZomroClient, poller: StatusPoller, clock: Clock) -> None:
        self._client = client
        self._poller = poller
        self._clock = clock
        self._lock = threading.Lock()
        self.names_altered: Optional[str] = None
        """What this run saw of a name stored other than sent, beyond what a token
        survives: from then on no list proves that an order did not land."""

    def observe(self, image_id: str, sent: str, listed: Optional[str]) -> None:
        """Compare the name listed for an image with the name this run sent it."""
        if keeps_tokens(sent, listed):
            return
        with self._lock:
            if self.names_altered is None:
                self.names_altered = (
                    f"the API stored the name {sent!r} of image {image_id} as {listed!r}"
                )

    def place(self, spec: ImageSpec, deadline: float, say: Say) -> Order:
        """Send the order; again only when a complete list proves the previous
        attempt did not land.  A lost answer is returned, not raised: the image
        may exist, and only its token can tell."""
        token = new_token()
        order = Order(spec.image_name, token, name_with_token(spec.image_name, token))
        # Said before sending, so that even a run killed right after the order
        # leaves the name to look for in its output.
        say(f"ordering image {order.name!r} as {order.ordered_as!r} (its name until Active)")
        form = spec.order_form(order.ordered_as)
        attempt = 0
        while True:
            attempt += 1
            order = dataclasses.replace(order, attempts=attempt)
            try:
                image_id = self._client.order_image(form, deadline=deadline)
            except UncertainOrderError as exc:
                say(
                    f"the answer to the order of {order.ordered_as!r} was lost ({exc.message}); "
                    "looking for the image by its token"
                )
                order = dataclasses.replace(order, lost=exc)
                found, absent, unprovable = self._look_for(order, deadline, say)
                if unprovable is not None:
                    raise ImageCreateError(unknown_fate(
                        order,
                        f"got no answer ({exc.message}), and {unprovable}: no image list can "
                        "prove that it did not land, so it was not ordered again",
                    )) from None
                if found is not None or not absent:
                    return dataclasses.replace(order, found=found)
                if attempt == ORDER_ATTEMPTS:
                    raise ImageCreateError(unknown_fate(
                        order,
                        f"was sent {attempt} times, each answer was lost ({exc.message}), and a "
                        "complete image list shows that none of them landed",
                    )) from None
                say(
                    f"no image carries the token of {order.ordered_as!r} in the complete image "
                    "list: that order did not land; sending it again under the same token"
                )
                continue
            return dataclasses.replace(order, image_id=image_id, lost=None)

    def _look_for(
        self, order: Order, deadline: float, say: Say
    ) -> tuple[Optional[ImageRecord], bool, Optional[str]]:
        """(the image carrying the order's token, whether a complete list
        proves there is none, why no list can prove it): looked for during a
        grace period, then once more in a fresh list.  A list that cannot be had
        proves nothing; neither does one once names are seen not to keep tokens."""
        soon = min(deadline, self._clock.monotonic() + FIND_LOST_ORDER_FOR)
        try:
            sighting = wait_for(
                self._poller, APPEAR, Look(name=order.ordered_as),
                label=f"the image ordered as {order.ordered_as!r}", deadline=soon,
                limit=f"{FIND_LOST_ORDER_FOR:.0f}s", clock=self._clock, say=say,
            )
            return sighting.record, False, None
        except ImageCreateError:
            pass
        if self._clock.monotonic() >= deadline:
            return None, False, None
        try:
            records = self._client.list_images(max_age=0, deadline=deadline)
        except ZomroError:
            return None, False, None
        mine = sorted((r for r in records if token_of(r.image_name) == order.token), key=_by_id)
        if mine:
            return mine[0], False, None
        if self._client.check_filter(deadline):
            return None, False, f"the account's image list hides images ({self._client.hides_images})"
        cut = next((r for r in records if cut_token(r.image_name)), None)
        if cut is not None:
            return None, False, (
                f"image {cut.id} is listed as {cut.image_name!r}: the API stores names cut "
                "shorter than an order token"
            )
        return None, True, self.names_altered

    def identify(self, order: Order, deadline: float, limit: str, say: Say) -> Identified:
        """The image the order made: by the id its answer carried, or else by
        its token in the image list, waited for until `deadline` (`limit`
        names that bound in messages)."""
        if order.image_id is not None:
            return Identified(None, order.image_id)
        if order.found is not None:
            return Identified(order.found, order.found.id)
        try:
            sighting = wait_for(
                self._poller,
                APPEAR,
                Look(name=order.ordered_as),
                label=f"the image ordered as {order.ordered_as!r}",
                deadline=deadline,
                limit=limit,
                clock=self._clock,
                say=say,
            )
        except ImageCreateError as exc:
            if order.lost is None:
                raise ImageCreateError(unknown_fate(order, f"was accepted, but {exc.message}")) from None
            raise ImageCreateError(unknown_fate(
                order,
                f"got no answer ({order.lost.message}), and {exc.message}; it was not ordered "
                "again without proof that it had not landed",
            )) from None
        record = sighting.record
        assert record is not None  # APPEAR ends only on a listed image
        say(f"image {record.id} ({order.ordered_as}) found in the image list by its token")
        return Identified(record, record.id, sighting.duplicates)


def _by_id(record: ImageRecord) -> tuple[int, str]:
    return len(record.id), record.id


def unknown_fate(order: Order, why: str) -> str:
    """The error of a create whose image was never seen: what happened to its
    order (`why`), and how to find the image later if it was made after all."""
    return (
        f"the order of image {order.name!r} (sent as {order.ordered_as!r}) {why}. If it was "
        f"made after all, its name starts with 'zp-{order.token}' (the panel shows it so; "
        "in any case of letters, or cut short by the API): take it over "
        f"by adding {take_over('<its id>')} to this image and running `pulumi up`, or delete "
        "it in the Zomro panel. Until then the next `pulumi up` orders a new image."
    )
