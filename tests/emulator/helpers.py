"""A small HTTP client of the emulator and the help page's order, shared by the tests."""

from __future__ import annotations

import time
from typing import Any, Optional

import requests

from zomro_pulumi.emulator import EmulatorServer

#: The order from the help page (with os_version 22 as in its curl example).
HELP_PAGE_ORDER: dict[str, str] = {
    "image_type": "image",
    "skipbasket": "on",
    "image_name": "Ubuntu24",
    "region": "Netherlands-2",
    "min_disk": "1",
    "min_ram": "1",
    "disk_format": "iso",
    "os_distro": "ubuntu",
    "os_version": "22",
    "architecture": "x86_64",
    "url": "https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
    "protected": "on",
    "pricelist": "6854",
    "order_period": "-50",
}

FAST = {"activation_delay": 0.2, "delete_delay": 0.2}


class Client:
    """Talks to one emulator over real HTTP, like a provider would."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.url = server.url
        self.admin_url = server.admin_url
        self.token: Optional[str] = None
        self.http = requests.Session()

    # raw API

    def post(self, form: dict[str, str], *, multipart: bool = False) -> requests.Response:
        """POST a form, url-encoded or (``multipart``) as multipart/form-data."""
        if multipart:
            files = {k: (None, v) for k, v in form.items()}
            return self.http.post(self.url, files=files, timeout=10)
        return self.http.post(self.url, data=form, timeout=10)

    def call(self, func: str, **form: str) -> Any:
        """Call a function with out=json; returns ``doc``.

        The session token is added (logging in first) unless the form has ``auth``
        or ``authinfo`` or the function is ``auth`` itself.
        """
        return self.send(func, form, multipart=False)

    def call_multipart(self, func: str, **form: str) -> Any:
        """``call`` with a multipart/form-data body."""
        return self.send(func, form, multipart=True)

    def send(self, func: str, form: dict[str, str], *, multipart: bool) -> Any:
        fields = {"func": func, "out": "json", **form}
        if func != "auth" and "auth" not in fields and "authinfo" not in fields:
            fields["auth"] = self.token or self.login()
        resp = self.post(fields, multipart=multipart)
        assert resp.status_code == 200, resp.text
        return resp.json()["doc"]

    def login(self, username: str = "demo", password: str = "demo") -> str:
        """Log in and remember the token."""
        doc = self.call("auth", username=username, password=password)
        self.token = doc["auth"]["$id"]
        return doc["auth"]["$id"]

    def order(self, **overrides: str) -> Any:
        """Order an image (help-page fields, overridden); returns ``doc``."""
        return self.call("v2.image.order.param", sok="ok", **{**HELP_PAGE_ORDER, **overrides})

    def order_id(self, **overrides: str) -> str:
        """Order an image and return its id."""
        doc = self.order(**overrides)
        assert "error" not in doc, doc
        return doc["id"]["$"]

    def elems(self, **params: str) -> list[dict[str, Any]]:
        """The list page's elements, always as a list."""
        elem = self.call("image", **params).get("elem", [])
        return elem if isinstance(elem, list) else [elem]

    # admin

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, self.admin_url + path, json=body, timeout=10)

    def admin_json(self, method: str, path: str, body: Any = None) -> Any:
        resp = self.admin(method, path, body)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def image(self, image_id: str) -> dict[str, Any]:
        return self.admin_json("GET", f"images/{image_id}")

    def wait_status(self, image_id: str, status: str, timeout: float = 5.0) -> None:
        """Poll the admin view until the image has ``status``."""
        deadline = time.monotonic() + timeout
        while True:
            current = self.image(image_id)["status"]
            if current == status:
                return
            assert time.monotonic() < deadline, f"{image_id} still {current}, wanted {status}"
            time.sleep(0.05)

    def wait_gone(self, image_id: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while self.admin("GET", f"images/{image_id}").status_code != 404:
            assert time.monotonic() < deadline, f"{image_id} not gone"
            time.sleep(0.05)


def error_of(doc: Any) -> tuple[str, str]:
    """``($type, $object)`` of an error answer."""
    assert "error" in doc, doc
    return doc["error"]["$type"], doc["error"]["$object"]
