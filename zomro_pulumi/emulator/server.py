"""The WSGI application (API on ``POST /``, admin under ``/_emulator/``), fault
injection, and a threaded loopback HTTP server to run it in the background.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import sys
import threading
import time
from types import TracebackType
from typing import Any, Callable, Optional

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from .admin import Admin
from .api import ORDER_FUNC, Api, ApiResult, is_mutating, running_operation
from .config import EmulatorConfig, validate
from .state import EmulatorState, Fault

ADMIN_PREFIX = "/_emulator"
#: Form fields never written anywhere (request log, stdout).
SECRET_FIELDS = ("auth", "password", "authinfo")
MASK = "***"

StartResponse = Callable[..., Any]


class _ConnectionDropped(ConnectionError):
    """Raised to make werkzeug abandon the request silently (the "drop" fault)."""


def mask_form(form: dict[str, str]) -> dict[str, str]:
    """A copy of the form with credentials replaced by ``***``."""
    return {k: (MASK if k in SECRET_FIELDS else v) for k, v in form.items()}


def _json(data: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json"
    )


def _answer(result: ApiResult) -> Response:
    """An API result as HTTP: its JSON document, or its HTML page."""
    if result.doc is not None:
        return _json(result.doc)
    return Response(result.page, status=result.status, mimetype="text/html")


class EmulatorApp:
    """The WSGI application: routes, counts, logs and injects faults."""

    def __init__(self, config: EmulatorConfig) -> None:
        config = config.copy()
        validate(config)
        self.state = EmulatorState(config)
        self.api = Api(self.state)
        self.admin = Admin(self.state)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        request = Request(environ)
        path = request.path
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            response = self.admin.handle(request, path[len(ADMIN_PREFIX) + 1 :])
        elif path != "/":
            response = Response("Not Found\n", status=404, mimetype="text/plain")
        elif request.method != "POST":
            response = Response(
                "Method Not Allowed: use POST\n",
                status=405,
                mimetype="text/plain",
                headers={"Allow": "POST"},
            )
        else:
            response = self._api(request)
        return response(environ, start_response)

    def _api(self, request: Request) -> Response:
        with self.state.lock:
            latency = self.state.config.latency_ms
        if latency:
            time.sleep(latency / 1000)
        form = request.args.to_dict()
        form.update(request.form.to_dict())
        func = form.get("func", "")
        fault = self.state.begin_request(func, is_mutating(func, form))
        if func == ORDER_FUNC and self.state.lose_order(form.get("image_name", "")):
            fault = Fault(kind="5xx", code=502)
            lands_after = self.state.config.lost_order_lands_after
            if lands_after == 0:
                fault.after_change = True
            elif lands_after is not None:
                self.state.later(lands_after, lambda: self.api.handle(form, time.time(), Fault()))
        if fault.late == "act":  # the change itself is late (no lock is held here)
            time.sleep(fault.late_s)
        stamp = time.time()
        entry: dict[str, Any] = {
            "seq": 0,  # set by record(); first key so the log reads well
            "time": round(stamp, 3),
            "func": func,
            "form": mask_form(form),
        }

        result: Optional[ApiResult] = None
        if fault.kind is None or fault.after_change:
            result = self.api.handle(form, stamp, fault)
        if fault.kind is None:
            assert result is not None
            entry["outcome"] = result.outcome
            entry.update(result.notes)
            if fault.late:
                entry["late"] = fault.late
            response = _answer(result)
        elif fault.kind == "runningoperation":
            entry["outcome"] = "fault:runningoperation"
            response = _json(running_operation().envelope(func))
        else:
            entry["outcome"] = f"fault:{fault.kind}"
            entry["fault_after_change"] = fault.after_change
            if result is not None:
                entry["result"] = result.outcome
            code = fault.code
            title = "Bad Gateway" if code == 502 else "Service Unavailable"
            response = Response(
                f"<html><head><title>{code} {title}</title></head>"
                f"<body><h1>{code} {title}</h1></body></html>\n",
                status=code,
                mimetype="text/html",
            )
        seq = self.state.record(entry)
        if self.state.config.log_requests:
            print(f"[zomro-emulator] #{seq} func={func or '-'} -> {entry['outcome']}", flush=True)
        if fault.late == "answer":  # the change is made and logged; its answer is late
            time.sleep(fault.late_s)
        if fault.kind == "drop":
            self._drop(request.environ)
        return response

    @staticmethod
    def _drop(environ: dict[str, Any]) -> None:
        """Close the connection without any HTTP answer."""
        sock = environ.get("werkzeug.socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        raise _ConnectionDropped("emulated dropped connection")


class _QuietHandler(WSGIRequestHandler):
    """No access log: query strings could carry credentials, and tests want quiet."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadedWSGIServer):
    """Threaded werkzeug server that does not print tracebacks for dead sockets."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class EmulatorServer:
    """The emulator on a loopback port, served from a background thread.

    ``EmulatorServer(EmulatorConfig(port=0)).start()`` or, shorter,
    ``EmulatorServer(port=0).start()``; keyword arguments override config fields.
    """

    def __init__(self, config: Optional[EmulatorConfig] = None, **overrides: Any) -> None:
        config = config or EmulatorConfig()
        self.config = dataclasses.replace(config.copy(), **overrides)
        self.app = EmulatorApp(self.config)
        self.state = self.app.state
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    def start(self) -> EmulatorServer:
        """Bind the port and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("the emulator is already running")
        try:
            server = _Server(self.config.host, self.config.port, self.app, _QuietHandler)
        except SystemExit:  # werkzeug exits when it cannot bind
            raise OSError(f"cannot listen on {self.config.host}:{self.config.port}") from None
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="zomro-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (safe to call twice)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def port(self) -> int:
        """The bound port (the real one when configured with port 0)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.port)

    @property
    def url(self) -> str:
        """Base URL of the API, e.g. ``http://127.0.0.1:8765/``."""
        host = self.config.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    @property
    def admin_url(self) -> str:
        """Base URL of the admin side, ``<url>_emulator/``."""
        return self.url + "_emulator/"

    def __enter__(self) -> EmulatorServer:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()
