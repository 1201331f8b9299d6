"""`ZOMRO_TRACE`: one JSON line per API call, and never a credential in the file.

The account logs in with a long password that cannot occur in a trace by chance,
so finding it, or any session token the emulator handed out, means a leak.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import UBUNTU, Emulator, make_project

USER = "tracer"
PASSWORD = "S3cr3t-pa55word-xyz"
KEYS = {"func", "request", "http_status", "answer"}


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator(activation_delay=0.5, delete_delay=0.2, accounts={USER: PASSWORD})
    try:
        yield emu
    finally:
        emu.stop()


def test_trace_has_one_line_per_api_call_and_no_credentials(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    trace = tmp_path / "trace.jsonl"
    project = make_project(tmp_path, cli_bin, emulator, login=False)
    project.config("zomro:username", USER)
    project.config("zomro:password", PASSWORD, secret=True)
    project.extra_env["ZOMRO_TRACE"] = str(trace)

    project.declare({"img": UBUNTU})
    project.up()
    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == []

    text = trace.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        assert set(line) >= KEYS, line
    assert Counter(line["func"] for line in lines) == Counter(emulator.counts())
    assert {"auth", "v2.image.order.param", "image.delete"} <= {line["func"] for line in lines}
    for line in lines:
        if line["func"] == "auth":
            assert "***" in json.dumps(line["request"])

    with emulator.server.state.lock:
        tokens = list(emulator.server.state.sessions)
    assert tokens  # the provider logged in, so there is something to look for
    assert PASSWORD not in text
    for token in tokens:
        assert token not in text
