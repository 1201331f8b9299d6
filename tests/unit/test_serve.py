"""The plugin's servicer: an error of a provider method reaches the engine as
its message alone, as the dynamic provider shows it, not with the Python stack
the SDK's own servicer appends."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from pulumi.provider.experimental.provider import CreateRequest, CreateResponse, Provider
from pulumi.runtime.proto import provider_pb2

from zomro_pulumi import _serve
from zomro_pulumi.errors import ZomroError

SAID = "image 7 (web) never became Active. Image 7 was deleted, so nothing is left behind"


class Aborted(Exception):
    pass


class Context:
    """What a gRPC servicer context does on abort: remember, then raise."""

    def __init__(self) -> None:
        self.aborted: tuple[Any, str] | None = None

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.aborted = (code, details)
        raise Aborted(details)


class Failing(Provider):
    async def create(self, request: CreateRequest) -> CreateResponse:
        raise ZomroError(SAID)


def create(servicer: Any, context: Context) -> None:
    request = provider_pb2.CreateRequest(urn="urn:pulumi:dev::p::zomro:index:Image::web")
    asyncio.run(servicer.Create(request, context))


def test_an_error_reaches_the_engine_as_its_message_alone() -> None:
    context = Context()
    with pytest.raises(Aborted):
        create(_serve.Servicer([], "0.0.0", Failing(), engine_address="127.0.0.1:1"), context)
    assert context.aborted == (grpc.StatusCode.UNKNOWN, SAID)


def test_what_the_sdk_servicer_raises_comes_back_to_the_message() -> None:
    """Newer SDKs append the stack (older ones raise the error itself): either
    way the message is found again. Fails when the SDK reports errors another
    way: then look at `_serve.message`."""
    with pytest.raises(Exception) as raised:
        create(_serve.server.ProviderServicer([], "0.0.0", Failing(), engine_address="127.0.0.1:1"), Context())
    assert str(raised.value).startswith(SAID)
    assert _serve.message(raised.value) == SAID


def test_every_method_the_subclass_replaces_is_one_of_the_sdk_servicer() -> None:
    for name in _serve.RPCS:
        assert callable(getattr(_serve.server.ProviderServicer, name)), name
        assert getattr(_serve.Servicer, name) is not getattr(_serve.server.ProviderServicer, name)
