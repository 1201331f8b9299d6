"""The provider as the engine drives it: through the SDK's own gRPC servicer.

The provider is pickled with the SDK's serializer (as `zomro.Image` does at
`pulumi up`), configured with a config map (as the engine's Configure call does),
then driven through Check, Diff, Create, Read, Update and Delete.
"""

from __future__ import annotations

import asyncio
import base64
import types
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic import dynamic as sdk_dynamic
from pulumi.runtime import proto, rpc

from zomro_pulumi import ImageProvider
from zomro_pulumi import provider as provider_module
from zomro_pulumi.errors import ReportedError

from .conftest import ENDPOINT, VALID, FakeApi

URN = "urn:pulumi:dev::demo::pulumi-python:dynamic/zomro:Image::img"
TOKEN = "tok-1"
PASSWORD = "s3cret-pass"


def load_servicer_class() -> type:
    """`pulumi.dynamic.__main__` starts a server when imported; run its source
    without the final `main()` call to get the servicer class itself."""
    import pulumi.dynamic

    source = (Path(pulumi.dynamic.__file__).parent / "__main__.py").read_text()
    assert source.rstrip().endswith("main()"), "pulumi.dynamic.__main__ changed shape"
    module = types.ModuleType("pulumi_dynamic_main_for_tests")
    exec(compile(source.rstrip()[: -len("main()")], "pulumi/dynamic/__main__.py", "exec"), module.__dict__)
    return module.DynamicResourceProviderServicer


class Context:
    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise AssertionError(f"provider call aborted: {code}: {details}")

    def set_code(self, code: Any) -> None: ...

    def set_details(self, details: str) -> None: ...


def struct(props: dict[str, Any]) -> struct_pb2.Struct:
    # A loop of its own: `asyncio.run` would leave the main thread without one
    # for the Pulumi mocks of later tests.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(props, {}))
    finally:
        loop.close()


def plain(value: struct_pb2.Struct) -> dict[str, Any]:
    return rpc.deserialize_properties(value)


@pytest.fixture
def servicer(api: FakeApi, monkeypatch: pytest.MonkeyPatch) -> Any:
    # Nothing about the API in the environment: the stack config must carry it.
    for key in ("ZOMRO_ENDPOINT", "ZOMRO_AUTH_TOKEN"):
        monkeypatch.delenv(key)
    servicer_cls = load_servicer_class()
    servicer = servicer_cls()
    # The engine sends the whole stack config; secrets arrive decrypted.
    servicer.Configure(
        proto.ConfigureRequest(
            args=struct({"zomro:endpoint": ENDPOINT, "zomro:authToken": TOKEN, "demo:other": "x"})
        ),
        Context(),
    )
    return servicer


@pytest.fixture
def blob() -> str:
    return sdk_dynamic.serialize_provider(ImageProvider())


def test_pickled_provider_carries_no_credentials_even_after_configure(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZOMRO_AUTH_TOKEN", "env-token-abcdef")
    monkeypatch.setenv("ZOMRO_PASSWORD", "env-password-abcdef")
    api.tokens.add("cfg-token-abcdef")
    image_id = api.add_image(image_name="Ubuntu24", url=VALID["url"])
    prov = ImageProvider()
    config = {"zomro:authToken": "cfg-token-abcdef", "zomro:password": "cfg-password-abcdef"}
    prov.configure(sdk_dynamic.ConfigureRequest(sdk_dynamic.Config(config, "demo")))
    assert prov.read(image_id, dict(VALID)).id == image_id  # a client with a session exists now
    assert api.calls[0]["auth"] == "cfg-token-abcdef"
    raw = base64.b64decode(sdk_dynamic.serialize_provider(prov))
    for secret in ("env-token-abcdef", "env-password-abcdef", "cfg-token-abcdef", "cfg-password-abcdef"):
        assert secret.encode() not in raw
    assert b"zomro_pulumi.provider" in raw and b"ImageProvider" in raw  # pickled by reference


def test_full_lifecycle_through_the_servicer(servicer: Any, blob: str, api: FakeApi) -> None:
    # The provider the servicer unpickles runs on the real clock: an image that
    # is Active at once keeps the waits to one round each.
    api.lifecycle = ["Active"]
    ctx = Context()
    news = {k: v for k, v in VALID.items() if k not in ("min_disk", "min_ram", "pricelist", "order_period")}
    news.update({"__provider": blob, "image_id": None, "status": None})

    checked = servicer.Check(proto.CheckRequest(urn=URN, olds=struct({}), news=struct(news)), ctx)
    assert list(checked.failures) == []
    inputs = plain(checked.inputs)
    assert inputs["min_disk"] == 1 and inputs["pricelist"] == "6854"
    # the only call of a check: the account's credentials, tried once a run
    assert [c["func"] for c in api.calls] == ["whoami"]
    servicer.Check(proto.CheckRequest(urn=URN, olds=struct({}), news=struct(news)), ctx)
    assert len(api.calls) == 1

    created = servicer.Create(proto.CreateRequest(urn=URN, properties=struct(inputs)), ctx)
    assert created.id == "5206259"
    outs = plain(created.properties)
    assert outs["status"] == "Active" and outs["__provider"] == blob
    assert TOKEN not in str(outs)

    calls_before = len(api.calls)
    same = servicer.Diff(
        proto.DiffRequest(id=created.id, urn=URN, olds=struct(outs), news=struct(inputs)), ctx
    )
    assert same.changes == proto.DiffResponse.DIFF_NONE

    renamed = {**inputs, "image_name": "Ubuntu24-b", "min_ram": 2}
    diff = servicer.Diff(
        proto.DiffRequest(id=created.id, urn=URN, olds=struct(outs), news=struct(renamed)), ctx
    )
    assert diff.changes == proto.DiffResponse.DIFF_SOME and list(diff.replaces) == []
    moved = {**inputs, "region": "Netherlands-1"}
    diff = servicer.Diff(
        proto.DiffRequest(id=created.id, urn=URN, olds=struct(outs), news=struct(moved)), ctx
    )
    assert list(diff.replaces) == ["region"]
    assert len(api.calls) == calls_before  # diff makes no API call

    updated = servicer.Update(
        proto.UpdateRequest(id=created.id, urn=URN, olds=struct(outs), news=struct(renamed)), ctx
    )
    outs = plain(updated.properties)
    assert outs["image_name"] == "Ubuntu24-b" and outs["min_ram"] == 2

    read = servicer.Read(proto.ReadRequest(id=created.id, urn=URN, properties=struct(outs)), ctx)
    assert read.id == created.id
    assert plain(read.inputs)["image_name"] == "Ubuntu24-b"

    servicer.Delete(proto.DeleteRequest(id=created.id, urn=URN, properties=struct(outs)), ctx)
    assert api.images == {}
    read = servicer.Read(proto.ReadRequest(id=created.id, urn=URN, properties=struct(outs)), ctx)
    assert read.id == ""


def test_check_failures_reach_the_engine(servicer: Any, blob: str, api: FakeApi) -> None:
    news = {**VALID, "disk_format": "docx", "min_ram": -2, "__provider": blob}
    checked = servicer.Check(proto.CheckRequest(urn=URN, olds=struct({}), news=struct(news)), Context())
    failures = {f.property: f.reason for f in checked.failures}
    assert set(failures) == {"disk_format", "min_ram"}
    assert "qcow2" in failures["disk_format"]
    assert [c["func"] for c in api.calls] == ["whoami"]  # nothing about images


def test_config_beats_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("ZOMRO_AUTH_TOKEN", "from-env")
    monkeypatch.setenv("ZOMRO_ENDPOINT", "http://127.0.0.1:1/")
    settings = provider_module.ProviderSettings.load(
        {"zomro:authToken": "from-config"}.get
    )
    assert settings.token == "from-config" and settings.endpoint == "http://127.0.0.1:1/"
    assert "from-config" not in repr(settings)
    monkeypatch.delenv("ZOMRO_ENDPOINT")
    assert provider_module.ProviderSettings.load().endpoint == "https://api.zomro.com/"


def test_provider_without_credentials_fails_at_check_and_sends_nothing(
    api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ZOMRO_AUTH_TOKEN")
    prov = ImageProvider()
    prov.configure(sdk_dynamic.ConfigureRequest(sdk_dynamic.Config({}, "demo")))
    (failure,) = prov.check({}, {**VALID, "__provider": "b"}).failures
    assert failure.property == "zomro:authToken"
    with pytest.raises(ReportedError) as info:
        prov.create(dict(VALID))
    assert "zomro:authToken" in str(info.value.__cause__)
    assert api.calls == []
