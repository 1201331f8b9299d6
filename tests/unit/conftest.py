"""A recorded-answer fake of the Zomro API for unit tests, built on `responses`.

Answers are made from the help page's own example element
(`tests/fixtures/help_page_element.json`), so the client and provider are
tested against the exact shapes the page shows, quirks included.  Tests can
queue raw answers per function (error envelopes, 5xx, dropped connections)
ahead of the fake's normal behaviour.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections import deque
from pathlib import Path
from typing import Any, Callable, Optional, Union

import pytest
import requests
import responses
from werkzeug.formparser import parse_form_data
from werkzeug.test import EnvironBuilder

from zomro_pulumi import ImageProvider, ZomroClient
from zomro_pulumi import provider as provider_module

ENDPOINT = "https://api.zomro.com/"
HELP_ELEMENT: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "fixtures" / "help_page_element.json").read_text()
)

Answer = Union[dict[str, Any], tuple[int, str], Exception, Callable[[dict[str, str]], Any]]


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
    """Holds images, answers like the help page, records every call's form."""

    def __init__(self, rsps: responses.RequestsMock) -> None:
        self.images: dict[str, dict[str, Any]] = {}
        self.urls: dict[str, str] = {}
        self.calls: list[dict[str, str]] = []
        self.queued: dict[str, deque[Answer]] = {}
        self.tokens = {"tok-1"}
        self.accounts = {"alice": "s3cret-pass"}
        self.order_returns_id = True
        self.single_as_object = True
        self.page_size_cap: Optional[int] = None
        # status sequence each new image walks through, one step per view of it
        self.lifecycle: list[str] = ["Saving", "Active"]
        self.views: dict[str, int] = {}
        self._ids = itertools.count(5206259)
        rsps.add_callback(responses.POST, ENDPOINT, callback=self._handle)

    # -- helpers for tests
    def add_image(self, image_id: Optional[str] = None, url: str = "https://example.com/a.iso", **fields: Any) -> str:
        image_id = image_id or str(next(self._ids))
        self.images[image_id] = element(image_id, **fields)
        self.urls[image_id] = url
        self.views[image_id] = len(self.lifecycle)
        return image_id

    def queue(self, func: str, *answers: Answer) -> None:
        self.queued.setdefault(func, deque()).extend(answers)

    def funcs(self) -> list[str]:
        return [c["func"] for c in self.calls]

    def forms(self, func: str) -> list[dict[str, str]]:
        return [c for c in self.calls if c["func"] == func]

    # -- the fake server
    def _handle(self, request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        builder = EnvironBuilder(method="POST", data=body)
        builder.headers["Content-Type"] = request.headers["Content-Type"]
        _stream, form, _files = parse_form_data(builder.get_environ())
        data = {k: form[k] for k in form}
        self.calls.append(data)
        func = data.get("func", "")
        queue = self.queued.get(func)
        if queue:
            answer = queue.popleft()
            if isinstance(answer, Exception):
                raise answer
            if callable(answer):
                answer = answer(data)
            if isinstance(answer, tuple):
                return answer[0], {}, answer[1]
            if answer is not None:
                return 200, {}, json.dumps(answer)
        return 200, {}, json.dumps(self._answer(func, data))

    def _answer(self, func: str, data: dict[str, str]) -> dict[str, Any]:
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
        if func == "v2.image.order.param":
            image_id = str(next(self._ids))
            elem = element(
                image_id,
                image_name=data["image_name"],
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
            self.images[image_id] = elem
            self.urls[image_id] = data["url"]
            self.views[image_id] = 0
            doc: dict[str, Any] = {"ok": {}}
            if self.order_returns_id:
                doc["id"] = wrap(image_id)
            return {"doc": doc}
        image_id = data.get("elid", "")
        if image_id not in self.images:
            return envelope_error("missed", "elid", f"Image {image_id} not found")
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
                    elem[key] = wrap(data[key])
            if "protected" in data:
                elem["protected"] = element(image_id, protected=data["protected"] == "on")["protected"]
            return {"doc": {"ok": {}}}
        if func == "image.delete":
            if elem["protected"]["$orig"] == "on":
                return envelope_error("value", "protected", "The image is protected")
            del self.images[image_id]
            return {"doc": {"ok": {}}}
        return envelope_error("missed", "func", f"Unknown function {func}")

    def _advance(self, image_id: str) -> None:
        step = self.views.get(image_id, len(self.lifecycle))
        if step < len(self.lifecycle):
            status = self.lifecycle[step]
            self.images[image_id].update(
                {k: v for k, v in element(image_id, fleio_status=status).items()
                 if k in ("fleio_status", "item_status")}
            )
            self.views[image_id] = step + 1

    def _list(self, data: dict[str, str]) -> dict[str, Any]:
        elems = [self.images[k] for k in sorted(self.images)]
        p_cnt = int(data.get("p_cnt") or len(elems) or 1)
        if self.page_size_cap:
            p_cnt = min(p_cnt, self.page_size_cap)
        p_num = int(data.get("p_num") or 1)
        page = elems[(p_num - 1) * p_cnt : p_num * p_cnt]
        doc: dict[str, Any] = {
            "p_num": wrap(str(p_num)), "p_cnt": wrap(str(p_cnt)), "p_elems": wrap(str(len(elems)))
        }
        if len(page) == 1 and self.single_as_object:
            doc["elem"] = page[0]
        elif page:
            doc["elem"] = page
        return {"doc": doc}


@pytest.fixture
def api() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield FakeApi(rsps)


def fast_client(**kwargs: Any) -> ZomroClient:
    kwargs.setdefault("token", "tok-1")
    return ZomroClient(ENDPOINT, backoff_factor=0.001, backoff_max=0.01, **kwargs)


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls and retries without real waiting."""
    monkeypatch.setattr(provider_module, "POLL_FIRST", 0.001)
    monkeypatch.setattr(provider_module, "POLL_MAX", 0.002)
    monkeypatch.setattr(provider_module.time, "sleep", lambda _s: None)


@pytest.fixture
def provider(api: FakeApi, fast: None) -> ImageProvider:
    prov = ImageProvider()
    prov._client = fast_client()
    return prov


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
