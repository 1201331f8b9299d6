"""`pulumi-resource-zomro`, the provider plugin, through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

SCHEMA = Path(__file__).resolve().parents[2] / "schema.json"


def test_the_cli_reads_the_checked_in_schema_from_the_plugin(cli_bin: str, tmp_path: Path) -> None:
    plugin = shutil.which("pulumi-resource-zomro")
    assert plugin, "pulumi-resource-zomro is not on PATH: `pip install zomro-pulumi` puts it there"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env.update(PATH=f"{cli_bin}{os.pathsep}{env['PATH']}", PULUMI_HOME=str(tmp_path / "home"),
               PULUMI_SKIP_UPDATE_CHECK="true", PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true")
    done = subprocess.run(["pulumi", "package", "get-schema", plugin], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == json.loads(SCHEMA.read_text())
