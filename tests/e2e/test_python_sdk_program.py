"""A Python program on the generated SDK (`pulumi_zomro`, sdk/python) runs `up`,
an edit and `destroy` through the provider plugin with the real CLI, as the
README's Python (SDK) quick start says, in a copy of the checkout: the program's
virtualenv (`../../.venv`, as examples/python-sdk/Pulumi.yaml names it) made
afresh, `pip install ./sdk/python` into it, the plugin from a virtualenv with
zomro-pulumi on PATH, then `pulumi stack init dev` and `pulumi up` in the example,
against the emulator."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from harness import ROOT, Emulator, Project

IMAGE = "zomro:index:Image"


def test_a_python_program_on_the_sdk_creates_edits_and_destroys_an_image(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "sdk" / "python", checkout / "sdk" / "python")
    shutil.copytree(ROOT / "examples" / "python-sdk", checkout / "examples" / "python-sdk")
    venv = checkout / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "./sdk/python"],
        cwd=checkout, capture_output=True, text=True, timeout=600, check=False,
    )
    assert installed.returncode == 0, installed.stderr[-3000:]

    backend = tmp_path / "backend"
    backend.mkdir()
    # The plugin: this virtualenv has zomro-pulumi, and Project puts its bin on PATH.
    project = Project(path=checkout / "examples" / "python-sdk", backend=backend, bin_dir=cli_bin, stack="dev")
    project.run("stack", "init", project.stack)
    project.run("config", "set-all", "--plaintext", f"zomro:endpoint={emulator.url}",
                "--plaintext", "zomro:username=demo", "--secret", "zomro:password=demo")

    up = project.up()
    assert "pulumi-resource-zomro" in up.output  # the plugin, not the dynamic provider
    (image,) = emulator.images()
    assert image["image_name"] == "Ubuntu24" and image["status"] == "Active"
    assert project.outputs()["image_id"] == str(image["id"])
    state = json.dumps(project.export())
    assert f'"type": "{IMAGE}"' in state and "pulumi-python:dynamic" not in state and "__provider" not in state

    emulator.reset_stats()
    project.config("minRam", "2")
    project.up()
    assert emulator.changes() == {"orders": 0, "edits": 1, "deletes": 0}
    assert [i["min_ram"] for i in emulator.images()] == [2]

    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == []
