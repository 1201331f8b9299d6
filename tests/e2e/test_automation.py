"""The README's Automation API commands, run exactly as a user runs them.

Every part is a process of its own, started the README's way: the emulator
(`.venv/bin/zomro-emulator --port …`, on a free port) and the script
(`.venv/bin/python examples/automation/create_image.py --endpoint …`, then with
`--destroy`). The environment holds the README's exports and nothing else of
this process's: PATH is the `pulumi` CLI's directory plus `/usr/bin:/bin`, so the
virtualenv's `bin` is not on it and a `python3` found on PATH has no Pulumi SDK.
(The dynamic provider used to be started with that `python3` and failed with
`No module named 'pulumi'`.)

The emulator runs as a subprocess rather than the harness's in-process
`Emulator`: that is what the README starts, it checks the `zomro-emulator`
entry point too, and the orders are counted through its admin endpoints, which
read the same state as the in-process helpers would.

The commands run in a scratch folder whose `.venv` and `examples` are links into
the checkout, so their relative paths are the README's, verbatim, and the file
backend (`./.automation-state`) is created in the scratch folder.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from harness import ROOT

SCRIPT = "examples/automation/create_image.py"
ORDER = "v2.image.order.param"


def readme_env(cli_bin: str, home: Path) -> dict[str, str]:
    """The README's exports on a PATH without the virtualenv, in a fresh home."""
    return {
        "PATH": os.pathsep.join([cli_bin, "/usr/bin", "/bin"]),
        "HOME": str(home),
        "ZOMRO_USERNAME": "demo",
        "ZOMRO_PASSWORD": "demo",
        "PULUMI_CONFIG_PASSPHRASE": "change-me",
        # Offline machine: never try to download a plugin (none is needed).
        "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
        "NO_COLOR": "1",
    }


@dataclass
class RunningEmulator:
    """`zomro-emulator` as a subprocess, read through its admin endpoints."""

    process: subprocess.Popen[str]
    url: str

    def admin(self, path: str) -> Any:
        resp = requests.get(f"{self.url}_emulator/{path}", timeout=10)
        resp.raise_for_status()
        return resp.json()

    def orders(self) -> int:
        return int(self.admin("stats")["counts"].get(ORDER, 0))

    def images(self) -> list[dict[str, Any]]:
        return list(self.admin("images"))


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """A folder where the README's relative paths lead into this checkout."""
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.fail("no .venv in the checkout: run scripts/setup.sh (make test does)")
    work = tmp_path / "work"
    work.mkdir()
    (work / ".venv").symlink_to(ROOT / ".venv")
    (work / "examples").symlink_to(ROOT / "examples")
    (tmp_path / "home").mkdir()
    return work


@pytest.fixture
def zomro_emulator(scratch: Path, cli_bin: str) -> Iterator[RunningEmulator]:
    proc = subprocess.Popen(
        [".venv/bin/zomro-emulator", "--port", "0"],
        cwd=scratch,
        env=readme_env(cli_bin, scratch.parent / "home"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        found = re.match(r"Zomro API emulator listening on (http://\S+/)", first)
        assert found, f"zomro-emulator did not report its address: {first!r}"
        yield RunningEmulator(proc, found.group(1))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def run_readme_command(scratch: Path, cli_bin: str, *args: str) -> str:
    done = subprocess.run(
        [".venv/bin/python", SCRIPT, *args],
        cwd=scratch,
        env=readme_env(cli_bin, scratch.parent / "home"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    return output


def test_the_readme_commands_create_one_image_and_destroy_it(
    scratch: Path, cli_bin: str, zomro_emulator: RunningEmulator
) -> None:
    endpoint = zomro_emulator.url
    output = run_readme_command(scratch, cli_bin, "--endpoint", endpoint)
    images = zomro_emulator.images()
    assert [(i["image_name"], i["status"]) for i in images] == [("AutomationUbuntu24", "Active")]
    assert f"image {images[0]['id']} is Active" in output
    assert zomro_emulator.orders() == 1
    assert any((scratch / ".automation-state").rglob("dev.json")), "no stack in the file backend"
    assert "demo" not in output.replace(endpoint, ""), "a credential reached the output"

    again = run_readme_command(scratch, cli_bin, "--endpoint", endpoint)
    assert "2 unchanged" in again  # the stack and the image
    assert zomro_emulator.orders() == 1

    run_readme_command(scratch, cli_bin, "--endpoint", endpoint, "--destroy")
    assert zomro_emulator.images() == []
    assert zomro_emulator.orders() == 1
    assert not list((scratch / ".automation-state").rglob("dev.json")), "the stack was not removed"
