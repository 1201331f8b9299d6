"""Errors at preview in one screen, and every provider error message first.

Settings that cannot work fail `pulumi preview` in one line (without any API call
when the settings alone tell); an error of the provider is the first line of its
diagnostic, followed by a few lines at most (the full Python traceback only with
ZOMRO_DEBUG=1).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from harness import UBUNTU, Emulator, Project, make_project

# The SDK adds its own frames after the message; this is the most we allow.
MAX_DIAGNOSTIC_LINES = 14


def diagnostic(output: str, resource: str = "img") -> list[str]:
    """The lines of the Diagnostics entry of one Image resource."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().endswith(f"zomro:Image ({resource}):"))
    block: list[str] = []
    for line in lines[start + 1 :]:
        if line and not line.startswith("    "):
            break
        block.append(line.strip())
    while block and not block[-1]:
        block.pop()
    return block


@pytest.mark.parametrize(
    ("endpoint", "said"),
    [
        (None, "no Zomro credentials"),
        ("http://api.example.com/", "uses plain http to a non-loopback host"),
        ("api.zomro.com", "is not an http(s) URL"),
    ],
)
def test_settings_that_cannot_work_fail_the_preview_in_one_line(
    tmp_path: Path, cli_bin: str, emulator: Emulator, endpoint: str | None, said: str
) -> None:
    project = make_project(tmp_path, cli_bin, emulator, login=endpoint is not None)
    if endpoint:
        project.config("zomro:endpoint", endpoint)
    project.declare({"img": UBUNTU})
    result = project.preview(check=False)
    assert result.returncode != 0
    (line,) = [x for x in result.output.splitlines() if said in x]
    assert line.startswith("error: ") and "zomro:Image resource 'img'" in line
    assert "Traceback" not in result.output
    assert emulator.counts() == {}  # nothing was sent


def test_an_unreachable_endpoint_or_a_wrong_password_fails_the_preview_naming_it(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    project = make_project(tmp_path, cli_bin, emulator)
    project.declare({"img": UBUNTU})
    project.config("zomro:endpoint", closed)
    result = project.preview(check=False)
    (line,) = [x for x in result.output.splitlines() if "cannot reach" in x]
    assert "zomro:endpoint" in line and f"{closed}: connection refused" in line
    project.config("zomro:endpoint", emulator.url)
    project.config("zomro:password", "wrong", secret=True)
    result = project.preview(check=False)
    (line,) = [x for x in result.output.splitlines() if "Invalid username or password" in x]
    assert "zomro:password" in line
    assert "Traceback" not in result.output
    assert emulator.counts() == {"auth": 1}  # the login tried, nothing about images


def protected_destroy(project: Project, emulator: Emulator) -> str:
    emulator.faults(activation_delay=0.3)
    project.declare({"img": {**UBUNTU, "protected": True}})
    project.up()
    project.declare({})
    result = project.up(check=False)
    assert result.returncode != 0
    assert len(emulator.images()) == 1
    return result.output


def test_a_provider_error_shows_its_message_first_and_little_else(
    project: Project, emulator: Emulator
) -> None:
    block = diagnostic(protected_destroy(project, emulator))
    assert block[0].startswith("error: ") and "is protected, so Zomro refuses to delete it" in block[0]
    assert "ZOMRO_DELETE_PROTECTED=" in block[0]
    assert len(block) <= MAX_DIAGNOSTIC_LINES


def test_zomro_debug_brings_the_traceback_back(project: Project, emulator: Emulator) -> None:
    project.extra_env["ZOMRO_DEBUG"] = "1"
    block = diagnostic(protected_destroy(project, emulator))
    assert block[0] == "error: Traceback (most recent call last):"
    assert any("zomro_pulumi/provider.py" in line for line in block)
    assert "is protected" in block[-1]
