"""The wire: one HTTP session, the `{"doc": ...}` envelope, logins and retries.

The only place that holds a session, a token or a password (hcloud's client
core is the model: one object owns the connection, everything else asks it).
`ZomroClient` builds the image functions on top of it; the doctor talks to the
API through the same client.

Retry rules follow one idea: repeat only what is safe to repeat.
- A connection that never opened is retried for every call (nothing was sent);
  a TLS handshake that fails, a name that does not resolve or a refused port is
  not retried at all: it will not change within a run, and the error says so.
- An error envelope means the API did nothing, so `runningoperation` is retried
  for every call, and `access` leads to one fresh login when a username and
  password are configured.
- A lost answer (HTTP 5xx, dropped connection, a body that is not JSON, a read
  timeout) is retried for safe calls; for an order it raises
  `UncertainOrderError`: the order's fate is unknown and it is never repeated.

Every call may carry a deadline (on the injected clock): each attempt's HTTP
timeout shrinks to the time left, and no retry starts after it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import ssl
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.util.retry import Retry

from .clock import SYSTEM_CLOCK, Clock
from .errors import (
    NO_CREDENTIALS,
    AnswerTimeout,
    ApiError,
    AuthError,
    BusyError,
    ConfigError,
    EndpointUnreachable,
    InvalidRequestError,
    NotFoundError,
    TransportError,
    UncertainOrderError,
    redact,
)
from .model import as_list, unwrap

if TYPE_CHECKING:
    from .trace import WireTrace

log = logging.getLogger("zomro_pulumi.client")

DEFAULT_ENDPOINT = "https://api.zomro.com/"
FUNC_AUTH = "auth"
# Shortest HTTP timeout a call is given when its deadline is near: a round trip
# needs some time, and the caller's bound allows one HTTP timeout past it.
MIN_ATTEMPT_TIMEOUT = 1.0
# Opening a connection: how long one try may take, and how often it is tried
# again (nothing was sent yet, so every call may).  An endpoint nobody answers
# at fails within about 10 s, naming the endpoint.
CONNECT_TIMEOUT = 3.0
CONNECT_RETRIES = 2
_LOGIN_REFUSED = {"badpassword", "badip", "blocklogon", "blockgeoip", "blocked_ip"}


@dataclasses.dataclass(frozen=True)
class Tuning:
    """How patiently the client talks: timeouts, retries, pool and page sizes."""

    timeout: float = 60.0
    """Seconds one HTTP attempt may take (shrunk to a caller's deadline)."""
    retries: int = 6
    """Attempts after the first for a lost answer of a safe call."""
    backoff_factor: float = 0.5
    backoff_max: float = 10.0
    pool_size: int = 64
    """Connections kept open: as many calls as may be in flight at once."""
    page_size: int = 500
    """Images asked for per list page (a server may cap it)."""
    list_ttl: float = 2.0
    """Seconds one list answer may serve other readers (any change invalidates it)."""


DEFAULT_TUNING = Tuning()


def _is_loopback(host: str) -> bool:
    if host in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(endpoint: str) -> str:
    """Credentials travel in the form body, so only https leaves the machine;
    credentials inside the URL itself are refused (they would be logged)."""
    try:
        parts = urlsplit(endpoint)
    except ValueError as exc:  # a broken [IPv6] host; the text may hold credentials
        raise ConfigError(f"endpoint is not an http(s) URL ({exc})") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"endpoint {redact_url(endpoint)!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ConfigError(
            f"endpoint {redact_url(endpoint)!r} carries credentials in the URL; give them as "
            "zomro:username and zomro:password (secret) instead"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigError(
            f"endpoint {endpoint!r} uses plain http to a non-loopback host; "
            "credentials are sent in the request body, so use https"
        )
    return endpoint if endpoint.endswith("/") else endpoint + "/"


def redact_url(url: str) -> str:
    """The URL with any `user:password@` replaced, for messages."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return parts._replace(netloc=f"***@{host}").geturl()


class Wire:
    """Sends API functions and returns the `doc` of good answers; thread-safe."""

    def __init__(
        self,
        endpoint: str,
        *,
        token: Optional[str],
        username: Optional[str],
        password: Optional[str],
        tuning: Tuning,
        session: Optional[requests.Session],
        clock: Clock = SYSTEM_CLOCK,
        trace: Optional[WireTrace] = None,
    ) -> None:
        self.endpoint = check_endpoint(endpoint)
        self._static_token = token or None
        self._username = username or None
        self._password = password or None
        self._token: Optional[str] = self._static_token
        self._auth_lock = threading.Lock()
        self.tuning = tuning
        self.clock = clock
        self.trace = trace
        if trace is not None:
            # The trace redacts whatever this wire holds now, renewed tokens included.
            trace.secrets = lambda: self.secrets
        # The retry budget and backoff curve for answers lost in transit; urllib3's
        # policy object does the counting and the exponential backoff.
        self._retry = Retry(
            total=tuning.retries,
            backoff_factor=tuning.backoff_factor,
            backoff_max=tuning.backoff_max,
            backoff_jitter=0.1,
            allowed_methods=None,
            raise_on_status=False,
        )
        self._session = session or requests.Session()
        # Inside the pool only connections that never opened are retried: those
        # are safe for every call, orders included.
        connect_only = Retry(
            total=CONNECT_RETRIES, connect=CONNECT_RETRIES, read=0, redirect=0, status=0,
            other=0, backoff_factor=0.2, raise_on_status=False,
        )
        adapter = HTTPAdapter(
            pool_connections=4, pool_maxsize=tuning.pool_size, max_retries=connect_only
        )
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    @property
    def auth_kind(self) -> str:
        return "token" if self._static_token else ("login" if self._username else "none")

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self._static_token, self._password, self._token) if s]

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ calls

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
        `deadline` (on this wire's clock) bounds every attempt and retry.
        """
        fields = {k: v for k, v in (form or {}).items() if v is not None}
        retry = self._retry.new()
        relogged = False
        while True:
            token = self._current_token(func, deadline)
            try:
                return check_envelope(func, self._post(func, fields, token, deadline), self.redact)
            except AuthError as exc:
                if exc.err_type != "access" or func == FUNC_AUTH:
                    raise
                if not self.can_login:
                    raise AuthError(
                        f"{exc.message}: the session token was rejected or has expired; set a "
                        "fresh zomro:authToken, or zomro:username and zomro:password so the "
                        "provider can log in again by itself",
                        func=func, err_type=exc.err_type, err_object=exc.err_object,
                    ) from None
                if relogged:
                    raise
                log.info("zomro: session expired during %s; logging in again", func)
                self._relogin(stale=token, deadline=deadline)
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
        self, retry: Retry, func: str, exc: ApiError | TransportError, deadline: Optional[float]
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

    def attempt_timeout(self, deadline: Optional[float]) -> float:
        """One HTTP attempt's timeout: the tuning's, shrunk to the time left."""
        if deadline is None:
            return self.tuning.timeout
        left = deadline - self.clock.monotonic()
        return min(self.tuning.timeout, max(left, MIN_ATTEMPT_TIMEOUT))

    def _post(
        self, func: str, fields: Mapping[str, str], token: Optional[str], deadline: Optional[float]
    ) -> Any:
        body = {"out": "json", "func": func, **fields}
        if token and func != FUNC_AUTH:
            body["auth"] = token
        # Multipart, as the help page's `curl --form` examples send it.
        files = {k: (None, str(v)) for k, v in body.items()}
        started = self.clock.monotonic()
        timeout = self.attempt_timeout(deadline)
        try:
            resp = self._session.post(
                self.endpoint, files=files, timeout=(min(CONNECT_TIMEOUT, timeout), timeout)
            )
        except requests.RequestException as exc:
            error = self._transport_error(func, exc)
            self._traced(func, body, None, started, None, error.message)
            raise error from None
        answer: Any
        try:
            answer = resp.json()
        except (ValueError, json.JSONDecodeError):
            answer = None
        self._traced(func, body, resp.status_code, started, answer, None, resp)
        return _judge_http(func, resp.status_code, answer)

    def _transport_error(self, func: str, exc: requests.RequestException) -> TransportError:
        """What a failed request means, in one line naming the endpoint and the cause."""
        cause = connection_problem(exc)
        if cause is not None:
            return EndpointUnreachable(
                self.redact(f"cannot reach the Zomro API at {self.endpoint}: {cause}"), func=func
            )
        if isinstance(exc, requests.Timeout):
            return AnswerTimeout(self.redact(f"no answer from {self.endpoint} in time"), func=func)
        return TransportError(
            self.redact(f"no answer from {self.endpoint}: {type(exc).__name__}"), func=func
        )

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

    # ------------------------------------------------------------------ auth

    @property
    def can_login(self) -> bool:
        return bool(self._username and self._password)

    def _current_token(self, func: str, deadline: Optional[float]) -> Optional[str]:
        if func == FUNC_AUTH:
            return None
        with self._auth_lock:
            if self._token:
                return self._token
        if not self.can_login:
            raise ConfigError(NO_CREDENTIALS, func=func)
        return self._relogin(stale=None, deadline=deadline)

    def renew(self, deadline: Optional[float] = None) -> None:
        """Log in now and keep the new session for every later call."""
        with self._auth_lock:
            self._token = self.login(deadline)

    def _relogin(self, stale: Optional[str], deadline: Optional[float]) -> str:
        """Log in once for all threads that saw the same stale token (within the
        deadline of the call that needs the session)."""
        with self._auth_lock:
            if self._token and self._token != stale:
                return self._token
            self._token = self.login(deadline)
            return self._token

    def login(self, deadline: Optional[float] = None) -> str:
        """`func=auth`; the token is at `doc.auth.$id`."""
        doc = self.call(
            FUNC_AUTH,
            {"username": self._username or "", "password": self._password or ""},
            deadline=deadline,
        )
        auth = doc.get("auth")
        token = auth.get("$id") or auth.get("$") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise AuthError("login answer carried no session token", func=FUNC_AUTH, err_type="auth")
        return token.strip()


def check_envelope(func: str, payload: Any, redact_text: Callable[[str], str]) -> dict[str, Any]:
    """`doc` of a good answer; the error an error envelope stands for, its text
    passed through `redact_text`."""
    if not isinstance(payload, dict) or not isinstance(payload.get("doc"), dict):
        raise TransportError("the answer has no `doc` object", func=func)
    doc: dict[str, Any] = payload["doc"]
    error = doc.get("error")
    if error is None:
        return doc
    raise envelope_error(func, error if isinstance(error, dict) else {}, redact_text)


def envelope_error(func: str, error: Mapping[str, Any], redact_text: Callable[[str], str]) -> ApiError:
    """The `ApiError` subclass a BILLmanager error envelope means."""
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
    text = redact_text(msg + (f" [{'; '.join(params)}]" if params else ""))
    kind: type[ApiError] = ApiError
    if err_object == "runningoperation":
        kind = BusyError
    elif err_type in {"access", "auth"} or err_object in _LOGIN_REFUSED:
        kind = AuthError
    elif err_type == "missed" and err_object in {"elid", "id", "item"}:
        kind = NotFoundError
    elif err_type in {"missed", "value", "exists"}:
        kind = InvalidRequestError
    return kind(text, func=func, err_type=err_type, err_object=err_object)


def _judge_http(func: str, status: int, answer: Any) -> Any:
    """The JSON answer of an HTTP exchange, or the error its status means."""
    if status == 403:
        raise AuthError(
            "HTTP 403: this IP address is temporarily blocked by the API",
            func=func, err_type="blocked", err_object="blocked_ip",
        )
    if status >= 500 or status in (408, 429):
        raise TransportError(f"HTTP {status} from the API", func=func)
    if status >= 400:
        raise ApiError(f"HTTP {status} from the API", func=func, err_type=f"http{status}")
    if answer is None:
        # BILLmanager answers a long request with a non-JSON page while it works.
        raise TransportError("the answer was not JSON (still processing?)", func=func)
    return answer


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it wraps (urllib3's `reason`, `args[0]`, causes)."""
    found: list[BaseException] = []
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is f for f in found):
            continue
        found.append(item)
        todo += [getattr(item, "reason", None), item.__cause__, item.__context__, *item.args[:1]]
    return found


# TLS alerts that mean "the other side does not speak TLS at all".
_NOT_TLS = {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL", "HTTP_REQUEST"}


def connection_problem(exc: requests.RequestException) -> Optional[str]:
    """Why no request could be sent (nothing reached the API), from the types of
    the exceptions involved; None when the failure may have come after sending."""
    causes = _causes(exc)
    tls = [c for c in causes if isinstance(c, ssl.SSLError)]
    if any(isinstance(c, ssl.SSLCertVerificationError) for c in causes):
        return "its TLS certificate is not trusted (expired, self-signed or for another host)"
    if tls:
        if any(getattr(c, "reason", None) in _NOT_TLS for c in tls):
            return (
                "the TLS handshake failed: the server does not speak https on that port "
                "(a plain http:// endpoint?)"
            )
        return f"the TLS handshake failed ({getattr(tls[-1], 'reason', None) or 'no reason given'})"
    if any(isinstance(c, NameResolutionError) for c in causes):
        return "host name not found (DNS)"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused (nothing listens on that port)"
    if isinstance(exc, requests.ConnectTimeout) or any(
        isinstance(c, ConnectTimeoutError) and not isinstance(c, NewConnectionError)
        for c in causes
    ):
        return "connection timed out (a firewall, or the host is down)"
    if any(isinstance(c, NewConnectionError) for c in causes):
        return "no connection could be opened"
    return None
