"""HTTP client for the Zomro (BILLmanager) image API.

Knows HTTP, the `{"doc": ...}` envelope, logins and retries, and nothing about
Pulumi.  One `ZomroClient` is safe to share between threads: the token, the
login and the shared image list are guarded, and the connection pool is sized
for many calls in flight.

Retry rules follow one idea: repeat only what is safe to repeat.
- A connection that never opened is retried for every call (nothing was sent).
- An error envelope means the API did nothing, so `runningoperation` is retried
  for every call, and `access` leads to one fresh login when a username and
  password are configured.
- A lost answer (HTTP 5xx, dropped connection, a body that is not JSON) is
  retried for lists, views, edits and deletes; for an order it raises
  `UncertainOrderError` so the caller looks for the image before ordering again.

Every call may carry a deadline (on the injected clock): each attempt's HTTP
timeout shrinks to the time left, and no retry starts after it.  Whether an
image exists is not decided here: a call on one id that fails raises, and the
caller confirms through the image list.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError
from urllib3.util.retry import Retry

from .clock import SYSTEM_CLOCK, Clock
from .errors import (
    NO_CREDENTIALS,
    ApiError,
    AuthError,
    BusyError,
    ConfigError,
    EndpointUnreachable,
    InvalidRequestError,
    NotFoundError,
    TransportError,
    UncertainOrderError,
    ZomroError,
    redact,
)
from .model import ImageRecord, as_list, to_int, unwrap

if TYPE_CHECKING:
    from .trace import WireTrace

log = logging.getLogger("zomro_pulumi.client")

DEFAULT_ENDPOINT = "https://api.zomro.com/"
FUNC_AUTH = "auth"
FUNC_ORDER = "v2.image.order.param"
FUNC_LIST = "image"
FUNC_EDIT = "image.edit"
FUNC_DELETE = "image.delete"

# Where an order answer may carry the new image's id (the page does not say).
ORDER_ID_KEYS = ("id", "elid", "item.id", "item_id")
# Fields every order carries, fixed by the help page: confirm, skip the basket
# (with `off` nothing is created), and the only item type there is.
ORDER_CONSTANTS: Mapping[str, str] = {"sok": "ok", "skipbasket": "on", "image_type": "image"}
# Shortest HTTP timeout a call is given when its deadline is near: a round trip
# needs some time, and the caller's bound allows one HTTP timeout past it.
MIN_ATTEMPT_TIMEOUT = 1.0
# Opening a connection: how long one try may take, and how often it is tried
# again (nothing was sent yet, so every call may).  An endpoint nobody answers
# at fails within about 10 s, naming the endpoint.
CONNECT_TIMEOUT = 3.0
CONNECT_RETRIES = 2


def _is_loopback(host: str) -> bool:
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(endpoint: str) -> str:
    """Credentials travel in the form body, so only https leaves the machine."""
    parts = urlsplit(endpoint)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"endpoint {endpoint!r} is not an http(s) URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"endpoint {endpoint!r} uses plain http to a non-loopback host; "
            "credentials are sent in the request body, so use https"
        )
    return endpoint if endpoint.endswith("/") else endpoint + "/"


class ZomroClient:
    """Calls the Zomro API; the only place that holds a session or a token.

    :param endpoint: API URL; https, or http to a loopback address (the emulator).
    :param token: a session token used as is (cannot be renewed when it expires).
    :param username: with `password`, logs in with `func=auth` and logs in again
        once whenever the API says the session expired.
    :param list_ttl: seconds an image list answer may serve other readers; any
        order, edit or delete made through this client invalidates it at once.
    """

    def __init__(
        self,
        endpoint: str = DEFAULT_ENDPOINT,
        *,
        token: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        timeout: float = 60.0,
        retries: int = 6,
        backoff_factor: float = 0.5,
        backoff_max: float = 10.0,
        pool_size: int = 64,
        page_size: int = 500,
        list_ttl: float = 2.0,
        session: Optional[requests.Session] = None,
        clock: Clock = SYSTEM_CLOCK,
        trace: Optional[WireTrace] = None,
    ) -> None:
        self.endpoint = check_endpoint(endpoint)
        self._static_token = token or None
        self._username = username or None
        self._password = password or None
        self._token: Optional[str] = self._static_token
        self._auth_lock = threading.Lock()
        self.timeout = timeout
        self.page_size = page_size
        self.list_ttl = list_ttl
        self.clock = clock
        self.trace = trace
        if trace is not None:
            # The trace redacts whatever this client holds now, renewed tokens included.
            trace.secrets = lambda: self._secrets
        # Pages the last full list took: what one list call costs a poller.
        self.list_pages = 1
        # The retry budget and backoff curve for answers lost in transit; urllib3's
        # policy object does the counting and the exponential backoff.
        self._retry = Retry(
            total=retries,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            backoff_jitter=0.1,
            allowed_methods=None,
            raise_on_status=False,
        )
        self._session = session or requests.Session()
        # Inside the pool only connections that never opened are retried: those are
        # safe for every call, orders included.
        adapter = HTTPAdapter(
            pool_connections=4,
            pool_maxsize=pool_size,
            max_retries=Retry(
                total=CONNECT_RETRIES,
                connect=CONNECT_RETRIES,
                read=0,
                redirect=0,
                status=0,
                other=0,
                backoff_factor=0.2,
                raise_on_status=False,
            ),
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        # Shared image list: one fetch serves every thread that asks meanwhile.
        self._list_lock = threading.Lock()
        self._generation = 0
        self._inflight: Optional[tuple[int, Future[list[ImageRecord]]]] = None
        self._cached: Optional[tuple[int, float, list[ImageRecord]]] = None

    def __repr__(self) -> str:
        auth = "token" if self._static_token else ("login" if self._username else "none")
        return f"ZomroClient(endpoint={self.endpoint!r}, auth={auth})"

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("ZomroClient holds credentials and must not be pickled")

    # ------------------------------------------------------------------ core

    @property
    def _secrets(self) -> list[str]:
        return [s for s in (self._static_token, self._password, self._token) if s]

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def close(self) -> None:
        self._session.close()

    def call(
        self,
        func: str,
        form: Optional[Mapping[str, str]] = None,
        *,
        safe: bool = True,
        deadline: Optional[float] = None,
    ) -> dict[str, Any]:
        """Send one API function and return `doc` of a successful answer.

        `safe` says whether the call may be repeated when its answer is lost;
        `deadline` (on this client's clock) bounds every attempt and retry.
        """
        fields = {k: v for k, v in (form or {}).items() if v is not None}
        retry = self._retry.new()
        relogged = False
        while True:
            token = self._current_token(func)
            try:
                doc = self._post(func, fields, token, deadline)
                return self._check_envelope(func, doc)
            except AuthError as exc:
                if exc.err_type != "access" or func == FUNC_AUTH:
                    raise
                if not self._can_login():
                    raise AuthError(
                        f"{exc.message}: the session token was rejected or has expired; set a "
                        "fresh zomro:authToken, or zomro:username and zomro:password so the "
                        "provider can log in again by itself",
                        func=func,
                        err_type=exc.err_type,
                        err_object=exc.err_object,
                    ) from None
                if relogged:
                    raise
                log.info("zomro: session expired during %s; logging in again", func)
                self._relogin(stale=token)
                relogged = True
            except BusyError as exc:
                retry = self._next_try(retry, func, exc, deadline)
            except EndpointUnreachable:
                raise  # the connection was already tried again; nothing was sent
            except TransportError as exc:
                if not safe:
                    raise UncertainOrderError(
                        f"the answer to {func} was lost ({exc.message}); "
                        "the change may or may not have been made",
                        func=func,
                    ) from None
                retry = self._next_try(retry, func, exc, deadline)

    def _next_try(
        self, retry: Retry, func: str, exc: ZomroError, deadline: Optional[float]
    ) -> Retry:
        try:
            retry = retry.increment(method="POST", url=func, error=exc)
        except MaxRetryError:
            raise exc from None
        delay = max(retry.get_backoff_time(), 0.2)
        if deadline is not None and self.clock.monotonic() + delay >= deadline:
            raise exc from None
        log.info("zomro: %s failed transiently (%s); retrying in %.1fs", func, exc.message, delay)
        self.clock.sleep(delay)
        return retry

    def _attempt_timeout(self, deadline: Optional[float]) -> float:
        if deadline is None:
            return self.timeout
        left = deadline - self.clock.monotonic()
        return min(self.timeout, max(left, MIN_ATTEMPT_TIMEOUT))

    def _post(
        self,
        func: str,
        fields: Mapping[str, str],
        token: Optional[str],
        deadline: Optional[float] = None,
    ) -> Any:
        body = {"out": "json", "func": func, **fields}
        if token and func != FUNC_AUTH:
            body["auth"] = token
        # Multipart, as the help page's `curl --form` examples send it.
        files = {k: (None, str(v)) for k, v in body.items()}
        started = self.clock.monotonic()
        try:
            timeout = self._attempt_timeout(deadline)
            resp = self._session.post(
                self.endpoint, files=files, timeout=(min(CONNECT_TIMEOUT, timeout), timeout)
            )
        except requests.RequestException as exc:
            if _never_connected(exc):
                error = self._redact(
                    f"cannot reach the Zomro API at {self.endpoint} ({_reason(exc)}); check "
                    "zomro:endpoint (ZOMRO_ENDPOINT) and the network"
                )
                self._traced(func, body, None, started, None, error)
                raise EndpointUnreachable(error, func=func) from None
            error = self._redact(f"no answer from {self.endpoint}: {type(exc).__name__}")
            self._traced(func, body, None, started, None, error)
            raise TransportError(error, func=func) from None
        answer: Any
        try:
            answer = resp.json()
        except (ValueError, json.JSONDecodeError):
            answer = None
        self._traced(func, body, resp.status_code, started, answer, None, resp)
        if resp.status_code == 403:
            raise AuthError(
                "HTTP 403: this IP address is temporarily blocked by the API",
                func=func,
                err_type="blocked",
                err_object="blocked_ip",
            )
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise TransportError(f"HTTP {resp.status_code} from the API", func=func)
        if resp.status_code >= 400:
            raise ApiError(
                f"HTTP {resp.status_code} from the API",
                func=func,
                err_type=f"http{resp.status_code}",
            )
        if answer is None:
            # BILLmanager answers a long request with a non-JSON page while it works.
            raise TransportError("the answer was not JSON (still processing?)", func=func)
        return answer

    def _traced(
        self,
        func: str,
        request: Mapping[str, str],
        status: Optional[int],
        started: float,
        answer: Any,
        error: Optional[str],
        resp: Optional[requests.Response] = None,
    ) -> None:
        if self.trace is None:
            return
        body = answer if answer is not None or resp is None else resp.text
        self.trace.record(
            func=func,
            request=request,
            http_status=status,
            duration_s=self.clock.monotonic() - started,
            body=body,
            error=error,
        )

    def _check_envelope(self, func: str, payload: Any) -> dict[str, Any]:
        if not isinstance(payload, dict) or not isinstance(payload.get("doc"), dict):
            raise TransportError("the answer has no `doc` object", func=func)
        doc: dict[str, Any] = payload["doc"]
        error = doc.get("error")
        if error is None:
            return doc
        if not isinstance(error, dict):
            error = {}
        err_type = str(error.get("$type") or "").strip() or "unknown"
        err_object = str(error.get("$object") or "").strip() or None
        msg = (
            unwrap(error.get("msg"), raw=False)
            or unwrap(error.get("detail"), raw=False)
            or "the API reported an error"
        )
        params = [
            f"{p.get('$name')}={p.get('$')}"
            for p in as_list(error.get("param"))
            if isinstance(p, dict) and p.get("$name")
        ]
        text = self._redact(msg + (f" [{'; '.join(params)}]" if params else ""))
        kwargs = {"func": func, "err_type": err_type, "err_object": err_object}
        if err_object == "runningoperation":
            raise BusyError(text, **kwargs)
        if err_type in {"access", "auth"} or err_object in {
            "badpassword",
            "badip",
            "blocklogon",
            "blockgeoip",
            "blocked_ip",
        }:
            raise AuthError(text, **kwargs)
        if err_type == "missed" and err_object in {"elid", "id", "item"}:
            raise NotFoundError(text, **kwargs)
        if err_type in {"missed", "value", "exists"}:
            raise InvalidRequestError(text, **kwargs)
        raise ApiError(text, **kwargs)

    # ------------------------------------------------------------------ auth

    def _can_login(self) -> bool:
        return bool(self._username and self._password)

    def _current_token(self, func: str) -> Optional[str]:
        if func == FUNC_AUTH:
            return None
        with self._auth_lock:
            if self._token:
                return self._token
        if not self._can_login():
            raise ConfigError(NO_CREDENTIALS, func=func)
        return self._relogin(stale=None)

    def _relogin(self, stale: Optional[str]) -> str:
        """Log in once for all threads that saw the same stale token."""
        with self._auth_lock:
            if self._token and self._token != stale:
                return self._token
            self._token = self.login()
            return self._token

    def login(self) -> str:
        """`func=auth`; the token is at `doc.auth.$id`."""
        doc = self.call(
            FUNC_AUTH, {"username": self._username or "", "password": self._password or ""}
        )
        auth = doc.get("auth")
        token = None
        if isinstance(auth, dict):
            token = auth.get("$id") or auth.get("$")
        if not isinstance(token, str) or not token.strip():
            raise AuthError(
                "login answer carried no session token", func=FUNC_AUTH, err_type="auth"
            )
        return token.strip()

    # ------------------------------------------------------------------ images

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
        """Every image of the account, all pages.  Concurrent callers share one
        fetch; an answer younger than `max_age` (default `list_ttl`) is reused
        unless this client changed something since it was fetched."""
        ttl = self.list_ttl if max_age is None else max_age
        with self._list_lock:
            gen = self._generation
            if (
                self._cached
                and self._cached[0] == gen
                and self.clock.monotonic() - self._cached[1] < ttl
            ):
                return list(self._cached[2])
            if self._inflight and self._inflight[0] == gen:
                future = self._inflight[1]
                owner = False
            else:
                future = Future()
                self._inflight = (gen, future)
                owner = True
        if not owner:
            return list(future.result())
        try:
            records = self._fetch_all_pages(deadline)
        except BaseException as exc:
            future.set_exception(exc)
            with self._list_lock:
                if self._inflight and self._inflight[1] is future:
                    self._inflight = None
            raise
        future.set_result(records)
        with self._list_lock:
            if self._inflight and self._inflight[1] is future:
                self._inflight = None
            if self._generation == gen:
                self._cached = (gen, self.clock.monotonic(), records)
        return list(records)

    def _fetch_all_pages(self, deadline: Optional[float]) -> list[ImageRecord]:
        seen: dict[str, ImageRecord] = {}
        page = 1
        while page <= 1000:
            doc = self.call(
                FUNC_LIST, {"p_num": str(page), "p_cnt": str(self.page_size)}, deadline=deadline
            )
            items = as_list(doc.get("elem"))
            for item in items:
                record = ImageRecord.from_api(item)
                if record is not None:
                    seen.setdefault(record.id, record)
            total = to_int(unwrap(doc.get("p_elems")))
            page_cnt = to_int(unwrap(doc.get("p_cnt"))) or self.page_size
            if not items or (total is None and len(items) < page_cnt):
                break
            if total is not None and (len(seen) >= total or page * page_cnt >= total):
                break
            page += 1
        self.list_pages = page
        return list(seen.values())

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

        Never repeated here when the answer is lost (`UncertainOrderError`).
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


def _never_connected(exc: requests.RequestException) -> bool:
    """Whether the request failed before a connection opened (nothing was sent)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))


def _reason(exc: requests.RequestException) -> str:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    text = str(reason or exc)
    if "refused" in text.lower():
        return "connection refused"
    if "resolve" in text.lower() or "name or service" in text.lower():
        return "host name not found"
    if "timed out" in text.lower() or isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    return type(reason or exc).__name__
