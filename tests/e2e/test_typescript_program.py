"""A TypeScript program end to end, as the README's TypeScript quick start says:
the SDK built into its package (scripts/build-nodejs-sdk.sh, what `make
sdk-nodejs` runs), `npm install` and `npx tsc --noEmit` in examples/typescript,
then preview, up, an edit, a replacement, refresh and destroy with the real CLI,
the project's Node.js language host and the provider plugin, against the
emulator, counting what each step orders, edits and deletes. Before that, the
host's advice when the program's packages are missing is followed literally;
after it, a wrongly typed program and a refused value stop the preview."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from harness import ROOT, Emulator, Project, nodejs

NOTHING = {"orders": 0, "edits": 0, "deletes": 0}
IMAGE = "zomro:index:Image"


def npm(where: Path, *argv: str) -> None:
    done = subprocess.run(argv, cwd=where, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])


def image_state(project: Project) -> dict[str, object]:
    (resource,) = [r for r in project.export()["deployment"]["resources"] if r.get("type") == IMAGE]
    return resource


def test_a_typescript_program_previews_creates_edits_replaces_refreshes_and_destroys(
    tmp_path: Path, cli_bin: str, nodejs_bin: str, emulator: Emulator
) -> None:
    # The checkout's layout: the example finds the SDK at ../../sdk/nodejs/bin.
    sdk = tmp_path / "sdk" / "nodejs"
    shutil.copytree(ROOT / "sdk" / "nodejs", sdk, ignore=shutil.ignore_patterns("bin", "node_modules"))
    where = tmp_path / "examples" / "typescript"
    shutil.copytree(ROOT / "examples" / "typescript", where, ignore=shutil.ignore_patterns("node_modules"))
    nodejs.build_sdk(sdk)

    backend = tmp_path / "backend"
    backend.mkdir()
    path = os.pathsep.join([cli_bin, nodejs_bin, str(Path(sys.executable).parent)])
    project = Project(path=where, backend=backend, bin_dir=path)
    project.run("stack", "init", project.stack)
    project.run("config", "set-all", "--plaintext", f"zomro:endpoint={emulator.url}",
                "--plaintext", "zomro:username=demo", "--secret", "zomro:password=demo")

    # Before `npm install` the host says what to do; doing it is enough.
    early = project.preview(check=False)
    assert early.returncode != 0 and "run npm install there" in early.output, early.output[-3000:]
    assert str(where) in " ".join(early.output.split()), early.output[-3000:]
    npm(where, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error")
    npm(where, "npx", "tsc", "--noEmit")

    preview = project.preview()
    assert f"+ {IMAGE}" in preview.stdout and emulator.changes() == NOTHING

    up = project.up()
    assert "pulumi-resource-zomro" in up.output  # the plugin, not the dynamic provider
    assert emulator.changes() == {"orders": 1, "edits": 1, "deletes": 0}  # ordered, renamed once Active
    (image,) = emulator.images()
    assert (image["image_name"], image["status"]) == ("Ubuntu24", "Active")
    assert project.outputs() == {"imageId": str(image["id"]), "status": "Active"}
    assert "2 unchanged" in project.preview().stdout  # the stack and the image

    emulator.reset_stats()
    project.config("minRam", "2")
    edit = project.preview()
    assert re.search(r"~ minRam\s*: 1 => 2", edit.stdout), edit.stdout
    project.up()
    assert emulator.changes() == {"orders": 0, "edits": 1, "deletes": 0}
    assert [i["min_ram"] for i in emulator.images()] == [2]

    emulator.reset_stats()
    project.config("region", "Netherlands-1")
    replace = project.preview()
    assert f"+-{IMAGE}: (replace)" in replace.stdout, replace.stdout
    assert "region cannot change in place, so a new image is ordered" in replace.output, replace.output
    project.up()
    assert emulator.changes() == {"orders": 1, "edits": 1, "deletes": 1}
    (moved,) = emulator.images()
    assert moved["region"] == "Netherlands-1" and moved["min_ram"] == 2
    assert project.outputs()["imageId"] == str(moved["id"])

    emulator.reset_stats()
    emulator.patch(f"images/{moved['id']}", {"min_ram": 3})  # changed in the panel
    project.run("refresh", "--yes", "--skip-preview")
    assert emulator.changes() == NOTHING
    assert image_state(project)["outputs"]["minRam"] == 3  # type: ignore[index]

    # A wrongly typed program stops at its line; a refused value names the field.
    source = where / "index.ts"
    program = source.read_text()
    line = program[: program.index('diskFormat: "iso"')].count("\n") + 1
    source.write_text(program.replace('diskFormat: "iso"', "diskFormat: 3"))
    typed = project.preview(check=False)
    assert typed.returncode != 0 and f"index.ts({line},5): error TS2322" in typed.output, typed.output[-3000:]
    source.write_text(program.replace('diskFormat: "iso"', 'diskFormat: "exe"'))
    refused = project.preview(check=False)
    said = " ".join(refused.output.split())
    refusal = "diskFormat must be one of iso, ami, ari, aki, vhd, vmdk, raw, qcow2, vdi; got 'exe'"
    assert refused.returncode != 0 and refusal in said, said[-3000:]
    assert emulator.changes() == NOTHING
    source.write_text(program)

    project.run("destroy", "--yes", "--skip-preview")
    assert emulator.images() == [] and project.outputs() == {}
