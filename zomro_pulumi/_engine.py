"""Talk to the Pulumi engine from the dynamic-provider process.

Two things the SDK's dynamic provider server does not offer:

* **Progress on the resource's own row.**  A dynamic provider's stderr lines
  reach the engine without a resource, so the CLI shows them under the Stack
  and nobody can tell which of 16 images a line is about.  The engine's `Log`
  call takes a URN and shows the line on that resource's row while it runs and
  under that resource in the diagnostics afterwards.  `ResourceProvider.create`
  is not told its URN, but the gRPC request the server is handling carries it.
  `current_urn()` finds that request by walking the calling thread's frames to
  the servicer method: every handler of a gRPC servicer has the signature
  `(self, request, context)`, the generated code fixes it, and the SDK's
  server is synchronous, so `provider.create` runs on the handler's thread
  below that frame.  Wrapping the handlers instead is not possible from here:
  the server binds them when it starts, before this package is even imported
  (the provider is unpickled during the first call), so a wrapper would have
  to be threaded into the running server's private handler tables.
  `log()` then sends the line with the SDK's own generated stubs to the engine
  address the engine passes to every provider plugin as its argument.

* **No orphaned provider.**  The engine starts a plugin in a process group of
  its own, through a shell script that waits for Python; when `pulumi` is
  killed (a CI timeout kills its group) the script and the provider live on,
  waiting for calls that never come.  `start_parent_watch()` starts a daemon
  thread that ends the process when its parent changes (the script died) or
  when the engine refuses connections (the CLI died).

Only the dynamic-provider process is affected (as in `_concurrency.py`).  If
the SDK no longer looks the way this expects, `current_urn()` returns None and
`log()` writes to stderr as before: lines land under the Stack again, nothing
fails.  `tests/unit/test_engine.py` fails loudly when a new SDK breaks these
assumptions.  `log()` forwards exactly the text it is given and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional

from ._concurrency import _in_dynamic_provider_process

# A Log call on the local engine answers in milliseconds; the bound only keeps a
# hung engine from stalling the provider's threads for long.
LOG_TIMEOUT = 5.0
# The watch looks every WATCH_INTERVAL seconds and ends the process once the
# engine refused WATCH_MISSES probes in a row: gone within about 3 s.
WATCH_INTERVAL = 1.0
WATCH_MISSES = 2
PROBE_TIMEOUT = 2.0

_ADDRESS = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}")
# Flags the engine may put before the address (`buildPluginArguments` in the
# engine's plugin launcher): `--logtostderr`, `--logflow`, `-v=N`, `--tracing URL`.
_FLAGS_WITH_VALUE = frozenset({"--tracing"})


# ------------------------------------------------------------------ the URN


def _servicer_base() -> Optional[type]:
    """The generated base class every resource provider servicer derives from."""
    try:
        from pulumi.runtime.proto import provider_pb2_grpc
    except ImportError:
        return None
    base = getattr(provider_pb2_grpc, "ResourceProviderServicer", None)
    return base if isinstance(base, type) else None


def current_urn() -> Optional[str]:
    """The URN of the provider call this thread is serving, or None.

    None outside a provider call (another thread, a plain `python` run, a
    test), for calls without a URN, and when the SDK no longer looks as
    expected.  Call it on the thread the SDK called the provider on, at the
    start of create/update/delete/read, and hand the URN to other threads.
    """
    try:
        servicer = _servicer_base()
        if servicer is None:
            return None
        frame = sys._getframe(1)
        while frame is not None:
            code = frame.f_code
            # `(self, request, context)`: a gRPC servicer method, or the SDK's
            # wrapper around one (both hold the same request).
            if code.co_argcount >= 3 and code.co_varnames[:2] == ("self", "request"):
                local = frame.f_locals
                if isinstance(local.get("self"), servicer):
                    urn = getattr(local.get("request"), "urn", None)
                    if isinstance(urn, str) and urn:
                        return urn
            frame = frame.f_back  # type: ignore[assignment]
    except Exception:
        return None
    return None


# ------------------------------------------------------------------ the engine


def engine_address(argv: Sequence[str]) -> Optional[str]:
    """The engine's address among a plugin's arguments: the first that is not a flag."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _FLAGS_WITH_VALUE:
            skip = True
        elif not arg.startswith("-"):
            return arg if _ADDRESS.fullmatch(arg) else None
    return None


class _Engine:
    """A channel to the engine's gRPC server, opened once per process."""

    def __init__(self, address: str) -> None:
        import grpc
        from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc

        self.address = address
        self._grpc: Any = grpc
        self._pb: Any = engine_pb2
        self._channel = grpc.insecure_channel(address)
        self._stub: Any = engine_pb2_grpc.EngineStub(self._channel)
        self._levels = {
            "debug": engine_pb2.DEBUG,
            "info": engine_pb2.INFO,
            "warning": engine_pb2.WARNING,
            "error": engine_pb2.ERROR,
        }

    def log(self, message: str, urn: str, severity: str, ephemeral: bool) -> bool:
        """Send one line; False when the engine did not take it."""
        request = self._pb.LogRequest(
            severity=self._levels.get(severity, self._pb.INFO),
            message=message,
            urn=urn,
            ephemeral=ephemeral,
        )
        try:
            self._stub.Log(request, timeout=LOG_TIMEOUT)
        except self._grpc.RpcError:
            return False
        return True

    def refuses(self) -> bool:
        """True when the engine's server cannot be reached at all.

        A slow or busy engine (a timeout, any other error) is not gone.
        `GetRootResource` only reads, and the engine serves it for its whole run.
        """
        try:
            self._stub.GetRootResource(self._pb.GetRootResourceRequest(), timeout=PROBE_TIMEOUT)
        except self._grpc.RpcError as exc:
            code = getattr(exc, "code", None)
            return callable(code) and code() == self._grpc.StatusCode.UNAVAILABLE
        return False

    def close(self) -> None:
        self._channel.close()


_lock = threading.Lock()
_engine: Optional[_Engine] = None
_engine_looked_up = False
_watch: Optional[threading.Thread] = None


def _connection() -> Optional[_Engine]:
    """The process's engine connection, or None outside the provider process."""
    global _engine, _engine_looked_up
    with _lock:
        if not _engine_looked_up:
            _engine_looked_up = True
            address = engine_address(sys.argv[1:]) if _in_dynamic_provider_process() else None
            if address is not None:
                try:
                    _engine = _Engine(address)
                except Exception:
                    _engine = None
        return _engine


def attach(address: Optional[str]) -> None:
    """Send progress lines to the engine at `address`: a provider plugin's
    process, which the engine starts with its address as the first argument."""
    global _engine, _engine_looked_up
    with _lock:
        _engine_looked_up = True
        if address is not None and _engine is None:
            try:
                _engine = _Engine(address)
            except Exception:
                _engine = None


def _reset() -> None:
    """Forget the connection (tests change the process's arguments)."""
    global _engine, _engine_looked_up
    with _lock:
        if _engine is not None:
            _engine.close()
        _engine, _engine_looked_up = None, False


def _stderr(message: str) -> None:
    # The engine shows a dynamic provider's stderr lines (under the Stack).
    # One write per call: lines from images waited on in parallel must not mix.
    text = "".join(f"zomro: {line}\n" for line in message.splitlines() or [""])
    sys.stderr.write(text)
    sys.stderr.flush()


def log(
    message: str, *, urn: Optional[str], severity: str = "info", ephemeral: bool = False
) -> None:
    """Show `message` on the row of the resource `urn`; never raises.

    `severity` is one of debug, info, warning, error (anything else is info;
    the CLI prefixes warnings and errors and counts the resource as errored
    for an error).  Every line also becomes the row's status in the live view,
    so nothing is sent twice; an `ephemeral` line shows there only and is left
    out of the diagnostics printed after the run.  Without an engine
    connection or a URN, or when the engine does not take the line, it goes to
    stderr as `zomro: <message>`.
    """
    try:
        if urn:
            engine = _connection()
            if engine is not None and engine.log(message, urn, severity, ephemeral):
                return
        _stderr(message)
    except Exception:
        # Logging must never fail a create; a closed stderr has nowhere to go.
        return


# ------------------------------------------------------------------ the watch


class _Watch:
    """Decides when the provider process has outlived its engine."""

    def __init__(
        self,
        parent: int,
        engine: Optional[_Engine],
        getppid: Callable[[], int] = os.getppid,
    ) -> None:
        self._parent = parent
        self._engine = engine
        self._getppid = getppid
        self._misses = 0

    def reason_to_exit(self) -> Optional[str]:
        """Why the process should end now, or None while its engine is there."""
        if self._parent > 1 and self._getppid() != self._parent:
            return f"its parent process {self._parent} is gone"
        if self._engine is not None:
            self._misses = self._misses + 1 if self._engine.refuses() else 0
            if self._misses >= WATCH_MISSES:
                return f"the Pulumi engine at {self._engine.address} is gone"
        return None

    def run(self, exit_: Callable[[int], Any] = os._exit) -> None:
        while True:
            try:
                reason = self.reason_to_exit()
            except Exception:
                reason = None
            if reason is not None:
                with contextlib.suppress(Exception):
                    _stderr(f"exiting: {reason}")
                exit_(1)
                return
            time.sleep(WATCH_INTERVAL)


def start_parent_watch() -> None:
    """End this provider process soon after the engine that started it is gone.

    Idempotent; does nothing outside the dynamic-provider process.  The process
    exits with `os._exit`: whatever it was doing was for an engine that can no
    longer receive the answer.
    """
    global _watch
    try:
        if not _in_dynamic_provider_process():
            return
        engine = _connection()
        with _lock:
            if _watch is not None:
                return
            watch = _Watch(os.getppid(), engine)
            _watch = threading.Thread(target=watch.run, name="zomro-engine-watch", daemon=True)
            _watch.start()
    except Exception:
        return
