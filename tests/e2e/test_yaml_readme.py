"""The README's YAML quick start and its `pulumi import`, followed as written:
its program is the project's `Pulumi.yaml`, its commands are run as they stand
(the credentials those of the emulator, the endpoint set as the README's
emulator section says), the code the import prints is pasted into the program,
and then the preview is empty."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from harness import ROOT, UBUNTU, Emulator, Project

SECTION = "## YAML programs: the provider plugin"
USER, PASSWORD = "you@example.com", "emulated-pass"


def section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index(SECTION)
    return text[start : text.index("\n## ", start + len(SECTION))]


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", section(), flags=re.S)


def commands(block: str) -> list[list[str]]:
    """The `pulumi …` lines of a bash block, comments dropped, as argv."""
    found = []
    for line in block.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line.startswith("pulumi "):
            found.append(shlex.split(line.replace("'…'", shlex.quote(PASSWORD)))[1:])
    return found


def run(project: Project, argv: list[str]) -> str:
    if argv[0] in ("up", "import") and "--yes" not in argv:  # the terminal's confirmation
        argv = [*argv, "--yes"]
    return project.run(*argv).output


def test_the_readme_quick_start_and_its_import_work_as_written(
    tmp_path: Path, cli_bin: str, yaml_bin: str
) -> None:
    with Emulator(accounts={USER: PASSWORD}) as emulator:
        path, backend = tmp_path / "images", tmp_path / "backend"
        path.mkdir()
        backend.mkdir()
        program = blocks("yaml")[0]
        (path / "Pulumi.yaml").write_text(program)
        project = Project(path=path, backend=backend, bin_dir=f"{cli_bin}:{yaml_bin}")
        project.run("stack", "init", project.stack)
        project.run("config", "set", "zomro:endpoint", emulator.url)  # the emulator section's line

        (quick_start,) = [b for b in blocks("bash") if "pulumi up" in b]
        for argv in commands(quick_start):
            run(project, argv)
        (made,) = emulator.images()
        declared = yaml.safe_load(program)["resources"]["ubuntu"]["properties"]
        assert made["image_name"] == declared["imageName"] == "Ubuntu24" and made["status"] == "Active"

        body = {k: UBUNTU[k] for k in ("region", "url", "disk_format", "os_distro", "architecture")}
        handmade = emulator.post("images", {**body, "image_name": "Handmade", "status": "Active", "account": USER})
        (import_block,) = [b for b in blocks("bash") if "pulumi import" in b]
        (argv,) = commands(import_block)
        assert re.fullmatch(r"\d+", argv[-2]), argv  # the README's image id, here the emulator's
        emulator.reset_stats()
        printed = run(project, [*argv[:-2], str(handmade["id"]), argv[-1]])
        assert emulator.changes() == {"orders": 0, "edits": 0, "deletes": 0}

        # Paste the printed resources into the program, as the CLI asks.
        code = yaml.safe_load(printed[printed.index("\nresources:") + 1 :])
        whole = yaml.safe_load(program)
        whole["resources"].update(code["resources"])
        (path / "Pulumi.yaml").write_text(yaml.safe_dump(whole, sort_keys=False))
        preview = project.preview()
        assert "to create" not in preview.stdout and "to update" not in preview.stdout, preview.stdout
        assert "to replace" not in preview.stdout and "to delete" not in preview.stdout, preview.stdout
        assert emulator.changes() == {"orders": 0, "edits": 0, "deletes": 0}

        # Pulumi protects what it imported: destroy refuses, naming the way out, which is taken.
        refused = project.run("destroy", "--yes", "--skip-preview", check=False)
        assert refused.returncode != 0 and emulator.images() != []
        (advice,) = set(re.findall(r"`pulumi (state unprotect '[^']+')`", refused.output))
        project.run(*shlex.split(advice))
        project.run("destroy", "--yes", "--skip-preview")
        assert emulator.images() == []
