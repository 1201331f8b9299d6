"""A recorded-answer fake of the Zomro API for unit tests, built on `responses`.

Answers are made from the help page's own example element
(`tests/fixtures/help_page_element.json`), so the client and provider are
tested against the exact shapes the page shows, quirks included.  Tests can
queue raw answers per function (error envelopes, 5xx, dropped connections,
hangs) ahead of the fake's normal behaviour, and switch the shapes the help
page leaves open: the answer for a missing id and the order's answer.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable, Optional, Union

import pytest
import requests
import responses
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from zomro_pulumi import ImageProvider, ZomroClient
from zomro_pulumi.client import Tuning
from zomro_pulumi.clock import FakeClock

ENDPOINT = "https://api.zomro.com/"
TOKEN = "tok-1"
ORDER = "v2.image.order.param"
HELP_ELEMENT: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "help_page_element.json").read_text()
)

# Plausible answers for an id the account does not hold (the page shows none).
MISSING_SHAPES = ("missed", "value", "access", "http404", "html200")
# Plausible answers to an order: the new id under some key, bare, or nothing.
ORDER_REPLIES = ("id", "elid", "item.id", "bare", "none")


class Hang:
    """A queued answer that never comes: the request takes its whole read
    timeout (moving the fake's clock) and then fails with a read timeout."""


Reply = Union[dict[str, Any], tuple[int, str]]
Answer = Union[Reply, Exception, Hang, Callable[[dict[str, str]], Any]]


def wrap(value: str) -> dict[str, str]:
    return {"$": value}


def envelope_error(err_type: str, err_object: str = "", msg: str = "error") -> dict[str, Any]:
    return {"doc": {"error": {"$type": err_type, "$object": err_object, "msg": {"$": msg}}}}


def element(image_id: str, **fields: Any) -> dict[str, Any]:
    """The help page's element with this id and some fields changed."""
    elem = copy.deepcopy(HELP_ELEMENT)
    elem["id"] = wrap(image_id)
    elem["name"] = wrap(f"Image #{image_id}")
    for key, value in fields.items():
        if key == "protected":
            elem["protected"] = {"$orig": "on" if value else "off", "$": "Enable" if value else "Disable"}
        elif key == "fleio_status":
            active = value == "Active"
            elem["fleio_status"] = wrap(value)
            elem["item_status"] = {
                "$color": "green" if active else "yellow",
                "$orig": "2" if active else "5",
                "$": "Active" if active else "Processing",
            }
        else:
            elem[key] = wrap(str(value))
    return elem


class FakeApi:
    """Holds images, answers like the help page, records every call's form.

    Switches: `missing` (the answer for an id it does not hold, one of
    `MISSING_SHAPES`), `hidden` (ids that are listed but answered as missing,
    like a foreign image), `order_reply` (one of `ORDER_REPLIES`),
    `lifecycle` (the statuses a new image shows, one step per look at it:
    each list holding it and each single view), `store_name` (how an order or
    an edit stores a name: cut, case-folded, trimmed), `filtered` (the ids a
    list filter saved in the panel lets the list show; the view shows all).
    """

    def __init__(self, rsps: responses.RequestsMock, clock: Optional[FakeClock] = None) -> None:
        self.clock = clock or FakeClock()
        self.images: dict[str, dict[str, Any]] = {}
        self.urls: dict[str, str] = {}
        self.calls: list[dict[str, str]] = []
        self.timeouts: list[Any] = []
        self.queued: dict[str, deque[Answer]] = {}
        self.tokens = {TOKEN}
        self.accounts = {"alice": "s3cret-pass"}
        self.order_reply = "id"
        self.missing = "missed"
        self.hidden: set[str] = set()
        self.single_as_object = True
        self.page_size_cap: Optional[int] = None
        self.lifecycle: list[str] = ["Saving", "Active"]
        self.store_name: Callable[[str], str] = lambda name: name
        self.filtered: Optional[set[str]] = None
        self.saved_filter: Optional[str] = None
        """The image name pattern `image.filter` shows; None: the function is unknown."""
        self.steps: dict[str, int] = {}
        self._ids = itertools.count(5206259)
        rsps.add_callback(responses.POST, ENDPOINT, callback=self._handle)

    # -- helpers for tests
    def add_image(self, image_id: Optional[str] = None, url: str = "https://example.com/a.iso", **fields: Any) -> str:
        image_id = image_id or str(next(self._ids))
        self.images[image_id] = element(image_id, **fields)
        self.urls[image_id] = url
        self.steps[image_id] = len(self.lifecycle)
        return image_id

    def set_status(self, image_id: str, status: str) -> None:
        """Change an image's status behind the provider's back (it stays so)."""
        self.images[image_id].update(
            {k: v for k, v in element(image_id, fleio_status=status).items() if k in ("fleio_status", "item_status")}
        )
        self.steps[image_id] = len(self.lifecycle)

    def queue(self, func: str, *answers: Answer) -> None:
        self.queued.setdefault(func, deque()).extend(answers)

    def funcs(self) -> list[str]:
        return [c["func"] for c in self.calls]

    def forms(self, func: str) -> list[dict[str, str]]:
        return [c for c in self.calls if c["func"] == func]

    def views(self) -> list[dict[str, str]]:
        """The single views (`image.edit` without `sok`)."""
        return [c for c in self.forms("image.edit") if c.get("sok") != "ok"]

    def edits(self) -> list[dict[str, str]]:
        """The changes (`image.edit` with `sok`)."""
        return [c for c in self.forms("image.edit") if c.get("sok") == "ok"]

    def names(self) -> list[str]:
        """The names of the images the account holds."""
        return [str(e["image_name"]["$"]) for _, e in sorted(self.images.items())]

    # -- the fake server
    def _handle(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        builder = EnvironBuilder(method="POST", data=body)
        builder.headers["Content-Type"] = request.headers["Content-Type"]
        _stream, form, _files = parse_form_data(builder.get_environ())
        data = {k: form[k] for k in form}
        self.calls.append(data)
        timeout = getattr(request, "req_kwargs", {}).get("timeout")
        self.timeouts.append(timeout)
        func = data.get("func", "")
        queue = self.queued.get(func)
        if queue:
            answer = queue.popleft()
            if callable(answer):
                answer = answer(data)  # may give any other kind of answer, or None
            if isinstance(answer, Hang):
                read = timeout[1] if isinstance(timeout, tuple) else timeout
                self.clock.advance(float(read or 0))
                raise requests.ReadTimeout("read timed out")
            if isinstance(answer, Exception):
                raise answer
            if answer is not None:
                return self._reply(answer)
        return self._reply(self.answer(func, data))

    @staticmethod
    def _reply(reply: Reply) -> tuple[int, dict[str, str], str]:
        if isinstance(reply, tuple):
            return reply[0], {}, reply[1]
        return 200, {}, json.dumps(reply)

    def answer(self, func: str, data: dict[str, str]) -> Reply:
        """What the fake answers by itself (an order made here lands)."""
        if data.get("out") != "json":
            return envelope_error("missed", "out")
        if func == "auth":
            if self.accounts.get(data.get("username", "")) == data.get("password"):
                token = f"tok-{len(self.tokens) + 1}"
                self.tokens.add(token)
                return {"doc": {"auth": {"$id": token, "$": token}}}
            return envelope_error("auth", "badpassword", "Invalid username or password")
        if data.get("auth") not in self.tokens:
            return envelope_error("access", "", "Access denied")
        if func == "image":
            return self._list(data)
        if func == "image.filter" and self.saved_filter is not None:
            return {"doc": {"image_name": wrap(self.saved_filter), "$func": func}}
        if func == ORDER:
            return self._order(data)
        image_id = data.get("elid", "")
        if image_id not in self.images or image_id in self.hidden:
            return self._missing(image_id)
        elem = self.images[image_id]
        if func == "image.edit" and data.get("sok") != "ok":
            self._advance(image_id)
            view = {k: elem[k] for k in (
                "image_name", "fleio_status", "region", "image_size", "min_ram", "min_disk",
                "disk_format", "os_version", "architecture", "fleio_id",
            )}
            view["os_distro"] = wrap(elem["os_distro"]["$"].lower())
            view["protected"] = wrap(elem["protected"]["$orig"])
            view["url"] = wrap(self.urls[image_id])
            view["elid"] = wrap(image_id)
            return {"doc": view}
        if func == "image.edit":
            for key in ("image_name", "min_disk", "min_ram", "os_distro", "os_version", "architecture"):
                if key in data:
                    elem[key] = wrap(self.store_name(data[key]) if key == "image_name" else data[key])
            if "protected" in data:
                elem["protected"] = element(image_id, protected=data["protected"] == "on")["protected"]
            return {"doc": {"ok": {}}}
        if func == "image.delete":
            if elem["protected"]["$orig"] == "on":
                return envelope_error("value", "protected", "The image is protected")
            del self.images[image_id]
            return {"doc": {"ok": {}}}
        return envelope_error("missed", "func", f"Unknown function {func}")

    def _order(self, data: dict[str, str]) -> Reply:
        image_id = str(next(self._ids))
        self.images[image_id] = element(
            image_id,
            image_name=self.store_name(data["image_name"]),
            region=data["region"],
            disk_format=data["disk_format"],
            os_distro=data["os_distro"].capitalize(),
            os_version=data.get("os_version", ""),
            architecture=data["architecture"],
            min_disk=data["min_disk"],
            min_ram=data["min_ram"],
            protected=data["protected"] == "on",
            fleio_status=self.lifecycle[0],
        )
        self.urls[image_id] = data["url"]
        self.steps[image_id] = 0
        replies: dict[str, dict[str, Any]] = {
            "id": {"id": wrap(image_id)},
            "elid": {"elid": wrap(image_id)},
            "item.id": {"item.id": wrap(image_id)},
            "bare": {"id": image_id},
            "none": {},
        }
        return {"doc": {"ok": {}, **replies[self.order_reply]}}

    def _missing(self, image_id: str) -> Reply:
        if self.missing == "missed":
            return envelope_error("missed", "elid", f"Image {image_id} not found")
        if self.missing == "value":
            return envelope_error("value", "elid", "Field has invalid value")
        if self.missing == "access":
            return envelope_error("access", "", "Access denied")
        if self.missing == "http404":
            return 404, "<html><body><h1>404 Not Found</h1></body></html>"
        if self.missing == "html200":
            return 200, "<html><body>Page not found</body></html>"
        raise AssertionError(f"unknown missing-id shape {self.missing!r}")

    def _advance(self, image_id: str) -> None:
        step = self.steps.get(image_id, len(self.lifecycle))
        if step < len(self.lifecycle):
            status = self.lifecycle[step]
            self.images[image_id].update(
                {k: v for k, v in element(image_id, fleio_status=status).items()
                 if k in ("fleio_status", "item_status")}
            )
            self.steps[image_id] = step + 1

    def _list(self, data: dict[str, str]) -> dict[str, Any]:
        elems = sorted(i for i in self.images if self.filtered is None or i in self.filtered)
        p_cnt = int(data.get("p_cnt") or len(elems) or 1)
        if self.page_size_cap:
            p_cnt = min(p_cnt, self.page_size_cap)
        p_num = int(data.get("p_num") or 1)
        page_ids = elems[(p_num - 1) * p_cnt : p_num * p_cnt]
        for image_id in page_ids:
            self._advance(image_id)
        page = [self.images[k] for k in page_ids]
        doc: dict[str, Any] = {
            "p_num": wrap(str(p_num)), "p_cnt": wrap(str(p_cnt)), "p_elems": wrap(str(len(elems)))
        }
        if len(page) == 1 and self.single_as_object:
            doc["elem"] = page[0]
        elif page:
            doc["elem"] = page
        return {"doc": doc}


@pytest.fixture(autouse=True)
def zomro_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts from the same settings: the fake's endpoint and token,
    and no other `ZOMRO_*` variable of the machine running the tests."""
    for key in list(os.environ):
        if key.startswith("ZOMRO_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ZOMRO_ENDPOINT", ENDPOINT)
    monkeypatch.setenv("ZOMRO_AUTH_TOKEN", TOKEN)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def api(clock: FakeClock) -> Iterator[FakeApi]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeApi(rsps, clock)


def fast_client(clock: Optional[FakeClock] = None, **kwargs: Any) -> ZomroClient:
    """A client of the fake whose retry pauses run on a fake clock; keywords
    naming a `Tuning` field tune it, the others go to the client."""
    tuning = {k: kwargs.pop(k) for k in list(kwargs) if k in Tuning.__dataclass_fields__}
    kwargs.setdefault("token", TOKEN)
    return ZomroClient(ENDPOINT, clock=clock or FakeClock(), tuning=Tuning(**tuning), **kwargs)


@pytest.fixture
def provider(api: FakeApi, clock: FakeClock) -> ImageProvider:
    """A provider of the fake (settings from the environment) on the fake clock."""
    return ImageProvider(clock=clock)


VALID: dict[str, Any] = {
    "image_name": "Ubuntu24",
    "region": "Netherlands-2",
    "url": "https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
    "disk_format": "iso",
    "os_distro": "ubuntu",
    "os_version": "24",
    "architecture": "x86_64",
    "min_disk": 1,
    "min_ram": 1,
    "protected": False,
    "pricelist": "6854",
    "order_period": -50,
    "create_timeout": 1800,
}
