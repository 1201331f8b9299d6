"""The Automation API example creates and destroys an image against the emulator.

The script runs as a user runs it (its own process, the `pulumi` CLI on PATH,
credentials in the environment); the emulator runs in this process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness import ROOT, Emulator

SCRIPT = ROOT / "examples" / "automation" / "create_image.py"


def run_script(cli_bin: str, emulator: Emulator, state: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "ZOMRO_"))}
    env.update(
        PATH=os.pathsep.join([cli_bin, str(Path(sys.executable).parent), env.get("PATH", "")]),
        PULUMI_HOME=str(state.parent / "pulumi-home"),
        PULUMI_CONFIG_PASSPHRASE="automation-test",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
        ZOMRO_USERNAME="demo",
        ZOMRO_PASSWORD="demo",
        NO_COLOR="1",
    )
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--endpoint", emulator.url, "--state-dir", str(state), *args],
        cwd=state.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    return output


def test_inline_program_creates_and_destroys_an_image(
    cli_bin: str, emulator: Emulator, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    output = run_script(cli_bin, emulator, state, "--image-name", "FromAutomation")
    images = emulator.images()
    assert [(i["image_name"], i["status"]) for i in images] == [("FromAutomation", "Active")]
    assert f"image {images[0]['id']} is Active" in output
    assert any(state.rglob("*.json")), "no state in the file backend"
    assert "demo" not in output.replace(emulator.url, "")

    again = run_script(cli_bin, emulator, state, "--image-name", "FromAutomation")
    assert "2 unchanged" in again and len(emulator.images()) == 1  # stack + image: idempotent

    run_script(cli_bin, emulator, state, "--destroy")
    assert emulator.images() == []
