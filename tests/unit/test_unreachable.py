"""An endpoint that cannot be reached fails at once, naming it and the likely cause;
an order to it is not uncertain."""

from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from zomro_pulumi import ZomroClient
from zomro_pulumi.clock import FakeClock
from zomro_pulumi.errors import EndpointUnreachable, UncertainOrderError


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_closed_endpoint_is_named_and_not_retried_by_the_call_loop(closed_port: int) -> None:
    clock = FakeClock()
    endpoint = f"http://127.0.0.1:{closed_port}/"
    client = ZomroClient(endpoint, token="tok-abcdef", clock=clock)
    with pytest.raises(EndpointUnreachable) as info:
        client.list_images()
    assert endpoint in str(info.value) and "connection refused" in str(info.value)
    assert "tok-abcdef" not in str(info.value)
    assert clock.sleeps == []  # no backoff rounds on top of the connection's own tries


def test_an_order_that_never_left_is_not_an_uncertain_order(closed_port: int) -> None:
    client = ZomroClient(f"http://127.0.0.1:{closed_port}/", token="tok-abcdef", clock=FakeClock())
    with pytest.raises(EndpointUnreachable) as info:
        client.order_image({"image_name": "x"})
    assert not isinstance(info.value, UncertainOrderError)


@pytest.fixture
def plain_http_port() -> Iterator[int]:
    """A plain-http server on loopback (what the emulator is)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def untrusted_tls_port(tmp_path: Path) -> Iterator[int]:
    """An https server whose certificate nobody trusts (self-signed)."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()


def _fails_fast(endpoint: str, cause: str) -> None:
    client = ZomroClient(endpoint, token="tok-abcdef")
    started = time.monotonic()
    with pytest.raises(EndpointUnreachable) as info:
        client.list_images()
    elapsed = time.monotonic() - started
    message = str(info.value)
    assert elapsed < 5, f"took {elapsed:.1f}s"
    assert endpoint in message and cause in message, message
    assert "tok-abcdef" not in message and "\n" not in message


def test_https_to_a_plain_http_server_says_so_at_once(plain_http_port: int) -> None:
    _fails_fast(f"https://127.0.0.1:{plain_http_port}/", "does not speak https")


def test_an_untrusted_certificate_says_so_at_once(untrusted_tls_port: int) -> None:
    _fails_fast(f"https://127.0.0.1:{untrusted_tls_port}/", "certificate is not trusted")


def test_an_unknown_host_says_so_at_once() -> None:
    _fails_fast("https://zomro-api.invalid/", "host name not found")


def test_a_refused_port_says_so_at_once(closed_port: int) -> None:
    _fails_fast(f"http://127.0.0.1:{closed_port}/", "connection refused")
