"""`_engine`: the URN of the call being served, logging under it, and the engine watch.

The tests named `test_sdk_…` and `test_real_provider_process_…` guard what the
module relies on in the Pulumi SDK and fail loudly when a new SDK changes it:
they run the SDK's own dynamic provider server (`python -m pulumi.dynamic`, the
command the engine runs) against a fake engine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any, Optional

import grpc
import pytest
from google.protobuf import struct_pb2
from pulumi.dynamic import (
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2, provider_pb2_grpc

from zomro_pulumi import _engine

ROOT = Path(__file__).resolve().parents[2]
REVIEW = "review zomro_pulumi/_engine.py"
URN_A = "urn:pulumi:dev::proj::pulumi-python:dynamic/zomro:Image::a"
URN_B = "urn:pulumi:dev::proj::pulumi-python:dynamic/zomro:Image::b"


# ------------------------------------------------------------------ a fake engine


class FakeEngine(engine_pb2_grpc.EngineServicer):
    """The engine's gRPC service, recording every Log call."""

    def __init__(self, *, probe_delay: float = 0.0) -> None:
        self.logs: list[engine_pb2.LogRequest] = []
        self.probes = 0
        self.probe_delay = probe_delay
        self._lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        engine_pb2_grpc.add_EngineServicer_to_server(self, self.server)
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.address = f"127.0.0.1:{self.port}"
        self.server.start()

    def Log(self, request: engine_pb2.LogRequest, context: Any) -> Any:
        with self._lock:
            self.logs.append(request)
        from google.protobuf import empty_pb2

        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> Any:
        self.probes += 1
        time.sleep(self.probe_delay)
        return engine_pb2.GetRootResourceResponse(urn="")

    def lines(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(r.urn, r.message) for r in self.logs]

    def stop(self) -> None:
        self.server.stop(0).wait()


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    fake = FakeEngine()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def in_provider_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process looks like the dynamic provider the engine started."""
    fake_main = types.ModuleType("__main__")
    fake_main.__spec__ = types.SimpleNamespace(name="pulumi.dynamic.__main__")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    _engine._reset()
    yield
    _engine._reset()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ------------------------------------------------------------------ current_urn


class FakeServicer(provider_pb2_grpc.ResourceProviderServicer):
    """A servicer whose Create calls provider code a few frames down."""

    def Create(self, request: Any, context: Any) -> Any:
        return self._provider_create()

    def _provider_create(self) -> Optional[str]:
        return (lambda: _engine.current_urn())()


class NotAServicer:
    def Create(self, request: Any, context: Any) -> Optional[str]:
        return _engine.current_urn()


def test_current_urn_inside_a_servicer_call() -> None:
    request = provider_pb2.CreateRequest(urn=URN_A)
    assert FakeServicer().Create(request, None) == URN_A


def test_current_urn_outside_any_call_is_none() -> None:
    assert _engine.current_urn() is None


def test_current_urn_of_a_call_without_urn_is_none() -> None:
    assert FakeServicer().Create(provider_pb2.CreateRequest(), None) is None


def test_current_urn_only_for_provider_servicers() -> None:
    assert NotAServicer().Create(provider_pb2.CreateRequest(urn=URN_A), None) is None


def test_current_urn_is_per_thread() -> None:
    seen: list[Optional[str]] = []

    class Spawning(provider_pb2_grpc.ResourceProviderServicer):
        def Create(self, request: Any, context: Any) -> Any:
            worker = threading.Thread(target=lambda: seen.append(_engine.current_urn()))
            worker.start()
            worker.join()
            return _engine.current_urn()

    assert Spawning().Create(provider_pb2.CreateRequest(urn=URN_B), None) == URN_B
    assert seen == [None]


def test_current_urn_fails_soft_when_the_sdk_moves(monkeypatch: pytest.MonkeyPatch) -> None:
    request = provider_pb2.CreateRequest(urn=URN_A)
    monkeypatch.setattr(_engine, "_servicer_base", lambda: None)
    assert FakeServicer().Create(request, None) is None

    def broken() -> type:
        raise RuntimeError("moved")

    monkeypatch.setattr(_engine, "_servicer_base", broken)
    assert FakeServicer().Create(request, None) is None


# ------------------------------------------------------------------ engine_address


@pytest.mark.parametrize(
    ("argv", "address"),
    [
        (["127.0.0.1:4567"], "127.0.0.1:4567"),
        (["--logtostderr", "-v=9", "127.0.0.1:4567"], "127.0.0.1:4567"),
        (["--tracing", "file:/tmp/t.json", "127.0.0.1:4567"], "127.0.0.1:4567"),
        (["--tracing=file:/tmp/t.json", "localhost:80"], "localhost:80"),
        (["[::1]:4567"], "[::1]:4567"),
        ([], None),
        (["--logtostderr"], None),
        (["not an address"], None),
    ],
)
def test_engine_address_is_the_first_plain_argument(
    argv: list[str], address: Optional[str]
) -> None:
    assert _engine.engine_address(argv) == address


# ------------------------------------------------------------------ log


def test_log_without_urn_goes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    _engine.log("image 5 (Ubuntu24): Saving after 2s", urn=None)
    _engine.log("two\nlines", urn="")
    assert capsys.readouterr().err == (
        "zomro: image 5 (Ubuntu24): Saving after 2s\nzomro: two\nzomro: lines\n"
    )


def test_log_outside_the_provider_process_goes_to_stderr(
    capsys: pytest.CaptureFixture[str], engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["pytest", engine.address])
    _engine._reset()
    _engine.log("hello", urn=URN_A)
    assert capsys.readouterr().err == "zomro: hello\n"
    assert engine.lines() == []


def test_log_sends_the_line_to_the_engine_under_the_urn(
    capsys: pytest.CaptureFixture[str],
    engine: FakeEngine,
    in_provider_process: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys, "argv", ["__main__.py", "--logtostderr", "-v=9", engine.address])
    _engine.log("image 5 (Ubuntu24): Saving after 2s", urn=URN_A)
    _engine.log("careful", urn=URN_B, severity="warning")
    _engine.log("still Saving", urn=URN_A, ephemeral=True)
    _engine.log("odd severity", urn=URN_B, severity="loud")
    _engine.log("no urn", urn=None)
    got = [(r.urn, r.message, r.severity, r.ephemeral) for r in engine.logs]
    assert got == [
        (URN_A, "image 5 (Ubuntu24): Saving after 2s", engine_pb2.INFO, False),
        (URN_B, "careful", engine_pb2.WARNING, False),
        (URN_A, "still Saving", engine_pb2.INFO, True),
        (URN_B, "odd severity", engine_pb2.INFO, False),
    ]
    assert capsys.readouterr().err == "zomro: no urn\n"


def test_log_falls_back_to_stderr_when_the_engine_is_gone(
    capsys: pytest.CaptureFixture[str], in_provider_process: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["__main__.py", f"127.0.0.1:{free_port()}"])
    _engine.log("nobody listens", urn=URN_A)
    assert capsys.readouterr().err == "zomro: nobody listens\n"


def test_log_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    class Closed:
        def write(self, text: str) -> int:
            raise BrokenPipeError("closed")

        def flush(self) -> None:
            raise BrokenPipeError("closed")

    monkeypatch.setattr(sys, "stderr", Closed())
    _engine.log("into the void", urn=None)

    def broken() -> None:
        raise RuntimeError("broken")

    monkeypatch.setattr(_engine, "_connection", broken)
    _engine.log("into the void", urn=URN_A)


# ------------------------------------------------------------------ the watch


class FakeProbe:
    address = "127.0.0.1:1"

    def __init__(self, answers: list[bool]) -> None:
        self.answers = answers

    def refuses(self) -> bool:
        return self.answers.pop(0)


def test_watch_ends_the_process_when_the_parent_changes() -> None:
    parents = [100, 100, 1]
    watch = _engine._Watch(100, None, getppid=lambda: parents.pop(0))
    assert watch.reason_to_exit() is None
    assert watch.reason_to_exit() is None
    assert watch.reason_to_exit() == "its parent process 100 is gone"


def test_watch_ends_the_process_when_the_engine_refuses_twice_in_a_row() -> None:
    probe: Any = FakeProbe([True, False, True, True])
    watch = _engine._Watch(100, probe, getppid=lambda: 100)
    assert [watch.reason_to_exit() for _ in range(4)] == [
        None,
        None,
        None,
        "the Pulumi engine at 127.0.0.1:1 is gone",
    ]


def test_watch_run_exits_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    codes: list[int] = []
    _engine._Watch(100, None, getppid=lambda: 1).run(codes.append)
    assert codes == [1]
    assert "zomro: exiting: its parent process 100 is gone" in capsys.readouterr().err


def test_only_an_unreachable_engine_counts_as_gone(monkeypatch: pytest.MonkeyPatch) -> None:
    slow = FakeEngine(probe_delay=0.5)
    monkeypatch.setattr(_engine, "PROBE_TIMEOUT", 0.1)
    probe = _engine._Engine(slow.address)
    try:
        assert probe.refuses() is False  # a timeout: busy, not gone
        slow.probe_delay = 0
        assert probe.refuses() is False
        slow.stop()
        assert probe.refuses() is True
    finally:
        probe.close()
        slow.stop()


def test_start_parent_watch_does_nothing_outside_the_provider_process() -> None:
    _engine.start_parent_watch()
    assert _engine._watch is None
    assert not any(t.name == "zomro-engine-watch" for t in threading.enumerate())


# ------------------------------------------------------------------ the SDK's own server


def test_sdk_stubs_still_have_what_log_and_the_watch_use() -> None:
    fields = set(engine_pb2.LogRequest.DESCRIPTOR.fields_by_name)
    assert {"severity", "message", "urn", "ephemeral"} <= fields, REVIEW
    assert hasattr(engine_pb2_grpc.EngineStub, "__init__") and hasattr(
        engine_pb2, "GetRootResourceRequest"
    ), REVIEW
    assert _engine._servicer_base() is provider_pb2_grpc.ResourceProviderServicer, REVIEW
    for request in ("Create", "Update", "Delete", "Read", "Diff", "Check"):
        assert "urn" in getattr(provider_pb2, f"{request}Request").DESCRIPTOR.fields_by_name, REVIEW


class RecordingProvider(ResourceProvider):
    """Logs under `current_urn()` from every method, as the image provider does.

    Pickled by reference: the provider process imports it from this module."""

    def configure(self, req: ConfigureRequest) -> None:
        _engine.start_parent_watch()

    def _say(self, what: str, props: dict[str, Any]) -> None:
        time.sleep(float(props.get("sleep") or 0))
        _engine.log(f"{what} {props.get('label')}", urn=_engine.current_urn())

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        self._say("check", news)
        return CheckResult(news, [])

    def diff(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        self._say("diff", news)
        return DiffResult(changes=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        self._say("create", props)
        return CreateResult("id-1", {})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        self._say("read", props)
        return ReadResult(id_, props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        self._say("update", news)
        return UpdateResult({})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self._say("delete", props)


def serialized_provider() -> str:
    """The provider as a `pulumi.dynamic.Resource` puts it into the state."""
    return str(serialize_provider(RecordingProvider()))


def props(label: str, sleep: float = 0) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update({"__provider": serialized_provider(), "label": label, "sleep": sleep})
    return struct


@contextlib.contextmanager
def provider_process(engine_address: str) -> Iterator[tuple[subprocess.Popen[bytes], Any]]:
    """`python -m pulumi.dynamic <engine>`, as the engine starts it, and a client."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.dynamic", engine_address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    channel = None
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().decode().strip()
        assert port.isdigit(), f"no port from the provider: {proc.communicate(timeout=10)}"
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield proc, provider_pb2_grpc.ResourceProviderStub(channel)
    finally:
        if channel is not None:
            channel.close()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_real_provider_process_logs_every_call_under_its_own_urn(engine: FakeEngine) -> None:
    with provider_process(engine.address) as (proc, stub):
        stub.Check(
            provider_pb2.CheckRequest(urn=URN_A, olds=props("x"), news=props("a")), timeout=30
        )
        stub.Diff(
            provider_pb2.DiffRequest(urn=URN_B, id="1", olds=props("x"), news=props("b")),
            timeout=30,
        )
        stub.Read(provider_pb2.ReadRequest(urn=URN_A, id="1", properties=props("a")), timeout=30)
        stub.Update(
            provider_pb2.UpdateRequest(urn=URN_B, id="1", olds=props("x"), news=props("b")),
            timeout=30,
        )
        stub.Delete(
            provider_pb2.DeleteRequest(urn=URN_A, id="1", properties=props("a")), timeout=30
        )
        # two creates in flight at once, each on its own server thread
        both = futures.ThreadPoolExecutor(max_workers=2)
        calls = [
            both.submit(
                stub.Create,
                provider_pb2.CreateRequest(urn=urn, properties=props(label, 0.5)),
                timeout=30,
            )
            for urn, label in ((URN_A, "a"), (URN_B, "b"))
        ]
        for call in calls:
            call.result()
        both.shutdown()
        proc.kill()
        _, err = proc.communicate(timeout=10)
    assert sorted(engine.lines()) == sorted(
        [
            (URN_A, "check a"),
            (URN_B, "diff b"),
            (URN_A, "read a"),
            (URN_B, "update b"),
            (URN_A, "delete a"),
            (URN_A, "create a"),
            (URN_B, "create b"),
        ]
    ), f"{REVIEW}: the SDK's dynamic provider server changed (stderr: {err.decode()[-2000:]})"
    assert b"zomro:" not in err


def test_real_provider_process_exits_soon_after_its_engine_is_gone() -> None:
    engine = FakeEngine()
    try:
        with provider_process(engine.address) as (proc, stub):
            stub.Check(
                provider_pb2.CheckRequest(urn=URN_A, olds=props("x"), news=props("a")), timeout=30
            )
            assert engine.lines() == [(URN_A, "check a")]
            time.sleep(1.5)
            assert proc.poll() is None and engine.probes >= 1, f"{REVIEW}: the watch does not probe"
            engine.stop()
            gone = time.monotonic()
            proc.wait(timeout=10)
            took = time.monotonic() - gone
            _, err = proc.communicate(timeout=10)
        assert took < 6, took
        assert b"zomro: exiting: the Pulumi engine at" in err
    finally:
        engine.stop()


CHILD = textwrap.dedent(
    """
    import sys, time, types
    sys.modules["__main__"].__spec__ = types.SimpleNamespace(name="pulumi.dynamic.__main__")
    from zomro_pulumi import _engine
    _engine.start_parent_watch()
    _engine.start_parent_watch()
    print("watching", flush=True)
    time.sleep(60)
    """
)


def test_a_provider_whose_parent_dies_exits() -> None:
    # sh stands for the engine's launcher script, which waits for its Python child
    shell = subprocess.Popen(
        ["sh", "-c", '"$0" -c "$1" & wait', sys.executable, CHILD],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )
    try:
        assert shell.stdout is not None
        assert shell.stdout.readline() == b"watching\n"
        child = next(
            int(pid)
            for pid in os.listdir("/proc")
            if pid.isdigit() and _parent_of(int(pid)) == shell.pid
        )
        os.kill(shell.pid, signal.SIGKILL)
        shell.wait()
        deadline = time.monotonic() + 10
        while _alive(child):
            assert time.monotonic() < deadline, "the orphaned provider did not exit"
            time.sleep(0.1)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()


def _parent_of(pid: int) -> Optional[int]:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's zombie waits for a reaper that may never come)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
