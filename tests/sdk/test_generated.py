"""The SDKs under sdk/ are what `make sdk` writes from schema.json today: a
field added to the table (and `make schema` run) without `make sdk` fails here,
naming the files that differ."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ("nodejs", "go", "python")


def files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "node_modules" not in p.parts and "__pycache__" not in p.parts
    }


def test_the_checked_in_sdks_are_what_the_schema_generates(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "gen-sdk.sh")], env={**os.environ, "OUT": str(tmp_path)},
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for language in LANGUAGES:
        fresh, kept = files(tmp_path / language), files(ROOT / "sdk" / language)
        assert fresh, f"the generator wrote nothing for {language}"
        stale = sorted(name for name in fresh.keys() & kept.keys() if fresh[name] != kept[name])
        missing, extra = sorted(fresh.keys() - kept.keys()), sorted(kept.keys() - fresh.keys())
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
