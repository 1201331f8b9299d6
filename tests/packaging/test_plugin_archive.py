"""The provider plugin installed the way plugin users install one: `make plugin`
builds an archive, `pulumi plugin install resource zomro <version> --file …`
puts it into an empty PULUMI_HOME, and a YAML program runs through it with no
`pulumi-resource-zomro` on PATH: up, an edit, an image removed from the program
(deleted through the installed plugin), destroy; the state holds no pickled
provider and no credential."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import ROOT, UBUNTU, Emulator, Project
from harness.yaml import ids, write_program
from harness.yaml import yaml_bin as find_yaml_bin

pytestmark = pytest.mark.e2e
PLUGIN = "pulumi-resource-zomro"


def pulumi_bin() -> str:
    from harness import pulumi_bin as find

    return find()


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plugin")
    done = subprocess.run(
        [str(ROOT / "scripts" / "make-plugin.sh")], env={**os.environ, "OUT": str(out)},
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator() as emu:
        yield emu


def without_plugin(path: str) -> str:
    """PATH without any directory that holds the plugin (the virtualenv's bin)."""
    return os.pathsep.join(d for d in path.split(os.pathsep) if d and not (Path(d) / PLUGIN).exists())


def test_an_installed_plugin_archive_runs_a_yaml_program(
    archive: Path, emulator: Emulator, tmp_path: Path
) -> None:
    named = re.fullmatch(rf"{PLUGIN}-v(\d+\.\d+\.\d+)-(linux|darwin)-(amd64|arm64)\.tar\.gz", archive.name)
    assert named, archive.name
    version = named[1]
    path = tmp_path / "project"
    path.mkdir()
    (tmp_path / "backend").mkdir()
    write_program(path, {})
    home = tmp_path / "empty-pulumi-home"
    home.mkdir()
    project = Project(path=path, backend=tmp_path / "backend", bin_dir=os.pathsep.join([pulumi_bin(), find_yaml_bin()]))
    project.extra_env.update(PULUMI_HOME=str(home))
    project.extra_env.update(PATH=without_plugin(project.env["PATH"]))
    assert not any((Path(d) / PLUGIN).exists() for d in project.env["PATH"].split(os.pathsep) if d)

    # The README's install line names this version and this archive's name.
    readme = (ROOT / "README.md").read_text()
    line = re.search(r"pulumi plugin install resource zomro (\S+) --file dist/(\S+)", readme)
    assert line and line[1] == version and line[2].startswith(f"{PLUGIN}-v{version}-"), line
    project.run("plugin", "install", "resource", "zomro", version, "--file", str(archive))
    listed = project.run("plugin", "ls").stdout
    assert "zomro" in listed and version in listed, listed

    project.run("stack", "init", project.stack)
    project.run("config", "set-all", "--plaintext", f"zomro:endpoint={emulator.url}",
                "--plaintext", "zomro:username=demo", "--secret", "zomro:password=demo")
    write_program(path, {"keep": UBUNTU, "drop": {**UBUNTU, "image_name": "Dropped"}})
    up = project.up()
    assert f"{PLUGIN} from $PATH" not in up.output, up.output
    assert sorted(i["image_name"] for i in emulator.images()) == ["Dropped", "Ubuntu24"]
    state = json.dumps(project.export())
    assert "__provider" not in state and '"password": "demo"' not in state

    emulator.reset_stats()
    write_program(path, {"keep": {**UBUNTU, "min_ram": 2}})  # an edit; `drop` left the program
    project.up()
    assert emulator.changes() == {"orders": 0, "edits": 1, "deletes": 1}
    (kept,) = emulator.images()
    assert kept["min_ram"] == 2 and ids(project) == {"keep": str(kept["id"])}

    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == [] and ids(project) == {}
