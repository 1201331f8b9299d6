"""The thread-pool reach into SDK internals: fails loudly if the SDK moves (`test_engine.py` guards the other)."""

from __future__ import annotations

import sys
import threading
import time
import types
from concurrent import futures
from pathlib import Path
from typing import Callable

import grpc
import pulumi.dynamic
import pytest

from zomro_pulumi import _concurrency


def test_sdk_still_builds_its_provider_server_on_a_4_worker_pool() -> None:
    source = (Path(pulumi.dynamic.__file__).parent / "__main__.py").read_text()
    assert "futures.ThreadPoolExecutor(max_workers=4)" in source, (
        "pulumi.dynamic.__main__ no longer builds a 4-worker pool: review zomro_pulumi/_concurrency.py"
    )
    assert "grpc.server(" in source


def test_grpc_server_still_keeps_its_pool_where_we_look() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    try:
        pools = _concurrency.find_server_pools()
        assert any(p._max_workers == 4 for p in pools), (
            "grpc._server._Server._state.thread_pool moved"
        )
    finally:
        server.stop(0)


def peak_concurrency(
    pool: futures.ThreadPoolExecutor, jobs: int, raise_limit: Callable[[], int]
) -> int:
    """Submit `jobs` blocking tasks, raise the limit once 4 run, return how many ran at once."""
    running = 0
    peak = 0
    lock = threading.Lock()
    release = threading.Event()

    def task() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        release.wait(5)
        with lock:
            running -= 1

    submitted = [pool.submit(task) for _ in range(jobs)]  # 4 run, the rest wait in the queue
    time.sleep(0.1)
    assert peak == 4
    raise_limit()  # and no further submit follows
    deadline = time.monotonic() + 5
    while peak < jobs and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    futures.wait(submitted)
    return peak


def test_raising_the_limit_in_the_provider_process_runs_queued_calls_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pool = futures.ThreadPoolExecutor(max_workers=4)
    server = grpc.server(pool)
    fake_main = types.ModuleType("__main__")
    fake_main.__spec__ = types.SimpleNamespace(name="pulumi.dynamic.__main__")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    try:
        # finds the server's pool itself
        assert peak_concurrency(pool, 12, lambda: _concurrency.raise_worker_limit(12)) == 12
        assert pool._max_workers == 12
    finally:
        server.stop(0)
        pool.shutdown()


def test_outside_the_provider_process_nothing_is_touched() -> None:
    pool = futures.ThreadPoolExecutor(max_workers=4)
    server = grpc.server(pool)
    try:
        assert _concurrency.raise_worker_limit(64) == 4
        assert pool._max_workers == 4
    finally:
        server.stop(0)


def test_without_a_pool_it_warns_and_keeps_the_stock_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.warns(RuntimeWarning, match="4 at a time"):
        assert _concurrency.raise_worker_limit(32, pools=[]) == 4
    assert "could not raise" in capsys.readouterr().err


def test_never_lowers_below_stock() -> None:
    pool = futures.ThreadPoolExecutor(max_workers=4)
    assert _concurrency.raise_worker_limit(1, pools=[pool]) == 4
    assert pool._max_workers == 4
    pool.shutdown()


def test_public_names_resolve_and_the_emulator_needs_no_pulumi() -> None:
    import subprocess

    import zomro_pulumi

    for name in zomro_pulumi.__all__:
        assert getattr(zomro_pulumi, name) is not None
    code = "import sys, zomro_pulumi.emulator; print('pulumi' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_calls_already_queued_behind_busy_workers_start_at_once() -> None:
    pool = futures.ThreadPoolExecutor(max_workers=4)
    assert (
        peak_concurrency(pool, 10, lambda: _concurrency.raise_worker_limit(16, pools=[pool])) == 10
    )
    pool.shutdown()
