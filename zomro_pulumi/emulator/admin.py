"""The emulator's own JSON control API under ``/_emulator/`` (no auth, never faulted).

Tests use it to look behind the API: count requests, read the (credential-masked)
request log, create or change images out of band, expire sessions and switch
faults at run time.
"""

from __future__ import annotations

import datetime
import json
from typing import Any, Callable

from werkzeug.wrappers import Request, Response

from .api import ErrorAnswer, check_field
from .config import SettingError, coerce_settings, runtime_settings
from .state import IMAGE_FIELDS, EmulatorState, StoredImage, now

#: Endpoints, for the index page and the docs.
ENDPOINTS = (
    "GET    /_emulator/health",
    "GET    /_emulator/stats",
    "POST   /_emulator/stats/reset",
    "GET    /_emulator/requests[?since=SEQ]",
    "GET    /_emulator/images",
    "POST   /_emulator/images",
    "GET    /_emulator/images/<id>",
    "PATCH  /_emulator/images/<id>",
    "DELETE /_emulator/images/<id>",
    "GET    /_emulator/orders",
    "GET    /_emulator/deletions",
    "POST   /_emulator/sessions/expire",
    "GET    /_emulator/faults",
    "POST   /_emulator/faults",
    "POST   /_emulator/reset",
)

#: Keys ``POST /_emulator/images`` accepts besides the order fields.
_EXTRA_FIELDS = ("status", "account", "image_size", "fleio_id")


class AdminError(Exception):
    """An admin request the emulator refuses (answered as JSON with this status)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON answer."""
    return Response(json.dumps(data, indent=1), status=status, mimetype="application/json")


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc).isoformat()


def image_json(image: StoredImage, fleio_status: str) -> dict[str, Any]:
    """An image as plain JSON (ids as strings, like the API's): ``status`` is its
    phase (Saving, Active, Deleting or a failure status), ``fleio_status`` the
    word the API shows for it now."""
    return {
        "id": str(image.id),
        "account": image.owner,
        "image_name": image.image_name,
        "region": image.region,
        "url": image.url,
        "disk_format": image.disk_format,
        "os_distro": image.os_distro,
        "os_version": image.os_version,
        "architecture": image.architecture,
        "min_disk": image.min_disk,
        "min_ram": image.min_ram,
        "protected": image.protected,
        "pricelist": image.pricelist,
        "order_period": image.order_period,
        "status": image.status,
        "fleio_status": fleio_status,
        "image_size": image.image_size,
        "fleio_id": image.fleio_id,
        "created": _iso(image.created),
        "updated": _iso(image.updated),
    }


def _form_value(field: str, value: Any) -> str:
    """A JSON value as the order form would carry it (bools as on/off)."""
    if field == "protected" and isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise AdminError(400, f"{field}: a string or integer is expected")
    return str(value)


class Admin:
    """Routes ``/_emulator/...`` requests: parses the JSON, calls ``EmulatorState``
    methods for every change, and renders their result as JSON."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state

    def handle(self, request: Request, subpath: str) -> Response:
        """Answer one admin request; ``subpath`` is the path after ``/_emulator/``."""
        parts = [p for p in subpath.split("/") if p]
        routes: dict[tuple[str, ...], dict[str, Callable[..., Any]]] = {
            (): {"GET": self._index},
            ("health",): {"GET": lambda: {"ok": True}},
            ("stats",): {"GET": self._stats},
            ("stats", "reset"): {"POST": self._reset_stats},
            ("requests",): {"GET": lambda: self._requests(request)},
            ("images",): {"GET": self._images, "POST": lambda: self._create(request)},
            ("orders",): {"GET": self._orders},
            ("deletions",): {"GET": self._deletions},
            ("sessions", "expire"): {"POST": self._expire},
            ("faults",): {"GET": self._faults, "POST": lambda: self._set_faults(request)},
            ("reset",): {"POST": self._reset},
        }
        try:
            if len(parts) == 2 and parts[0] == "images":
                methods: dict[str, Callable[..., Any]] = {
                    "GET": lambda: self._image(parts[1]),
                    "PATCH": lambda: self._patch(parts[1], request),
                    "DELETE": lambda: self._delete(parts[1]),
                }
            elif tuple(parts) in routes:
                methods = routes[tuple(parts)]
            else:
                raise AdminError(404, f"no such emulator endpoint: /_emulator/{subpath}")
            if request.method not in methods:
                raise AdminError(405, f"use {' or '.join(methods)}")
            result = methods[request.method]()
        except AdminError as exc:
            return json_response({"error": exc.message}, exc.status)
        return json_response(result)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        try:
            data = json.loads(request.get_data(as_text=True) or "{}")
        except ValueError as exc:
            raise AdminError(400, f"the body is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise AdminError(400, "the body must be a JSON object")
        return data

    def _index(self) -> dict[str, Any]:
        return {"endpoints": list(ENDPOINTS)}

    def _stats(self) -> dict[str, Any]:
        with self.state.lock:
            return {
                "counts": dict(self.state.counts),
                "total": sum(self.state.counts.values()),
                "mutating": self.state.mutating,
            }

    def _reset_stats(self) -> dict[str, Any]:
        self.state.reset_stats()
        return {"ok": True}

    def _requests(self, request: Request) -> list[dict[str, Any]]:
        since_raw = request.args.get("since", "0")
        if not since_raw.isdigit():
            raise AdminError(400, "since must be a request sequence number")
        since = int(since_raw)
        with self.state.lock:
            return [dict(e) for e in self.state.request_log if e["seq"] > since]

    def _json(self, image: StoredImage, stamp: float) -> dict[str, Any]:
        return image_json(image, self.state.status_word(image, stamp))

    def _images(self) -> list[dict[str, Any]]:
        with self.state.lock:
            stamp = now()
            self.state.refresh(stamp)
            return [self._json(img, stamp) for img in self.state.all_images()]

    def _find(self, image_id: str) -> StoredImage:
        image = self.state.find(image_id)
        if image is None:
            raise AdminError(404, f"no image {image_id}")
        return image

    def _image(self, image_id: str) -> dict[str, Any]:
        with self.state.lock:
            stamp = now()
            self.state.refresh(stamp)
            return self._json(self._find(image_id), stamp)

    def _check(self, field: str, value: Any) -> Any:
        """Check an admin value the same way the API checks the order form."""
        cfg = self.state.config
        if field == "status":
            if not isinstance(value, str) or not value.strip():
                raise AdminError(400, "status must be a non-empty string")
            return value.strip()
        if field == "account":
            if value not in cfg.all_accounts():
                raise AdminError(400, f"no account {value!r}")
            return value
        if field == "image_size":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise AdminError(400, "image_size must be a non-negative integer")
            return value
        if field == "fleio_id":
            if not isinstance(value, str) or not value:
                raise AdminError(400, "fleio_id must be a non-empty string")
            return value
        raw = _form_value(field, value)
        if raw == "" and field != "os_version":
            raise AdminError(400, f"{field} must not be empty")
        try:
            return check_field(field, raw, cfg)
        except ErrorAnswer as exc:
            raise AdminError(400, exc.msg) from exc

    def _checked(self, body: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(body) - set(IMAGE_FIELDS) - set(_EXTRA_FIELDS))
        if unknown:
            raise AdminError(400, f"unknown image fields: {', '.join(unknown)}")
        return {field: self._check(field, value) for field, value in body.items()}

    def _create(self, request: Request) -> dict[str, Any]:
        body = self._body(request)
        with self.state.lock:
            image = self.state.admin_create(self._checked(body), now())
            return {"id": str(image.id)}

    def _patch(self, image_id: str, request: Request) -> dict[str, Any]:
        body = self._body(request)
        with self.state.lock:
            stamp = now()
            self.state.refresh(stamp)
            image = self._find(image_id)
            self.state.admin_patch(image, self._checked(body), stamp)
            return self._json(image, stamp)

    def _delete(self, image_id: str) -> dict[str, Any]:
        with self.state.lock:
            stamp = now()
            self.state.refresh(stamp)  # so the deletion record has the phase of now
            self.state.admin_delete(self._find(image_id), stamp)
        return {"ok": True}

    def _orders(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(e) for e in self.state.orders]

    def _deletions(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(e) for e in self.state.deletions]

    def _expire(self) -> dict[str, Any]:
        return {"ok": True, "expired": self.state.expire_sessions()}

    def _faults(self) -> dict[str, Any]:
        with self.state.lock:
            return runtime_settings(self.state.config)

    def _set_faults(self, request: Request) -> dict[str, Any]:
        body = self._body(request)
        with self.state.lock:
            try:
                values = coerce_settings(body)
            except SettingError as exc:
                raise AdminError(400, str(exc)) from exc
            self.state.apply_settings(values)
            return runtime_settings(self.state.config)

    def _reset(self) -> dict[str, Any]:
        self.state.reset()
        return {"ok": True}
