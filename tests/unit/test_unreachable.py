"""An endpoint nobody answers at fails at once, naming it; an order to it is not uncertain."""

from __future__ import annotations

import socket

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
