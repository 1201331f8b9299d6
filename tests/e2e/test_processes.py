"""The project's own language host does not outlive the engine that started it.

A stand-in engine, a Python process of its own session (as `pulumi` is in a
shell or a CI job), listens on an address and starts the host as the engine
does: `pulumi-language-python [flags] <engine address>`, in a process group of
the host's own, reading the host's port from its first line of output. The test
then SIGKILLs the stand-in's whole process group, which leaves the host behind
(re-parented), and checks that the host exits within a few seconds, with the
Python program it was running when a `Run` call was in flight.

The host under test is this checkout's build (`scripts/ensure-pulumi.sh` with no
`pulumi` on PATH, so a CLI installed elsewhere is not taken instead: its
upstream host only checks the engine's health every 5 minutes).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

from harness import ROOT

EXIT_WITHIN = 5.0  # seconds

# The stand-in engine. argv: host binary, folder of the program. It prints one
# JSON line {"host_pid": ..., "port": ...} and then waits until it is killed.
ENGINE = textwrap.dedent(
    """
    import json, os, socket, subprocess, sys, time

    host, root = sys.argv[1], sys.argv[2]
    engine = socket.socket()
    engine.bind(("127.0.0.1", 0))
    engine.listen()
    address = "127.0.0.1:%d" % engine.getsockname()[1]
    proc = subprocess.Popen(
        [host, "-root=" + root, "-toolchain=pip", address],
        stdout=subprocess.PIPE,
        preexec_fn=os.setpgrp,  # the engine gives each plugin a process group
    )
    port = int(proc.stdout.readline())
    print(json.dumps({"host_pid": proc.pid, "port": port}), flush=True)
    while True:
        time.sleep(60)
    """
)


def process_state(pid: int) -> str:
    """`ps`'s state letters for pid ("Z" once it has exited), "" when it is gone."""
    done = subprocess.run(
        ["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()


def has_exited(pid: int) -> bool:
    state = process_state(pid)
    return state == "" or state.startswith("Z")


def wait_exited(pid: int, timeout: float) -> float:
    """Seconds until pid exited; fails after `timeout`."""
    start = time.monotonic()
    while not has_exited(pid):
        elapsed = time.monotonic() - start
        assert elapsed < timeout, f"process {pid} still running after {elapsed:.1f} s"
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.fixture(scope="module")
def own_host() -> Path:
    """This checkout's language host, built by scripts/ensure-pulumi.sh if needed."""
    path = [
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and not (Path(entry) / "pulumi").exists()
    ]
    env = {**os.environ, "PATH": os.pathsep.join(path)}
    done = subprocess.run(
        [str(ROOT / "scripts" / "ensure-pulumi.sh")],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    bin_dir = Path(done.stdout.strip().splitlines()[-1])
    assert "this project's minimal host" in (bin_dir.parent / "BUILD-INFO").read_text()
    return bin_dir / "pulumi-language-python"


@dataclass
class StandInEngine:
    process: subprocess.Popen[str]
    host_pid: int
    port: int

    def kill_group(self) -> None:
        """What a CI timeout or `kill -9 -<pgid>` does to a `pulumi` run."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def engine(own_host: Path, tmp_path: Path) -> Iterator[StandInEngine]:
    proc = subprocess.Popen(
        [sys.executable, "-c", ENGINE, str(own_host), str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "SLEEPER_PID_FILE": str(tmp_path / "sleeper.pid")},
        start_new_session=True,
    )
    assert proc.stdout is not None
    started = json.loads(proc.stdout.readline())
    running = StandInEngine(proc, int(started["host_pid"]), int(started["port"]))
    try:
        yield running
    finally:
        # Whatever a failed test left: the stand-in's group, and the host's (with its program).
        for group in (proc.pid, running.host_pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        proc.wait(timeout=10)


def stub(port: int) -> language_pb2_grpc.LanguageRuntimeStub:
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    return language_pb2_grpc.LanguageRuntimeStub(channel)


def test_the_host_exits_when_its_engine_is_killed(engine: StandInEngine) -> None:
    info = stub(engine.port).GetPluginInfo(empty_pb2.Empty(), timeout=10)
    assert info.version  # it serves
    time.sleep(1)
    assert not has_exited(engine.host_pid), "the host stopped while its engine was alive"

    engine.kill_group()  # the host is in a group of its own: it is left behind
    took = wait_exited(engine.host_pid, EXIT_WITHIN)
    print(f"the host exited {took:.2f} s after its engine was killed")


def test_a_program_running_when_the_engine_is_killed_is_stopped_too(
    engine: StandInEngine, tmp_path: Path
) -> None:
    # A "virtualenv" whose python stands for the program: it records its pid and sleeps.
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text('#!/bin/sh\necho $$ >"$SLEEPER_PID_FILE"\nexec sleep 300\n')
    python.chmod(0o755)
    (tmp_path / "__main__.py").write_text("")
    options = struct_pb2.Struct()
    options.update({"toolchain": "pip", "virtualenv": str(venv)})
    request = language_pb2.RunRequest(
        project="p",
        stack="s",
        pwd=str(tmp_path),
        monitor_address="127.0.0.1:1",
        info=language_pb2.ProgramInfo(
            root_directory=str(tmp_path),
            program_directory=str(tmp_path),
            entry_point=".",
            options=options,
        ),
    )
    call = stub(engine.port).Run.future(request, timeout=120)
    pid_file = tmp_path / "sleeper.pid"
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline, "the host never started the program"
        assert not call.done(), call.exception()
        time.sleep(0.05)
    program_pid = int(pid_file.read_text())
    assert not has_exited(program_pid)

    engine.kill_group()
    wait_exited(engine.host_pid, EXIT_WITHIN)
    wait_exited(program_pid, EXIT_WITHIN)
    finished = threading.Event()
    call.add_done_callback(lambda _: finished.set())
    assert finished.wait(10)
