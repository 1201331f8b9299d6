"""A wire trace on demand: one JSON line per API call, appended to a file.

When the API answers something the provider does not expect, the exact exchange
is what a bug report needs, and the API's shapes are partly undocumented.  Set
`zomro:trace` (or `ZOMRO_TRACE`) to a file path and every call is appended as

    {"time": ..., "func": ..., "request": {...}, "http_status": 200,
     "duration_s": 0.123, "answer": {...}, "error": null}

Credentials never reach the file: form fields named like a secret, the session
token of a login answer, and every string the `secrets` callable yields (the
current token, the password) are replaced by `***`.  Tracing never breaks a call:
a path that cannot be opened fails at start with a `ConfigError`, and a later
write failure is reported once on stderr and otherwise ignored.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from os import PathLike
from typing import Any, Callable, Optional, Union

from .errors import REDACTED, ConfigError, redact

# A non-JSON answer (a proxy's error page, "still processing") is kept up to this many characters.
MAX_TEXT = 4096
# Form fields whose value is a credential: password, auth, authinfo, token, ...
SECRET_FIELD = re.compile(r"pass|token|auth", re.IGNORECASE)

StrPath = Union[str, PathLike[str]]
_COMPACT = (",", ":")


def _no_secrets() -> Iterable[str]:
    return ()


class WireTrace:
    """Appends one JSON line per API call to a file (`ZOMRO_TRACE` / `zomro:trace`).

    `secrets` is asked on every record, so a token renewed by a later login is
    redacted too; the client may replace it (`trace.secrets = ...`) with its own.
    Safe to share between threads: each line is one `write` under a lock, on a
    file opened for appending.
    """

    def __init__(self, path: StrPath, secrets: Callable[[], Iterable[str]] = _no_secrets) -> None:
        self.path = os.fspath(path)
        self.secrets = secrets
        self._lock = threading.Lock()
        self._warned = False
        try:
            # Owner-only when new: the trace holds account data, if no credentials.
            self._fd: Optional[int] = os.open(
                self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600
            )
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(
                f"cannot append to the wire trace {self.path!r} (zomro:trace / ZOMRO_TRACE): "
                f"{reason}"
            ) from None

    @classmethod
    def from_setting(
        cls, value: Optional[str], secrets: Callable[[], Iterable[str]] = _no_secrets
    ) -> Optional[WireTrace]:
        """The trace a `zomro:trace` / `ZOMRO_TRACE` setting asks for; None when unset."""
        if value is None or not value.strip():
            return None
        return cls(os.path.expanduser(value), secrets)

    def record(
        self,
        *,
        func: str,
        request: Mapping[str, str],
        http_status: Optional[int],
        duration_s: float,
        body: Any,
        error: Optional[str] = None,
    ) -> None:
        """Append one call: `body` is the parsed JSON answer, or the raw text when
        the answer was not JSON; `error` is why there was no answer at all."""
        try:
            line = self._line(func, request, http_status, duration_s, body, error)
        except Exception as exc:  # a trace must never break the call it traces
            line = self._fallback(func, http_status, f"answer not traceable: {type(exc).__name__}")
        self._write(line)

    def close(self) -> None:
        """Stop tracing; later records are dropped."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> WireTrace:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WireTrace({self.path!r})"

    # --- building a line -------------------------------------------------------------

    def _secret_list(self) -> list[str]:
        try:
            found = [s for s in self.secrets() if isinstance(s, str) and s]
        except Exception:  # a failing secrets source must not break the call either
            found = []
        # A secret with a quote, backslash or control character appears escaped in JSON.
        return found + [json.dumps(s, ensure_ascii=False)[1:-1] for s in found]

    def _line(
        self,
        func: str,
        request: Mapping[str, str],
        http_status: Optional[int],
        duration_s: float,
        body: Any,
        error: Optional[str],
    ) -> str:
        secrets = self._secret_list()
        if isinstance(body, bytes):
            body = body.decode("utf-8", errors="replace")
        if isinstance(body, str):
            answer: Any = _truncate(redact(body, secrets))
        else:
            answer = _scrub(_hide_login_token(body), secrets)
        entry = {
            "time": _now(),
            "func": redact(str(func), secrets),
            "request": {
                redact(str(k), secrets): REDACTED if SECRET_FIELD.search(str(k)) else
                redact(str(v), secrets)
                for k, v in request.items()
            },
            "http_status": http_status,
            "duration_s": round(float(duration_s), 4),
            "answer": answer,
            "error": None if error is None else redact(str(error), secrets),
        }
        line = json.dumps(entry, ensure_ascii=False, default=str, separators=_COMPACT)
        # Last pass over the whole line: a secret could still straddle JSON syntax.
        scrubbed = redact(line, secrets)
        if scrubbed != line:
            try:
                json.loads(scrubbed)
            except ValueError:
                return self._fallback(func, http_status, "line withheld: it would show a secret")
        return scrubbed + "\n"

    def _fallback(self, func: str, http_status: Optional[int], why: str) -> str:
        """A line that says a call happened when its content cannot be shown; empty
        (nothing is written) when even that would show a secret."""
        secrets = self._secret_list()
        time = _now()
        for name in (str(func), None):
            entry = {"time": time, "func": name, "http_status": http_status, "error": why}
            line = json.dumps(entry, ensure_ascii=False, separators=_COMPACT)
            if redact(line, secrets) == line:
                return line + "\n"
        return ""

    # --- writing ---------------------------------------------------------------------

    def _write(self, line: str) -> None:
        data = line.encode("utf-8")
        with self._lock:
            if self._fd is None or not data:
                return
            try:
                while data:  # one write in practice; a short write continues the same line
                    written = os.write(self._fd, data)
                    data = data[written:]
            except OSError as exc:
                if not self._warned:
                    self._warned = True
                    print(
                        f"zomro: cannot write the wire trace {self.path!r} "
                        f"({exc.strerror or type(exc).__name__}); calls go on untraced",
                        file=sys.stderr,
                    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _truncate(text: str) -> str:
    if len(text) <= MAX_TEXT:
        return text
    return f"{text[:MAX_TEXT]}... [truncated, {len(text)} characters in all]"


def _hide_login_token(body: Any) -> Any:
    """`func=auth` answers the session token at `doc.auth.$id` (and `$`)."""
    if not isinstance(body, dict) or not isinstance(body.get("doc"), dict):
        return body
    auth = body["doc"].get("auth")
    if isinstance(auth, dict):
        auth = {k: REDACTED if k in ("$id", "$") else v for k, v in auth.items()}
    elif auth is not None:
        auth = REDACTED
    else:
        return body
    return {**body, "doc": {**body["doc"], "auth": auth}}


def _scrub(value: Any, secrets: list[str]) -> Any:
    """Every string in a JSON value, keys included, with the secrets replaced.

    Iterative, so an absurdly deep answer cannot overflow the stack here.
    """
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
    while stack:
        item, parent, slot = stack.pop()
        if isinstance(item, str):
            parent[slot] = redact(item, secrets)
        elif isinstance(item, dict):
            copy: dict[str, Any] = {}
            parent[slot] = copy
            for k, v in item.items():
                key = redact(str(k), secrets)
                copy[key] = None
                stack.append((v, copy, key))
        elif isinstance(item, (list, tuple)):
            items: list[Any] = [None] * len(item)
            parent[slot] = items
            stack.extend((v, items, i) for i, v in enumerate(item))
        else:
            parent[slot] = item
    return root[0]
