"""The image functions of the Zomro (BILLmanager) API, on top of the wire.

Knows the function names, the order's constant fields, the list's paging and
what makes a list answer believable; nothing about Pulumi.  One `ZomroClient`
is safe to share between threads: concurrent readers of the image list share
one fetch, and any change made through the client invalidates it.

A list is evidence that an image is gone only when it provably holds every
image: each element has an id, the total it states (`p_elems`) is the number of
distinct images its pages hold, and the pages were read until the server showed
the end, without trusting paging fields it may leave out.  Anything else raises
`IncompleteListError`, so that nobody acts on a list with holes.

Whether an image exists is not decided here: a call on one id that fails
raises, and the caller confirms through the image list.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any, Optional

import requests

from .clock import SYSTEM_CLOCK, Clock
from .errors import AnswerTimeout, ApiError, IncompleteListError, ZomroError
from .model import ImageRecord, as_list, to_int, unwrap
from .wire import DEFAULT_ENDPOINT, DEFAULT_TUNING, FUNC_AUTH, Tuning, Wire, check_endpoint

if TYPE_CHECKING:
    from .trace import WireTrace

__all__ = [
    "DEFAULT_ENDPOINT",
    "FUNC_AUTH",
    "FUNC_DELETE",
    "FUNC_EDIT",
    "FUNC_FILTER",
    "FUNC_LIST",
    "FUNC_ORDER",
    "FUNC_WHOAMI",
    "ORDER_CONSTANTS",
    "Tuning",
    "ZomroClient",
    "check_endpoint",
    "saved_filter",
]

FUNC_ORDER = "v2.image.order.param"
FUNC_LIST = "image"
FUNC_EDIT = "image.edit"
FUNC_DELETE = "image.delete"
# Who the session belongs to: BILLmanager's cheapest authenticated call, used to
# try a token without touching images (not on the help page; doctor checks it).
FUNC_WHOAMI = "whoami"
# The image list's saved filter form, read without `sok` (this API family keeps
# one per user and list, set in the panel; not on the help page).
FUNC_FILTER = "image.filter"
# Keys of a form's answer that are not the values of its fields.
FORM_KEYS = frozenset(
    {"elid", "plid", "func", "out", "sok", "auth", "tparams", "clicked_button", "progressid"}
)

# Where an order answer may carry the new image's id (the page does not say).
ORDER_ID_KEYS = ("id", "elid", "item.id", "item_id")
# Fields every order carries, fixed by the help page: confirm, skip the basket
# (with `off` nothing is created), and the only item type there is.
ORDER_CONSTANTS: Mapping[str, str] = {"sok": "ok", "skipbasket": "on", "image_type": "image"}
# More pages than any account has: a server that never shows the end is an error.
MAX_PAGES = 1000


class ZomroClient:
    """Calls the Zomro image API; the wire underneath holds the session.

    :param endpoint: API URL; https, or http to a loopback address (the emulator).
    :param token: a session token used as is (cannot be renewed when it expires).
    :param username: with `password`, logs in with `func=auth` and logs in again
        once whenever the API says the session expired.
    :param tuning: timeouts, retries, pool and page sizes, how long a list serves.
    """

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        token: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        tuning: Tuning = DEFAULT_TUNING,
        session: Optional[requests.Session] = None,
        clock: Clock = SYSTEM_CLOCK,
        trace: Optional[WireTrace] = None,
    ) -> None:
        self.wire = Wire(
            endpoint, token=token, username=username, password=password, tuning=tuning,
            session=session, clock=clock, trace=trace,
        )
        self.endpoint = self.wire.endpoint
        self.tuning = tuning
        self.clock = clock
        # Pages the last full list took: what one list call costs a poller.
        self.list_pages = 1
        self._list_lock = threading.Lock()
        self._generation = 0
        self._inflight: Optional[tuple[int, Future[list[ImageRecord]]]] = None
        self._cached: Optional[tuple[int, float, list[ImageRecord]]] = None
        self.hides_images: Optional[str] = None
        """Why the image list is known to hide images: a filter saved in the panel,
        or an image its own view shows that a complete list left out.  Set once,
        for the client's life (the run); no absence is taken from a list after that."""
        self._filter_read = False

    def __repr__(self) -> str:
        return f"ZomroClient(endpoint={self.endpoint!r}, auth={self.wire.auth_kind})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("ZomroClient holds credentials and must not be pickled")

    def close(self) -> None:
        self.wire.close()

    def call(
        self,
        func: str,
        form: Optional[Mapping[str, str]] = None,
        *,
        safe: bool = True,
        deadline: Optional[float] = None,
    ) -> dict[str, Any]:
        """Any API function through the wire (see `Wire.call`)."""
        return self.wire.call(func, form, safe=safe, deadline=deadline)

    def login(self, deadline: Optional[float] = None) -> str:
        """`func=auth` with the configured username and password; the new token."""
        return self.wire.login(deadline)

    def check_credentials(self, deadline: Optional[float] = None) -> None:
        """One call that fails when the credentials do: a login, or the token
        tried with `whoami`.  An API that does not know `whoami` proves nothing
        either way and is not an error; a rejected token is (`AuthError`)."""
        if self.wire.can_login:
            self.wire.renew(deadline)  # the session serves the run's later calls too
            return
        try:
            self.call(FUNC_WHOAMI, deadline=deadline)
        except ApiError as exc:
            if exc.err_type in {"access", "auth", "blocked"}:
                raise

    # ------------------------------------------------------------------ images

    def check_filter(self, deadline: Optional[float] = None) -> Optional[str]:
        """Whether the image list may hide images, read from its saved filter
        once a run (`image.filter` without `sok`): `hides_images`.  An API that
        does not answer that form says nothing either way; a failed call is
        asked again next time."""
        with self._list_lock:
            if self._filter_read:
                return self.hides_images
        try:
            fields = saved_filter(self.call(FUNC_FILTER, deadline=deadline))
        except ApiError:
            fields = {}  # not known here: the list alone decides, as before
        except ZomroError:
            return self.hides_images  # no answer: asked again next time
        with self._list_lock:
            self._filter_read = True
            if fields and self.hides_images is None:
                shown = ", ".join(f"{k} {v!r}" for k, v in sorted(fields.items()))
                self.hides_images = f"a filter is saved for the image list ({shown})"
            return self.hides_images

    def note_hidden(self, image_id: str) -> bool:
        """Remember that a complete list left out image `image_id`, which its own
        view shows; True the first time (to say it once)."""
        with self._list_lock:
            if self.hides_images is not None:
                return False
            self.hides_images = (
                f"image {image_id} exists (its own view shows it) but the complete image list "
                "does not hold it"
            )
            return True

    def _invalidate(self) -> None:
        with self._list_lock:
            self._generation += 1
            self._cached = None

    def _mutating(
        self, func: str, form: Mapping[str, str], safe: bool, deadline: Optional[float]
    ) -> dict[str, Any]:
        # Invalidate before and after: a list that started before the change, or
        # while it ran, must not be served to anyone asking after it.
        self._invalidate()
        try:
            return self.call(func, form, safe=safe, deadline=deadline)
        finally:
            self._invalidate()

    def list_images(
        self, *, max_age: Optional[float] = None, deadline: Optional[float] = None
    ) -> list[ImageRecord]:
        """Every image of the account, all pages, provably complete (else
        `IncompleteListError`).  Concurrent callers share one fetch; an answer
        younger than `max_age` (default `list_ttl`) is reused unless this client
        changed something since it was fetched."""
        ttl = self.tuning.list_ttl if max_age is None else max_age
        with self._list_lock:
            gen = self._generation
            cached = self._cached
            if cached and cached[0] == gen and self.clock.monotonic() - cached[1] < ttl:
                return list(cached[2])
            shared = self._inflight[1] if self._inflight and self._inflight[0] == gen else None
            if shared is None:
                future: Future[list[ImageRecord]] = Future()
                self._inflight = (gen, future)
        if shared is not None:
            return list(self._await(shared, deadline))
        try:
            records = self._fetch_all_pages(deadline)
        except BaseException as exc:
            future.set_exception(exc)
            self._settle(future, gen, None)
            raise
        future.set_result(records)
        self._settle(future, gen, records)
        return list(records)

    def _await(
        self, future: Future[list[ImageRecord]], deadline: Optional[float]
    ) -> list[ImageRecord]:
        """Another caller's fetch, waited on no longer than this caller's deadline
        allows (plus the one HTTP timeout every bound allows)."""
        if deadline is None:
            return future.result()
        left = max(0.0, deadline - self.clock.monotonic()) + self.tuning.timeout
        try:
            return future.result(timeout=left)
        except FutureTimeout:
            raise AnswerTimeout("the shared image list did not arrive in time", func=FUNC_LIST) from None

    def _settle(
        self, future: Future[list[ImageRecord]], gen: int, records: Optional[list[ImageRecord]]
    ) -> None:
        with self._list_lock:
            if self._inflight and self._inflight[1] is future:
                self._inflight = None
            if records is not None and self._generation == gen:
                self._cached = (gen, self.clock.monotonic(), records)

    def _fetch_all_pages(self, deadline: Optional[float]) -> list[ImageRecord]:
        seen: dict[str, ImageRecord] = {}
        stated: Optional[int] = None
        for page in range(1, MAX_PAGES + 1):
            if page > 1 and deadline is not None and self.clock.monotonic() >= deadline:
                raise AnswerTimeout(
                    f"the deadline passed while reading page {page} of the image list", func=FUNC_LIST
                )
            doc = self.call(
                FUNC_LIST, {"p_num": str(page), "p_cnt": str(self.tuning.page_size)}, deadline=deadline
            )
            total = to_int(unwrap(doc.get("p_elems")))
            if total is not None and stated is not None and total != stated:
                raise IncompleteListError(
                    f"the image list's total changed from {stated} to {total} between pages",
                    func=FUNC_LIST,
                )
            stated = total if total is not None else stated
            items = as_list(doc.get("elem"))
            new = _add_page(seen, items, page)
            if _list_ends(page, stated, len(seen), items, new):
                self.list_pages = page
                return list(seen.values())
        raise IncompleteListError(
            f"the image list did not end within {MAX_PAGES} pages", func=FUNC_LIST
        )

    def get_image(self, image_id: str, *, deadline: Optional[float] = None) -> ImageRecord:
        """The single-image view (`image.edit` without `sok`).

        Raises whatever the API answered for an id it does not show; whether
        that means the image is gone is for the image list to say.
        """
        doc = self.call(FUNC_EDIT, {"elid": image_id}, deadline=deadline)
        if "elid" not in doc and "id" not in doc:
            doc = {**doc, "elid": {"$": image_id}}
        record = ImageRecord.from_api(doc)
        if record is None:
            raise ApiError(f"the view of image {image_id} carried no usable id", func=FUNC_EDIT)
        return record

    def order_image(
        self, form: Mapping[str, str], *, deadline: Optional[float] = None
    ) -> Optional[str]:
        """Order one image with the documented constant fields added; the new
        id when the answer carries one.

        Never repeated when the answer is lost (`UncertainOrderError`).
        """
        doc = self._mutating(FUNC_ORDER, {**form, **ORDER_CONSTANTS}, False, deadline)
        for key in ORDER_ID_KEYS:
            raw = unwrap(doc.get(key))
            if raw is not None and raw.strip().isdigit():
                return raw.strip()
        return None

    def edit_image(
        self, image_id: str, form: Mapping[str, str], *, deadline: Optional[float] = None
    ) -> None:
        """`image.edit` with `sok`: change the given fields of one image."""
        self._mutating(FUNC_EDIT, {"sok": "ok", "elid": image_id, **form}, True, deadline)

    def delete_image(self, image_id: str, *, deadline: Optional[float] = None) -> None:
        """`image.delete`; raises whatever the API answered when it refuses."""
        self._mutating(FUNC_DELETE, {"elid": image_id}, True, deadline)


def _add_page(seen: dict[str, ImageRecord], items: list[Any], page: int) -> int:
    """Add a page's images to `seen`; how many were new.  An element without an
    id makes the whole list unusable: its image would look deleted."""
    new = 0
    for item in items:
        record = ImageRecord.from_api(item)
        if record is None:
            raise IncompleteListError(
                f"an element on page {page} of the image list has no id", func=FUNC_LIST
            )
        if record.id not in seen:
            seen[record.id] = record
            new += 1
    return new


def _list_ends(page: int, stated: Optional[int], held: int, items: list[Any], new: int) -> bool:
    """Whether the pages read so far are the whole list (raises when they
    contradict themselves).  With a stated total, the list ends when the pages
    hold exactly that many images; without one, at the first empty page."""
    if stated is not None and held > stated:
        raise IncompleteListError(
            f"the image list holds {held} images but says it has {stated}", func=FUNC_LIST
        )
    if stated is not None and held == stated:
        return True
    if not items:
        if stated is not None:
            raise IncompleteListError(
                f"the image list says it has {stated} images but its pages hold {held}",
                func=FUNC_LIST,
            )
        return True
    if new == 0:
        raise IncompleteListError(
            f"page {page} of the image list repeats earlier images; cannot tell where it ends",
            func=FUNC_LIST,
        )
    return False


def saved_filter(doc: Mapping[str, Any]) -> dict[str, str]:
    """The fields of a saved filter form that hold a value (none: no filter)."""
    values = {k: unwrap(v) for k, v in doc.items() if k[:1] != "$" and k not in FORM_KEYS}
    return {k: v for k, v in values.items() if v and v.strip()}
