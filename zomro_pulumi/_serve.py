"""Serve the plugin with the SDK's own provider servicer, an error shown as its
message alone.

The SDK's servicer (`pulumi.provider.experimental.server.ProviderServicer`)
turns every error of a provider method into a new `Exception` whose text is the
message followed by the Python stack, and the engine prints all of it under the
resource: a user whose create timed out reads twenty lines of frames after the
one sentence that says what happened and that nothing is left behind.  The
dynamic provider shows the sentence alone; so does the plugin, served here by a
subclass of that servicer whose methods end the call with the original
exception's message (the SDK's wrapper raises its own exception while handling
the original, so Python keeps the original as its `__context__`).

Older SDKs (the floor of `pyproject.toml`) raise the provider's error itself,
which goes out as it is.  If the SDK stops chaining the original, the message
goes out as the SDK wrote it, stack and all: nothing fails.
`tests/unit/test_serve.py` fails loudly then.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Awaitable
from typing import Any, Callable

import grpc
import grpc.aio
from pulumi.provider.experimental import server
from pulumi.provider.experimental.provider import Provider
from pulumi.runtime.proto import provider_pb2_grpc

# The engine's messages can be large (a schema, a big state): as the SDK allows.
OPTIONS = [
    ("grpc.max_receive_message_length", 400 * 1024 * 1024),
    ("grpc.server_max_unrequested_time_in_server", 30 * 60),
]
# The servicer's methods that call the provider and may fail with its error.
RPCS = (
    "GetSchema", "CheckConfig", "DiffConfig", "Configure", "Invoke",
    "Check", "Diff", "Create", "Read", "Update", "Delete",
)
Handler = Callable[[Any, Any, Any], Awaitable[Any]]


def message(exc: BaseException) -> str:
    """What the user reads: the provider's own message, without the stack the
    SDK's wrapper appended to it."""
    original = exc.__context__
    if original is not None and str(exc).startswith(f"{original}:\n"):
        return str(original)
    return str(exc)


def _plainly(inner: Handler) -> Handler:
    async def handler(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await inner(self, request, context)
        except NotImplementedError:
            raise
        except Exception as exc:
            await context.abort(grpc.StatusCode.UNKNOWN, message(exc))

    return handler


class Servicer(server.ProviderServicer):
    """The SDK's servicer; its errors carry the provider's message alone."""


for _name in RPCS:
    setattr(Servicer, _name, _plainly(getattr(server.ProviderServicer, _name)))


def main(args: list[str], version: str, provider: Provider) -> None:
    """Serve `provider` on a free local port, printed for the engine, as the
    SDK's `server.main` does."""
    parser = argparse.ArgumentParser(description="Pulumi provider plugin (gRPC server)")
    parser.add_argument("engine", help="Pulumi engine address")
    known, _ = parser.parse_known_args(args)

    async def serve() -> None:
        grpc_server = grpc.aio.server(options=OPTIONS)
        servicer = Servicer(args, version, provider, engine_address=known.engine)
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, grpc_server)
        port = grpc_server.add_insecure_port(address="127.0.0.1:0")
        await grpc_server.start()
        sys.stdout.buffer.write(f"{port}\n".encode())
        sys.stdout.buffer.flush()
        await grpc_server.wait_for_termination()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
