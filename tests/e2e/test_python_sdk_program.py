"""A Python program on the generated SDK (`pulumi_zomro`, sdk/python) runs `up`
and `destroy` through the provider plugin with the real CLI: the example in
examples/python-sdk, the SDK installed as a user installs it (`pip install
sdk/python`), against the emulator."""

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
    installed = tmp_path / "site"
    source = tmp_path / "sdk-python"
    shutil.copytree(ROOT / "sdk" / "python", source)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
         "--target", str(installed), str(source)],
        check=True, capture_output=True, timeout=600,
    )
    path, backend = tmp_path / "project", tmp_path / "backend"
    path.mkdir()
    backend.mkdir()
    shutil.copy(ROOT / "examples" / "python-sdk" / "__main__.py", path / "__main__.py")
    (path / "Pulumi.yaml").write_text(
        "name: zomro-python-sdk\nruntime:\n  name: python\n  options:\n"
        f"    virtualenv: {Path(sys.executable).parent.parent}\n"
    )
    project = Project(path=path, backend=backend, bin_dir=cli_bin, extra_env={"PYTHONPATH": str(installed)})
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
