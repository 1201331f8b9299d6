"""The SDKs under sdk/ are what `make sdk` writes from schema.json today: a
field added to the table (and `make schema` run) without `make sdk` fails here,
naming the files that differ."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("nodejs", "go", "python")


def written(root: Path) -> dict[str, bytes]:
    """What the generator wrote below root."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def kept(root: Path) -> dict[str, bytes]:
    """The checkout's files below root, but what a .gitignore leaves out (a build's output)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "."],
        cwd=root, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    return {name: (root / name).read_bytes() for name in sorted(filter(None, listed)) if (root / name).is_file()}


def test_the_checked_in_sdks_are_what_the_schema_generates(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "gen-sdk.sh")], env={**os.environ, "OUT": str(tmp_path)},
        capture_output=True, text=True, timeout=900, check=False,
    )
    if done.returncode != 0 and "'go' is not on PATH" in done.stderr:
        pytest.skip(f"the SDKs' staleness is not checked: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr[-3000:]
    for language in LANGUAGES:
        fresh, checked_in = written(tmp_path / language), kept(ROOT / "sdk" / language)
        assert fresh, f"the generator wrote nothing for {language}"
        stale = sorted(name for name in fresh.keys() & checked_in.keys() if fresh[name] != checked_in[name])
        missing, extra = sorted(fresh.keys() - checked_in.keys()), sorted(checked_in.keys() - fresh.keys())
        assert not (stale or missing or extra), (
            f"sdk/{language} is not what schema.json generates (run `make sdk`): "
            f"differ {stale}, not checked in {missing}, no longer generated {extra}"
        )


def test_each_sdk_asks_for_the_plugin_version_of_the_schema() -> None:
    """A program written against an SDK asks the engine for the plugin it was made for."""
    import json

    version = json.loads((ROOT / "schema.json").read_text())["version"]
    assert json.loads((ROOT / "sdk/nodejs/package.json").read_text())["version"] == version
    for plugin_json in ("sdk/python/pulumi_zomro/pulumi-plugin.json", "sdk/go/zomro/pulumi-plugin.json"):
        assert json.loads((ROOT / plugin_json).read_text()) == {"resource": True, "name": "zomro", "version": version}
