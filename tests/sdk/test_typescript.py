"""The TypeScript SDK (sdk/nodejs) builds with `tsc` against the pinned
@pulumi/pulumi into the package a program installs, and the TypeScript example
type-checks against it; a program that passes a wrong type is refused at that
line. tests/e2e/test_typescript_program.py runs the example.

The Node.js packages come from scripts/ensure-node-modules.sh (the cache beside
the CLI). A machine without node or npm skips these checks, saying which is
missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness import ROOT, nodejs


@pytest.fixture(scope="module")
def node_modules() -> Path:
    why = nodejs.missing()
    if why:
        pytest.skip(f"the TypeScript SDK is not checked: {why}")
    return nodejs.node_modules()


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory, node_modules: Path) -> Path:
    """The SDK built as `make sdk-nodejs` builds it, from a copy of sdk/nodejs."""
    sdk = tmp_path_factory.mktemp("sdk") / "nodejs"
    shutil.copytree(ROOT / "sdk" / "nodejs", sdk, ignore=shutil.ignore_patterns("bin", "node_modules"))
    return nodejs.build_sdk(sdk)


def tsc(node_modules: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", str(node_modules / "typescript" / "bin" / "tsc"), *args],
        capture_output=True, text=True, timeout=600, check=False,
    )


def project(tmp_path: Path, node_modules: Path, package: Path) -> Path:
    """The example in a folder of its own, its node_modules the cached packages
    plus the built SDK as `@zomro-pulumi/zomro` (as `npm install` copies it)."""
    where = tmp_path / "example"
    shutil.copytree(ROOT / "examples" / "typescript", where, ignore=shutil.ignore_patterns("node_modules"))
    modules = where / "node_modules"
    modules.mkdir()
    for entry in node_modules.iterdir():
        (modules / entry.name).symlink_to(entry)
    shutil.copytree(package, modules / "@zomro-pulumi" / "zomro")
    return where


def test_the_sdk_builds_into_the_package_npm_installs(package: Path, node_modules: Path) -> None:
    assert (package / "index.js").exists() and (package / "image.d.ts").exists()
    manifest = json.loads((package / "package.json").read_text())
    assert manifest["name"] == "@zomro-pulumi/zomro" and manifest["pulumi"]["name"] == "zomro"
    loaded = subprocess.run(
        ["node", "-e", "const z = require(process.argv[1]); console.log(typeof z.Image, typeof z.getImages)",
         str(package)],
        env={**os.environ, "NODE_PATH": str(node_modules)},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert loaded.stdout.split() == ["function", "function"], loaded.stderr[-3000:]


def test_the_typescript_example_type_checks_against_the_sdk(
    tmp_path: Path, node_modules: Path, package: Path
) -> None:
    where = project(tmp_path, node_modules, package)
    checked = tsc(node_modules, "--noEmit", "-p", str(where))
    assert checked.returncode == 0, checked.stdout[-3000:]


def test_a_wrongly_typed_input_is_refused_at_its_line(tmp_path: Path, node_modules: Path, package: Path) -> None:
    where = project(tmp_path, node_modules, package)
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


def test_the_readme_commands_type_check_the_example(tmp_path: Path, package: Path) -> None:
    """`npm install` then `npx tsc --noEmit` in examples/typescript, as the README
    says, with the built SDK where the example's package.json expects it."""
    where = tmp_path / "examples" / "typescript"
    shutil.copytree(ROOT / "examples" / "typescript", where, ignore=shutil.ignore_patterns("node_modules"))
    shutil.copytree(package, tmp_path / "sdk" / "nodejs" / "bin")
    for argv in (["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], ["npx", "tsc", "--noEmit"]):
        done = subprocess.run(argv, cwd=where, capture_output=True, text=True, timeout=600, check=False)
        assert done.returncode == 0, (argv, done.stdout[-2000:], done.stderr[-2000:])


def test_without_node_the_typescript_checks_are_skipped_saying_why(tmp_path: Path) -> None:
    """Never silently: the skip reason names what is missing."""
    bare = tmp_path / "bin"
    bare.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         f"{Path(__file__)}::test_the_typescript_example_type_checks_against_the_sdk"],
        cwd=ROOT, env={**os.environ, "PATH": str(bare)}, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "1 skipped" in done.stdout and "'node' and 'npm' not on PATH" in done.stdout, done.stdout[-3000:]
