"""A YAML program end to end through the provider plugin, with the real CLI and
the real YAML language host (built from the Go module proxy by
scripts/ensure-pulumi-yaml.sh): preview, up, an edit, a replacement, refresh and
destroy against the emulator, counting what each orders, edits and deletes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import ROOT, UBUNTU, Emulator, Project

NOTHING = {"orders": 0, "edits": 0, "deletes": 0}


@pytest.fixture(scope="session")
def yaml_bin() -> str:
    done = subprocess.run(
        [str(ROOT / "scripts" / "ensure-pulumi-yaml.sh")], capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"could not provide pulumi-language-yaml:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def write_program(path: Path, images: dict[str, dict[str, Any]]) -> None:
    """Pulumi.yaml declaring `images` (field-table names, as the harness keeps them)."""
    resources = {
        name: {"type": "zomro:index:Image", "properties": {camel(k): v for k, v in args.items()}}
        for name, args in images.items()
    }
    outputs = {f"{name}Id": f"${{{name}.imageId}}" for name in images}
    program = {"name": "zomro-yaml", "runtime": "yaml", "resources": resources, "outputs": outputs}
    (path / "Pulumi.yaml").write_text(json.dumps(program, indent=2))  # JSON is YAML


@pytest.fixture
def yaml_project(tmp_path: Path, cli_bin: str, yaml_bin: str, emulator: Emulator) -> Project:
    path = tmp_path / "project"
    path.mkdir()
    backend = tmp_path / "backend"
    backend.mkdir()
    write_program(path, {})
    venv_bin = str(Path(sys.executable).parent)
    project = Project(path=path, backend=backend, bin_dir=os.pathsep.join([cli_bin, yaml_bin, venv_bin]))
    project.run("stack", "init", project.stack)
    project.run("config", "set-all", "--plaintext", f"zomro:endpoint={emulator.url}",
                "--plaintext", "zomro:username=demo", "--secret", "zomro:password=demo")
    return project


def ids(project: Project) -> dict[str, str]:
    deployment = project.export().get("deployment", {})
    return {
        r["urn"].rsplit("::", 1)[1]: r["id"]
        for r in deployment.get("resources", []) or []
        if r.get("type") == "zomro:index:Image"
    }


def test_a_yaml_program_previews_creates_edits_replaces_refreshes_and_destroys(
    yaml_project: Project, emulator: Emulator
) -> None:
    project = yaml_project
    write_program(project.path, {"img": UBUNTU})
    preview = project.preview()
    assert "+ zomro:index:Image" in preview.stdout and emulator.changes() == NOTHING

    project.up()
    assert emulator.changes() == {"orders": 1, "edits": 1, "deletes": 0}  # ordered, renamed once Active
    (image,) = emulator.images()
    assert image["image_name"] == "Ubuntu24" and ids(project) == {"img": str(image["id"])}
    assert "2 unchanged" in project.preview().stdout  # the stack and the image

    emulator.reset_stats()
    write_program(project.path, {"img": {**UBUNTU, "min_ram": 2}})
    edit = project.preview()
    assert re.search(r"~ minRam\s*: 1 => 2", edit.stdout), edit.stdout
    project.up()
    assert emulator.changes() == {"orders": 0, "edits": 1, "deletes": 0}
    assert [i["min_ram"] for i in emulator.images()] == [2]

    emulator.reset_stats()
    write_program(project.path, {"img": {**UBUNTU, "min_ram": 2, "region": "Netherlands-1"}})
    replace = project.preview()
    assert "+-zomro:index:Image: (replace)" in replace.stdout
    assert re.search(r'~ region: "Netherlands-2" => "Netherlands-1"', replace.stdout), replace.stdout
    project.up()
    assert emulator.changes() == {"orders": 1, "edits": 1, "deletes": 1}
    (moved,) = emulator.images()
    assert moved["region"] == "Netherlands-1" and ids(project) == {"img": str(moved["id"])}

    emulator.reset_stats()
    emulator.patch(f"images/{moved['id']}", {"min_ram": 3})  # changed in the panel
    project.run("refresh", "--yes", "--skip-preview")
    assert emulator.changes() == NOTHING
    (resource,) = [r for r in project.export()["deployment"]["resources"] if r.get("type") == "zomro:index:Image"]
    assert resource["outputs"]["minRam"] == 3

    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == [] and ids(project) == {}
