"""`pulumi-resource-zomro`: the provider plugin, for programs in any Pulumi
language (YAML first).

A second mapping onto the same core as the dynamic provider (`provider.py`):
both translate Pulumi's messages to and from the plain values of
`operations.py`, which does the work once.  It is served by the Pulumi SDK's
own provider server (`pulumi.provider.experimental`), which speaks the
engine's gRPC protocol.  Its methods are `async`: the blocking work runs in a
thread pool of `maxConcurrency` workers, so the creates of a program run at
once instead of one after another on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Optional, TypeVar

from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.provider import (
    CheckFailure,
    CheckRequest,
    CheckResponse,
    ConfigureRequest,
    ConfigureResponse,
    CreateRequest,
    CreateResponse,
    DeleteRequest,
    DiffRequest,
    DiffResponse,
    GetSchemaRequest,
    GetSchemaResponse,
    InvokeRequest,
    InvokeResponse,
    PropertyDiff,
    PropertyDiffKind,
    Provider,
    ReadRequest,
    ReadResponse,
    UpdateRequest,
    UpdateResponse,
)
from pulumi.runtime import rpc

from . import __version__, _engine, _serve, schema
from .clock import SYSTEM_CLOCK, Clock
from .errors import ZomroError
from .fields import respell
from .lifecycle import WARNING
from .operations import ImageOperations, Request
from .poller import DEFAULT_SCHEDULE, Schedule
from .settings import STACK_CONFIG, Place, ProviderSettings

T = TypeVar("T")
# A value the engine does not know yet (a preview): how the operations see it,
# and how it goes back (the SDK cannot marshal its own `computed()`).
UNKNOWN = rpc.UNKNOWN


def _is_unknown(value: Any) -> bool:
    return value is UNKNOWN or value == UNKNOWN


def plain(value: PropertyValue) -> Any:
    """A property value as the operations take it (secrets unwrapped)."""
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if isinstance(inner, Mapping):
        return {k: plain(v) for k, v in inner.items()}
    if isinstance(inner, Sequence) and not isinstance(inner, str):
        return [plain(v) for v in inner]
    return inner


def wrap(value: Any) -> PropertyValue:
    """A plain value as a property value (numbers travel as floats)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return PropertyValue(value)
    if isinstance(value, (int, float)):
        return PropertyValue(float(value))
    if isinstance(value, PropertyValue):
        return value
    if isinstance(value, Mapping):
        return PropertyValue({k: wrap(v) for k, v in value.items()})
    if isinstance(value, Sequence):
        return PropertyValue([wrap(v) for v in value])
    return PropertyValue(str(value))


def fields_of(props: Mapping[str, PropertyValue]) -> dict[str, Any]:
    """Schema properties (camelCase) as field-table values."""
    return {schema.python_name(k): plain(v) for k, v in props.items()}


def props_of(values: Mapping[str, Any]) -> dict[str, PropertyValue]:
    """Field-table values as schema properties."""
    return {schema.camel(k): wrap(v) for k, v in values.items()}


def _kind(name: str, olds: Mapping[str, Any], news: Mapping[str, Any], replaces: bool) -> PropertyDiffKind:
    if olds.get(name) is None:
        return PropertyDiffKind.ADD_REPLACE if replaces else PropertyDiffKind.ADD
    if news.get(name) is None:
        return PropertyDiffKind.DELETE_REPLACE if replaces else PropertyDiffKind.DELETE
    return PropertyDiffKind.UPDATE_REPLACE if replaces else PropertyDiffKind.UPDATE


class ZomroProvider(Provider):
    """The plugin's provider: one per plugin process, serving a whole run."""

    def __init__(
        self, version: str = __version__, clock: Clock = SYSTEM_CLOCK, schedule: Schedule = DEFAULT_SCHEDULE
    ) -> None:
        self._schema = schema.text(version)
        self._ops = ImageOperations(clock, schedule, functools.partial(_engine.log, urn=None))
        self._pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="zomro")
        self._place = STACK_CONFIG

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn` in the pool; its errors name and set inputs as the program writes them."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        except ZomroError as exc:
            exc.message = respell(exc.message, schema.camel)
            raise

    @staticmethod
    def _request(urn: Optional[str]) -> Request:
        def say(message: str) -> None:
            message = respell(message, schema.camel)
            if message.startswith(WARNING):
                _engine.log(message[len(WARNING) :], urn=urn, severity="warning")
            else:
                _engine.log(message, urn=urn)

        return Request(say, urn or None)

    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        """The package schema, written from the field table."""
        return GetSchemaResponse(schema=self._schema)

    async def check_config(self, request: CheckRequest) -> CheckResponse:
        """Learns which provider this process serves, for messages (the engine
        names a program's default provider `default` or `default_<version>`; any
        other name is an explicit `pulumi:providers:zomro` resource), and keeps
        its credentials secret in the state."""
        name = request.urn.rsplit("::", 1)[-1]
        self._place = STACK_CONFIG if name == "default" or name.startswith("default_") else Place(name)
        # A password written in the program in clear goes into the state as a secret.
        secret = schema.secret_config()
        inputs = {k: v.with_secret(True) if k in secret else v for k, v in request.new_inputs.items()}
        return CheckResponse(inputs=inputs)

    async def configure(self, request: ConfigureRequest) -> ConfigureResponse:
        """The stack's `zomro:*` config, or an explicit provider's arguments."""
        # Variables may come as `zomro:config:endpoint` (the engine's older spelling).
        config: dict[str, Any] = {k.replace(":config:", ":"): v for k, v in request.variables.items()}
        for key, value in request.args.items():
            given = plain(value)
            if given is not None and not _is_unknown(given):
                config.setdefault(f"zomro:{key}", json.dumps(given) if isinstance(given, dict) else str(given))
        self._ops.configure(config.get, self._place)
        workers = ProviderSettings.load(config.get).max_concurrency
        self._pool.shutdown(wait=False)
        self._pool = ThreadPoolExecutor(max_workers=max(4, workers), thread_name_prefix="zomro")
        return ConfigureResponse(accept_secrets=True, supports_preview=False)

    async def invoke(self, request: InvokeRequest) -> InvokeResponse:
        """`zomro:index:getImages`: the account's images, filtered."""
        if request.tok != schema.GET_IMAGES:
            raise NotImplementedError(f"unknown function {request.tok!r}; this provider has {schema.GET_IMAGES}")
        args = fields_of(request.args)
        found = await self._run(
            self._ops.images, args.get("region"), args.get("image_name"), args.get("account")
        )
        return InvokeResponse(return_value={"images": wrap([props_of(image) for image in found])})

    async def check(self, request: CheckRequest) -> CheckResponse:
        olds, news = fields_of(request.old_inputs), fields_of(request.new_inputs)
        checked = await self._run(self._ops.check, olds, news, _is_unknown)
        # A setting's failure names its key in the reason: its key is no input.
        failures = [
            CheckFailure(schema.camel(name) if name and ":" not in name else "", respell(reason, schema.camel))
            for name, reason in checked.failures
        ]
        return CheckResponse(inputs=props_of(checked.inputs), failures=failures)

    async def diff(self, request: DiffRequest) -> DiffResponse:
        olds, news = fields_of(request.old_state), fields_of(request.new_inputs)
        diffed = await self._run(
            self._ops.diff, request.resource_id, olds, news, _is_unknown, self._request(request.urn)
        )
        detailed = {
            schema.camel(name): PropertyDiff(_kind(name, olds, news, name in diffed.replaces), True)
            for name in diffed.changed
        }
        return DiffResponse(
            changes=bool(diffed.changed),
            replaces=[schema.camel(name) for name in diffed.replaces],
            stables=["imageId"],
            delete_before_replace=False,
            detailed_diff=detailed,
        )

    async def create(self, request: CreateRequest) -> CreateResponse:
        stored = await self._run(
            self._ops.create, fields_of(request.properties), self._request(request.urn), request.timeout
        )
        return CreateResponse(resource_id=stored.id, properties=props_of(stored.outs))

    async def read(self, request: ReadRequest) -> ReadResponse:
        props = {**fields_of(request.inputs), **fields_of(request.properties)}
        stored = await self._run(self._ops.read, request.resource_id, props, self._request(request.urn))
        if stored is None:
            return ReadResponse(resource_id="")
        return ReadResponse(
            resource_id=stored.id, properties=props_of(stored.outs), inputs=props_of(stored.inputs or {})
        )

    async def update(self, request: UpdateRequest) -> UpdateResponse:
        stored = await self._run(
            self._ops.update, request.resource_id, fields_of(request.olds), fields_of(request.news),
            self._request(request.urn),
        )
        return UpdateResponse(properties=props_of(stored.outs))

    async def delete(self, request: DeleteRequest) -> None:
        await self._run(
            self._ops.delete, request.resource_id, fields_of(request.properties), self._request(request.urn)
        )


def main(argv: Optional[list[str]] = None) -> None:
    """The plugin's entry point: the engine starts it with its own address."""
    args = sys.argv[1:] if argv is None else argv
    _engine.attach(_engine.engine_address(args))
    _serve.main(args, __version__, ZomroProvider())
