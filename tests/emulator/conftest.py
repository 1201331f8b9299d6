"""Fixtures: a fresh emulator on a free loopback port per test, and a client of it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from zomro_pulumi.emulator import EmulatorConfig, EmulatorServer

from .helpers import FAST, Client


@pytest.fixture
def make_server() -> Iterator[Any]:
    """Factory for started emulators (config overrides as keywords); all stopped after."""
    started: list[EmulatorServer] = []

    def make(**overrides: Any) -> EmulatorServer:
        config = EmulatorConfig(port=0, **{**FAST, **overrides})
        server = EmulatorServer(config).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def emu(make_server: Any) -> EmulatorServer:
    """A running emulator with fast lifecycle delays."""
    return make_server()


@pytest.fixture
def client(emu: EmulatorServer) -> Client:
    """A client of ``emu``."""
    return Client(emu)


@pytest.fixture
def make_client(make_server: Any) -> Any:
    """Factory: an emulator with the given config and a client of it."""

    def make(**overrides: Any) -> Client:
        return Client(make_server(**overrides))

    return make
