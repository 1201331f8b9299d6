"""The Go SDK (sdk/go) builds: the Go example compiles against it with the
Pulumi Go SDK the generator was built with, passes `go vet`, and a program that
passes a wrong type does not compile, naming the field. Without Go these checks
are skipped, saying so."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "go"
ENV = {**os.environ, "GOWORK": "off", "GOFLAGS": "-mod=readonly"}


def go(where: Path, *args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("go") is None:
        pytest.skip("the Go SDK is not built: 'go' is not on PATH (Go 1.26 or newer builds its example)")
    return subprocess.run(["go", *args], cwd=where, env=ENV, capture_output=True, text=True, timeout=900, check=False)


def test_the_go_example_builds_and_vets_against_the_sdk(tmp_path: Path) -> None:
    built = go(EXAMPLE, "build", "-o", str(tmp_path / "zomro-go"), ".")
    assert built.returncode == 0, built.stderr[-3000:]
    assert (tmp_path / "zomro-go").stat().st_size > 0
    vetted = go(EXAMPLE, "vet", "./...")
    assert vetted.returncode == 0, vetted.stderr[-3000:]


def test_a_wrongly_typed_input_does_not_compile(tmp_path: Path) -> None:
    where = tmp_path / "example"
    shutil.copytree(EXAMPLE, where)
    mod = where / "go.mod"
    mod.write_text(mod.read_text().replace("=> ../../sdk/go", f"=> {ROOT / 'sdk' / 'go'}"))
    source = where / "main.go"
    source.write_text(source.read_text().replace('DiskFormat:   pulumi.String("iso")', "DiskFormat:   pulumi.Int(3)"))
    built = go(where, "build", "-o", os.devnull, ".")
    assert built.returncode != 0 and "pulumi.Int(3)" in built.stderr and "StringInput" in built.stderr, built.stderr
