"""The TypeScript SDK (sdk/nodejs) builds with `tsc` against the pinned
@pulumi/pulumi, and the TypeScript example type-checks against it; a program
that passes a wrong type is refused at that line.

The Node.js packages come from scripts/ensure-node-modules.sh (the cache beside
the CLI). A machine without node or npm fails here with the script's message
naming what is missing, never silently."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def node_modules() -> Path:
    done = subprocess.run(
        [str(ROOT / "scripts" / "ensure-node-modules.sh")], capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return Path(done.stdout.strip().splitlines()[-1])


def tsc(node_modules: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(node_modules / "typescript" / "bin" / "tsc"), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )


def project(tmp_path: Path, node_modules: Path) -> Path:
    """The example in a folder of its own, its node_modules the cached packages
    plus the SDK's sources as `@zomro-pulumi/zomro` (as `npm install` links it)."""
    where = tmp_path / "example"
    shutil.copytree(ROOT / "examples" / "typescript", where)
    modules = where / "node_modules"
    modules.mkdir()
    for entry in node_modules.iterdir():
        (modules / entry.name).symlink_to(entry)
    shutil.copytree(ROOT / "sdk" / "nodejs", modules / "@zomro-pulumi" / "zomro")
    return where


def test_the_sdk_builds_with_tsc(tmp_path: Path, node_modules: Path) -> None:
    sdk = tmp_path / "sdk"
    shutil.copytree(ROOT / "sdk" / "nodejs", sdk)
    (sdk / "node_modules").symlink_to(node_modules)
    built = tsc(node_modules, "-p", str(sdk))
    assert built.returncode == 0, built.stdout[-3000:]
    assert (sdk / "bin" / "index.js").exists() and (sdk / "bin" / "image.d.ts").exists()


def test_the_typescript_example_type_checks_against_the_sdk(tmp_path: Path, node_modules: Path) -> None:
    where = project(tmp_path, node_modules)
    checked = tsc(node_modules, "--noEmit", "-p", str(where))
    assert checked.returncode == 0, checked.stdout[-3000:]


def test_a_wrongly_typed_input_is_refused_at_its_line(tmp_path: Path, node_modules: Path) -> None:
    where = project(tmp_path, node_modules)
    source = where / "index.ts"
    text = source.read_text()
    line = text[: text.index('diskFormat: "iso"')].count("\n") + 1
    source.write_text(text.replace('diskFormat: "iso"', "diskFormat: 3"))
    checked = tsc(node_modules, "--noEmit", "-p", str(where))
    assert checked.returncode != 0, checked.stdout
    refusal = f"index.ts({line},5): error TS2322: Type 'number' is not assignable to type 'Input<string>'"
    assert refusal in checked.stdout, checked.stdout


def test_node_is_named_when_missing(tmp_path: Path) -> None:
    """Without node on PATH the toolchain step says what is missing."""
    bare = tmp_path / "bin"
    bare.mkdir()
    for tool in ("bash", "cat", "sha256sum", "cut", "mkdir", "dirname"):
        found = shutil.which(tool)
        assert found, tool
        (bare / tool).symlink_to(found)
    done = subprocess.run(
        [str(ROOT / "scripts" / "ensure-node-modules.sh")], env={**os.environ, "PATH": str(bare)},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode != 0 and "'node' is not on PATH" in done.stderr, done.stderr


def test_the_readme_commands_type_check_the_example(tmp_path: Path) -> None:
    """`npm install` then `npx tsc --noEmit` in examples/typescript, as the README
    says, with the SDK where the example's package.json expects it."""
    where = tmp_path / "examples" / "typescript"
    shutil.copytree(ROOT / "examples" / "typescript", where)
    shutil.copytree(ROOT / "sdk" / "nodejs", tmp_path / "sdk" / "nodejs")
    for argv in (["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], ["npx", "tsc", "--noEmit"]):
        done = subprocess.run(argv, cwd=where, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])
