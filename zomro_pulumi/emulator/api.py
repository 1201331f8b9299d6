"""The Zomro (BILLmanager) API functions and the JSON envelopes they answer with.

Input is a plain ``dict`` of form fields (the server parses multipart and
url-encoded bodies with werkzeug); output is the ``{"doc": ...}`` document with
every scalar wrapped as ``{"$": "..."}``, errors included (HTTP 200). The one
exception is a call on a missing id, which can be set to answer as a proxy's
404 page or an HTML page, as the API's answer to it is not documented. The
handlers here check and render; every change is an ``EmulatorState`` method.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from .config import EmulatorConfig
from .state import ACTIVE, DELETING, PROTECTED, SAVING, EmulatorState, Fault, Refused, StoredImage

DISK_FORMATS = ("iso", "ami", "ari", "aki", "vhd", "vmdk", "raw", "qcow2", "vdi")
ARCHITECTURES = ("x86_64", "i686", "ia64")
ORDER_PERIOD = "-50"
MAX_NAME_LENGTH = 255

#: Order fields in the order the help page lists them (first failure is reported).
ORDER_REQUIRED = (
    "image_type",
    "skipbasket",
    "image_name",
    "region",
    "min_disk",
    "min_ram",
    "disk_format",
    "os_distro",
    "architecture",
    "url",
    "protected",
    "pricelist",
    "order_period",
)
#: Fields ``image.edit`` with ``sok`` changes; ``os_version`` may be emptied.
EDITABLE = (
    "image_name",
    "min_disk",
    "min_ram",
    "os_distro",
    "os_version",
    "architecture",
    "protected",
)
#: Functions that change something when confirmed (counted as "mutating").
ORDER_FUNC = "v2.image.order.param"
MUTATING_FUNCS = (ORDER_FUNC, "image.delete")


class ErrorAnswer(Exception):
    """A BILLmanager error answer: ``doc.error`` with ``$type``/``$object``/``msg``."""

    def __init__(
        self, type_: str, obj: str, msg: str, params: Optional[dict[str, str]] = None
    ) -> None:
        super().__init__(msg)
        self.type = type_
        self.object = obj
        self.msg = msg
        self.params = params or {}

    def envelope(self, func: str) -> dict[str, Any]:
        """The error as an answer document."""
        error: dict[str, Any] = {"$type": self.type, "$object": self.object, "msg": wrap(self.msg)}
        if self.params:
            error["param"] = [{"$name": k, "$": v} for k, v in self.params.items()]
        return envelope(func, {"error": error})

    @property
    def outcome(self) -> str:
        """How the request log names this error."""
        return f"error:{self.type}/{self.object}"


class PageAnswer(Exception):
    """An answer to a missing id that is not JSON at all (a proxy's error page, an
    HTML error page); ``kind`` names it in the request log."""

    def __init__(self, status: int, body: str, kind: str) -> None:
        super().__init__(kind)
        self.status = status
        self.body = body
        self.outcome = f"error:{kind}/elid"


def missed(field: str) -> ErrorAnswer:
    """A required field is absent or empty."""
    return ErrorAnswer("missed", field, f"Field '{field}' is required", {"object": field})


def bad_value(field: str, value: str, why: str = "") -> ErrorAnswer:
    """A field has a value the API does not accept."""
    msg = f"The value '{value}' of field '{field}' is invalid"
    return ErrorAnswer(
        "value", field, f"{msg}: {why}" if why else msg, {"object": field, "value": value}
    )


def running_operation() -> ErrorAnswer:
    """Another operation (upload, deletion) is still running on the image."""
    return ErrorAnswer(
        "value",
        "runningoperation",
        "Another operation is running on this object, try again later",
    )


def protected_image() -> ErrorAnswer:
    """A protected image cannot be deleted."""
    return ErrorAnswer(
        "value",
        "protected",
        "Deletion is blocked while the image is protected: set protected=off first",
        {"object": "protected", "value": "on"},
    )


def access_denied() -> ErrorAnswer:
    """No valid session token or authinfo."""
    return ErrorAnswer("access", "", "Access denied: not logged in or the session has expired")


#: A proxy's answer for a path or object it does not know (nginx's page).
PROXY_404_PAGE = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    "<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
#: An application's HTML error page, served with HTTP 200.
HTML_ERROR_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Error</title></head>"
    "<body><h1>Not Found</h1><p>The requested object was not found.</p></body></html>\n"
)


def missing_id(shape: str, elid: str) -> ErrorAnswer | PageAnswer:
    """The answer to a call naming a missing, foreign or purged ``elid``, in one of
    the shapes of ``MISSING_ID_ERRORS`` (the API does not document which it is)."""
    if shape == "value":
        msg = f"The value '{elid}' of field 'elid' is invalid"
        return ErrorAnswer("value", "elid", msg, {"object": "elid", "value": elid})
    if shape == "access":
        return ErrorAnswer("access", "", "Access denied: no permission for this object")
    if shape == "http404":
        return PageAnswer(404, PROXY_404_PAGE, "http404")
    if shape == "html":
        return PageAnswer(200, HTML_ERROR_PAGE, "html")
    return ErrorAnswer("missed", "elid", f"Image '{elid}' not found", {"value": elid})


def is_mutating(func: str, form: Mapping[str, str]) -> bool:
    """Whether the request would change something (order, confirmed edit, delete)."""
    return func in MUTATING_FUNCS or (func == "image.edit" and bool(form.get("sok")))


# --- rendering ------------------------------------------------------------------------


def wrap(value: object) -> dict[str, str]:
    """Wrap a scalar the BILLmanager way; an empty value is ``{}``."""
    text = str(value)
    return {"$": text} if text != "" else {}


def envelope(func: str, body: dict[str, Any]) -> dict[str, Any]:
    """The ``{"doc": ...}`` around an answer, with BILLmanager's doc attributes."""
    doc: dict[str, Any] = {"$lang": "en", "$func": func, "$binary": "/billmgr"}
    doc.update(body)
    return {"doc": doc}


def _local(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts)


def display_distro(os_distro: str) -> str:
    """The list shows the distro capitalised (ordered ``ubuntu``, listed ``Ubuntu``)."""
    return os_distro[:1].upper() + os_distro[1:]


def _item_status(status: str) -> tuple[dict[str, str], str, bool]:
    """``item_status`` wrapping, the matching numeric status, and whether it failed."""
    if status == ACTIVE:
        return {"$color": "green", "$orig": "2", "$": "Active"}, "2", False
    if status in (SAVING, DELETING):
        return {"$color": "orange", "$orig": "5", "$": "Processing"}, "5", False
    # A failed upload: the billing item stays "processing" with a module error.
    return {"$color": "red", "$orig": "5", "$": "Processing"}, "5", True


def _on_off(flag: bool) -> dict[str, str]:
    return {"$": "on" if flag else "off"}


def render_elem(
    image: StoredImage, subaccount: str, now: float, fleio_status: Optional[str] = None
) -> dict[str, Any]:
    """One ``doc.elem`` item, with every key of the help page's example element.

    ``fleio_status`` is the word shown for the image's phase (default: the phase's
    own name); ``item_status`` and ``status`` follow the phase whatever the word.
    """
    status = image.status
    item_status, status_code, failed = _item_status(status)
    created = _local(image.created)
    date = created.strftime("%Y-%m-%d")
    clock = created.strftime("%H:%M:%S")
    expire = (_local(now) + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    off = {"$": "off"}
    return {
        "abusesuspend": off,
        "architecture": wrap(image.architecture),
        "archived": off,
        "autosuspend": off,
        "billdaily": {"$": "on"},
        "billhourly": off,
        "change_pl": {"$": "0"},
        "change_pricelist": off,
        "changepolicy": {"$": "2"},
        "cost": {"$": "0.00 EUR / Day"},
        "costperiod": wrap(image.order_period),
        "createdate": [{"$": date}, {"$": date}],
        "currency_id": {"$": "153"},
        "currency_str": {"$": "EUR"},
        "description": {},
        "disk_format": wrap(image.disk_format),
        "employeesuspend": off,
        "expiredate": {"$": "Daily charges"},
        "fleio_id": wrap(image.fleio_id),
        "fleio_status": wrap(fleio_status or status),
        "has_ip_pricelist": off,
        "hypervisor_type": {"$": "Any hypervisor"},
        "i_expiretime": {"$": clock},
        "i_opentime": {"$": clock},
        "id": wrap(image.id),
        "image_name": wrap(image.image_name),
        "image_size": wrap(image.image_size if status == ACTIVE else 0),
        "image_type": {"$": "Image"},
        "intname": [{"$": "image"}, {"$": "image"}],
        "it_accurate_billing": {"$": "no"},
        "item_cost": {"$": "0.0000"},
        "item_real_status": {"$": status_code},
        "item_status": item_status,
        "itemtype": {"$": "27163"},
        "min_disk": wrap(image.min_disk),
        "min_ram": wrap(image.min_ram),
        "module_failed": _on_off(failed),
        "module_upload_doc": off,
        "name": wrap(f"Image #{image.id}"),
        "no_instruction": {"$": "on"},
        "order_disabled": off,
        "os_distro": wrap(display_distro(image.os_distro)),
        "os_version": wrap(image.os_version),
        "period": wrap(image.order_period),
        "pmmodule": {"$": "pmimagemodule"},
        "price_on_request": off,
        "pricelist": {"$": "Image"},
        "pricelist_id": wrap(image.pricelist),
        "processingmodule_failed": _on_off(failed),
        "processingnode": {},
        "protected": {"$orig": "on", "$": "Enable"}
        if image.protected
        else {"$orig": "off", "$": "Disable"},
        "real_expiredate": {"$": expire},
        "region": wrap(image.region),
        "scheduledclose": off,
        "show_changepassword": off,
        "show_domain_validation_button": off,
        "show_hardreboot": off,
        "show_movetovdc": off,
        "show_reboot": {"$": "on"},
        "show_supportpassword": off,
        "show_vdc_loadbalancer": off,
        "show_vdc_network": off,
        "show_vdc_router": off,
        "show_vdc_vm": off,
        "show_vdc_volume": off,
        "show_webconsole": off,
        "specialstatus": {"$": "0"},
        "stat_enabled": {"$": "on"},
        "status": {"$": status_code},
        "subaccount": wrap(subaccount),
        "sync_feature": off,
        "transition": off,
        "visibility": {"$": "Private"},
    }


def render_edit_view(image: StoredImage, fleio_status: Optional[str] = None) -> dict[str, Any]:
    """``image.edit`` without ``sok``: the image's current raw fields, wrapped
    (``fleio_status`` as in ``render_elem``)."""
    stamp = "%Y-%m-%d %H:%M:%S"
    status = image.status
    return {
        "elid": wrap(image.id),
        "image_name": wrap(image.image_name),
        "fleio_status": wrap(fleio_status or status),
        "region": wrap(image.region),
        "image_size": wrap(image.image_size if status == ACTIVE else 0),
        "min_ram": wrap(image.min_ram),
        "min_disk": wrap(image.min_disk),
        "disk_format": wrap(image.disk_format),
        "os_distro": wrap(image.os_distro),
        "os_version": wrap(image.os_version),
        "architecture": wrap(image.architecture),
        "protected": wrap("on" if image.protected else "off"),
        "url": wrap(image.url),
        "fleio_id": wrap(image.fleio_id),
        "created": wrap(_local(image.created).strftime(stamp)),
        "updated": wrap(_local(image.updated).strftime(stamp)),
    }


# --- validation -----------------------------------------------------------------------


def _positive_int(field: str, raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or int(raw) <= 0:
        raise bad_value(field, raw, "a positive integer is expected")
    return int(raw)


def _one_of(field: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise bad_value(field, raw, "expected one of " + ", ".join(allowed))
    return raw


def _text(field: str, raw: str) -> str:
    if not raw.strip() or len(raw) > MAX_NAME_LENGTH:
        raise bad_value(field, raw, f"1 to {MAX_NAME_LENGTH} characters, not only blanks")
    return raw


def check_field(field: str, raw: str, cfg: EmulatorConfig) -> Any:
    """Check one non-empty form value; returns it as stored (int, bool or str)."""
    if field == "image_type":
        return _one_of(field, raw, ("image",))
    if field == "skipbasket":
        return _one_of(field, raw, ("on",))
    if field in ("image_name", "os_distro"):
        return _text(field, raw)
    if field == "os_version":
        if len(raw) > MAX_NAME_LENGTH:
            raise bad_value(field, raw, "too long")
        return raw
    if field == "region":
        if cfg.regions:
            return _one_of(field, raw, cfg.regions)
        return _text(field, raw)
    if field in ("min_disk", "min_ram"):
        return _positive_int(field, raw)
    if field == "disk_format":
        return _one_of(field, raw, DISK_FORMATS)
    if field == "architecture":
        return _one_of(field, raw, ARCHITECTURES)
    if field == "url":
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.hostname or " " in raw:
            raise bad_value(field, raw, "a direct http(s) link is expected")
        return raw
    if field == "protected":
        return _one_of(field, raw, ("on", "off")) == "on"
    if field == "pricelist":
        return _one_of(field, raw, cfg.pricelists)
    if field == "order_period":
        return _one_of(field, raw, (ORDER_PERIOD,))
    raise bad_value(field, raw, "unknown field")


# --- the functions --------------------------------------------------------------------


@dataclass
class ApiResult:
    """An answer and how the request log names its outcome: a JSON document
    (``doc``), or, when ``doc`` is None, a page of HTML with HTTP ``status``;
    ``notes`` are extra request-log keys (a list fault that was applied)."""

    doc: Optional[dict[str, Any]]
    outcome: str
    status: int = 200
    page: str = ""
    notes: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Call:
    """One authenticated API call as a function's handler sees it."""

    user: str
    form: Mapping[str, str]
    now: float
    #: The faults drawn for the request (a handler renders a list fault).
    fault: Fault
    #: Extra request-log keys the handler wants recorded.
    notes: dict[str, Any] = dataclasses.field(default_factory=dict)


Handler = Callable[[Call], dict[str, Any]]


class Api:
    """Answers API requests: parses and checks forms, calls the ``EmulatorState``
    methods that change things, and renders the answers."""

    def __init__(self, state: EmulatorState) -> None:
        self.state = state
        self.funcs: dict[str, Handler] = {
            ORDER_FUNC: self._order,
            "image": self._list,
            "image.edit": self._edit,
            "image.delete": self._delete,
            "whoami": self._whoami,
            "image.filter": self._filter,
        }

    def handle(
        self, form: Mapping[str, str], now: float, fault: Optional[Fault] = None
    ) -> ApiResult:
        """Answer one request (holds the state lock throughout); ``fault`` is what was
        drawn for it (only a list fault matters here)."""
        func = form.get("func", "")
        notes: dict[str, Any] = {}
        try:
            with self.state.lock:
                body = self._dispatch(func, form, now, fault or Fault(), notes)
        except ErrorAnswer as exc:
            return ApiResult(exc.envelope(func), exc.outcome)
        except PageAnswer as exc:
            return ApiResult(None, exc.outcome, exc.status, exc.body)
        return ApiResult(envelope(func, body), "ok", notes=notes)

    def _dispatch(
        self,
        func: str,
        form: Mapping[str, str],
        now: float,
        fault: Fault,
        notes: dict[str, Any],
    ) -> dict[str, Any]:
        out = form.get("out", "")
        if not out:
            raise missed("out")
        if out != "json":
            raise bad_value("out", out, "the emulator only answers out=json")
        if func == "auth":
            return self._auth(form, now)
        user = self._authenticate(form, now)
        if not func:
            raise missed("func")
        handler = self.funcs.get(func)
        if handler is None:
            raise ErrorAnswer("missed", "func", f"Function '{func}' not found", {"object": func})
        self.state.refresh(now)
        return handler(Call(user, form, now, fault, notes))

    # auth

    def _auth(self, form: Mapping[str, str], now: float) -> dict[str, Any]:
        token = self.state.login(form.get("username", ""), form.get("password", ""), now)
        if token is None:
            raise ErrorAnswer("auth", "badpassword", "Invalid username or password")
        return {"auth": {"$id": token, "$": token}}

    def _authenticate(self, form: Mapping[str, str], now: float) -> str:
        token = form.get("auth", "")
        if token:
            user = self.state.session_user(token, now)
            if user is not None:
                return user
        authinfo = form.get("authinfo", "")
        if authinfo and ":" in authinfo:
            name, password = authinfo.split(":", 1)
            if self.state.check_password(name, password):
                return name
        raise access_denied()

    # helpers

    def _image(self, user: str, form: Mapping[str, str]) -> StoredImage:
        elid = form.get("elid", "")
        if not elid:
            raise missed("elid")
        image = self.state.visible_image(user, elid)
        if image is None:
            raise missing_id(self.state.config.missing_id_error, elid)
        return image

    # functions

    def _whoami(self, call: Call) -> dict[str, Any]:
        """Who the token (or authinfo) belongs to: a cheap check of a session.

        An emulator assumption: the help page does not document it, BILLmanager-based
        products have it.
        """
        return {"user": wrap(call.user)}

    def _filter(self, call: Call) -> dict[str, Any]:
        """The image list's saved filter form, read without `sok` (this API family
        keeps one per user and list; the emulator saves only a name pattern)."""
        if call.form.get("sok"):
            raise bad_value("sok", call.form["sok"], "the emulator's filter is set with list_filter")
        return {"image_name": wrap(self.state.config.list_filter or "")}

    def _order(self, call: Call) -> dict[str, Any]:
        cfg = self.state.config
        form = call.form
        if not form.get("sok"):
            raise missed("sok")
        fields: dict[str, Any] = {}
        for field in ORDER_REQUIRED:
            raw = form.get(field, "")
            if raw == "":
                raise missed(field)
            fields[field] = check_field(field, raw, cfg)
        fields["os_version"] = check_field("os_version", form.get("os_version", ""), cfg)
        fields["image_name"] = cfg.stored_name(fields["image_name"])
        image = self.state.order(call.user, fields, call.now)
        return order_reply(cfg.order_reply, str(image.id))

    def _list(self, call: Call) -> dict[str, Any]:
        cfg = self.state.config
        form, now = call.form, call.now
        images = _sorted(self.state.images_of(call.user), form.get("p_col", ""))
        if cfg.list_filter:  # a filter saved in the panel: the counts agree with it
            images = [img for img in images if re.search(cfg.list_filter, img.image_name)]
        p_num = _page_param("p_num", form.get("p_num", ""), 1)
        size = _page_param("p_cnt", form.get("p_cnt", ""), cfg.default_page_size)
        if size == 0:
            size = len(images)
        if cfg.max_page_size:
            size = min(size, cfg.max_page_size)
        size = max(size, 1)
        page = images[(p_num - 1) * size : p_num * size]
        subaccount = self.state.subaccount(call.user)
        elems = [
            render_elem(img, subaccount, now, self.state.status_word(img, now)) for img in page
        ]
        p_elems = len(images)
        kind = call.fault.list_fault
        if kind and list_fault_applies(kind, len(elems), cfg.omit_paging_fields):
            elems, p_elems = contradict(kind, elems, p_elems, call.fault.pick)
            call.notes["list_fault"] = kind
        body: dict[str, Any] = {}
        if not cfg.omit_paging_fields:
            body.update(p_cnt=wrap(size), p_elems=wrap(p_elems), p_num=wrap(p_num))
        if len(elems) == 1 and cfg.single_elem_object:
            body["elem"] = elems[0]
        elif elems:
            body["elem"] = elems
        return body

    def _edit(self, call: Call) -> dict[str, Any]:
        form, now = call.form, call.now
        image = self._image(call.user, form)
        if not form.get("sok"):
            return render_edit_view(image, self.state.status_word(image, now))
        changes: dict[str, Any] = {}
        for field in EDITABLE:
            if field not in form:
                continue
            raw = form[field]
            if raw == "" and field != "os_version":
                raise missed(field)
            changes[field] = check_field(field, raw, self.state.config)
        if "image_name" in changes:
            changes["image_name"] = self.state.config.stored_name(changes["image_name"])
        # url, region, disk_format, pricelist, image_type: read-only in the
        # panel's edit form, so (like BILLmanager) they are silently ignored.
        try:
            self.state.edit(image, changes, now)
        except Refused as exc:
            raise refusal(exc) from None
        return {"ok": {}}

    def _delete(self, call: Call) -> dict[str, Any]:
        image = self._image(call.user, call.form)
        try:
            self.state.start_delete(image, call.now)
        except Refused as exc:
            raise refusal(exc) from None
        return {"ok": {}}


def list_fault_applies(kind: str, held: int, omit_paging_fields: bool) -> bool:
    """Whether a list fault can make a page of ``held`` elements contradict itself.

    ``idless`` needs one element; ``no_elements`` and ``undercount`` too, ``truncated``
    two (so one is left); ``overcount`` applies to any page. Without paging fields
    only ``idless`` is a contradiction: the others need ``p_elems`` to lie with.
    """
    if omit_paging_fields:
        return kind == "idless" and held >= 1
    return held >= {"truncated": 2, "overcount": 0}.get(kind, 1)


def contradict(
    kind: str, elems: list[dict[str, Any]], total: int, pick: float
) -> tuple[list[dict[str, Any]], int]:
    """The page's elements and ``p_elems`` made to contradict each other as ``kind``
    says; ``pick`` in [0, 1) chooses how many are cut or which loses its id."""
    if kind == "truncated":  # keeps 1 .. len-1 elements, p_elems stays true
        return elems[: 1 + int(pick * (len(elems) - 1))], total
    if kind == "no_elements":
        return [], total
    if kind == "idless":
        index = int(pick * len(elems))
        idless = {k: v for k, v in elems[index].items() if k != "id"}
        return [*elems[:index], idless, *elems[index + 1 :]], total
    if kind == "overcount":
        return elems, total + 1
    return elems, len(elems) - 1  # undercount: fewer than the answer holds


def refusal(exc: Refused) -> ErrorAnswer:
    """The error answer for a change the image's state refused."""
    return protected_image() if exc.reason == PROTECTED else running_operation()


def order_reply(shape: str, image_id: str) -> dict[str, Any]:
    """The body of a successful order answer in one of the shapes of ``ORDER_REPLIES``."""
    body: dict[str, Any] = {"ok": {}}
    if shape == "bare":
        body["id"] = image_id
    elif shape != "none":
        body[shape] = wrap(image_id)  # "id", "elid" or "item.id"
    return body


def _page_param(field: str, raw: str, default: int) -> int:
    if raw == "":
        return default
    if not raw.isascii() or not raw.isdigit() or int(raw) <= 0:
        raise bad_value(field, raw, "a positive integer is expected")
    return int(raw)


_NUMERIC_COLUMNS = ("id", "min_disk", "min_ram", "image_size")


def _sorted(images: list[StoredImage], p_col: str) -> list[StoredImage]:
    """Sort by ``p_col`` (``+id``, ``-id``, or another field); default by id."""
    # An unencoded "+" in a url-encoded body arrives as a blank: treat it as "+".
    reverse = p_col.strip().startswith("-")
    column = p_col.lstrip("+- ").strip() or "id"
    if column not in StoredImage.__dataclass_fields__:
        column = "id"

    def key(img: StoredImage) -> Any:
        value = getattr(img, column)
        return (value if column in _NUMERIC_COLUMNS else str(value).lower(), img.id)

    return sorted(images, key=key, reverse=reverse)
