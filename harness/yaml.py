"""YAML programs for the provider plugin: the real YAML language host (built by
scripts/ensure-pulumi-yaml.sh), a project on a file backend whose program is
rewritten as a user edits `Pulumi.yaml`, and what the state says of its images.

Shared by the end-to-end tests and the benchmarks."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

from zomro_pulumi.schema import camel

from . import Emulator, Project, script_output

IMAGE = "zomro:index:Image"


def yaml_bin() -> str:
    """The directory of `pulumi-language-yaml` (built the first time, then cached)."""
    return script_output("ensure-pulumi-yaml.sh")


def image(args: dict[str, Any], options: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """One `zomro:index:Image` resource of a YAML program (field-table names in)."""
    declared: dict[str, Any] = {"type": IMAGE, "properties": {camel(k): v for k, v in args.items()}}
    if options:
        declared["options"] = options
    return declared


def write_resources(
    path: Path, resources: dict[str, Any], config: Optional[dict[str, Any]] = None,
    outputs: Optional[dict[str, Any]] = None,
) -> None:
    """`Pulumi.yaml` with these resources (JSON is YAML)."""
    program: dict[str, Any] = {"name": "zomro-yaml", "runtime": "yaml", "resources": resources}
    if config:
        program["config"] = config
    if outputs:
        program["outputs"] = outputs
    (path / "Pulumi.yaml").write_text(json.dumps(program, indent=2))


def write_program(
    path: Path, images: dict[str, dict[str, Any]], options: Optional[dict[str, Any]] = None
) -> None:
    """`Pulumi.yaml` declaring `images`, each with the resource `options` given."""
    write_resources(
        path, {name: image(args, options) for name, args in images.items()},
        outputs={f"{name}Id": f"${{{name}.imageId}}" for name in images},
    )


def make_yaml_project(tmp_path: Path, cli_bin: str, host_bin: str, emulator: Emulator) -> Project:
    """An empty YAML program's stack, logged in to `emulator`, the plugin taken
    from this virtualenv's PATH."""
    path = tmp_path / "project"
    path.mkdir()
    backend = tmp_path / "backend"
    backend.mkdir()
    write_program(path, {})
    venv_bin = str(Path(sys.executable).parent)
    project = Project(path=path, backend=backend, bin_dir=os.pathsep.join([cli_bin, host_bin, venv_bin]))
    project.run("stack", "init", project.stack)
    project.run("config", "set-all", "--plaintext", f"zomro:endpoint={emulator.url}",
                "--plaintext", "zomro:username=demo", "--secret", "zomro:password=demo")
    return project


def ids(project: Project) -> dict[str, str]:
    """Resource name -> image id, for the images in the stack's state."""
    deployment = project.export().get("deployment", {})
    return {
        r["urn"].rsplit("::", 1)[1]: r["id"]
        for r in deployment.get("resources", []) or []
        if r.get("type") == IMAGE
    }
