"""The pull-request workflow example is valid and does what the README says.

It is parsed as YAML and checked for the parts that matter (the preview posted and
edited on the pull request, one run per pull request and stack, the project's own
requirements, zomro-pulumi from a wheel or the repository since it is not on
PyPI), then linted with actionlint (scripts/ensure-actionlint.sh provides it).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / "examples" / "github-actions" / "pulumi-preview.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    loaded = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(loaded, dict)
    return loaded


def triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    found = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(found, dict)
    return found


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return [s for job in workflow["jobs"].values() for s in job["steps"]]


def pulumi_action(workflow: dict[Any, Any], command: str) -> dict[str, Any]:
    found = [
        s for s in steps(workflow)
        if str(s.get("uses", "")).startswith("pulumi/actions@") and s["with"]["command"] == command
    ]
    assert len(found) == 1, f"expected one pulumi/actions step with command {command}"
    return found[0]


def test_preview_is_posted_and_edited_on_the_pull_request(workflow: dict[Any, Any]) -> None:
    assert "pull_request" in triggers(workflow)
    preview = pulumi_action(workflow, "preview")
    options = preview["with"]
    assert options["comment-on-pr"] is True
    assert options["edit-pr-comment"] is True
    assert options["diff"] is True
    assert options["stack-name"]
    assert workflow["permissions"]["pull-requests"] == "write"


def test_deploys_on_main(workflow: dict[Any, Any]) -> None:
    assert triggers(workflow)["push"]["branches"] == ["main"]
    assert pulumi_action(workflow, "up")


def test_one_run_per_pull_request_and_stack(workflow: dict[Any, Any]) -> None:
    group = workflow["concurrency"]["group"]
    assert "github.event.pull_request.number" in group
    assert workflow["env"]["STACK"] in group


def test_installs_the_projects_requirements_and_zomro_pulumi_honestly(workflow: dict[Any, Any]) -> None:
    runs = [str(s.get("run", "")) for s in steps(workflow)]
    installs = [r for r in runs if "pip install" in r]
    assert installs and all("-r requirements.txt" in r for r in installs)
    text = WORKFLOW.read_text()
    assert ".venv" not in text
    # not on PyPI yet: a bare `pip install zomro-pulumi` would fail
    assert not re.search(r"pip install[^\n]*\bzomro-pulumi\b", text)
    source = workflow["env"]["ZOMRO_PULUMI"]
    assert source.endswith(".whl") or "git+" in source
    assert all("$ZOMRO_PULUMI" in r for r in installs)


def test_actionlint_finds_nothing() -> None:
    found = subprocess.run(
        [str(ROOT / "scripts" / "ensure-actionlint.sh")], capture_output=True, text=True, timeout=600
    )
    assert found.returncode == 0, found.stderr
    actionlint = found.stdout.strip().splitlines()[-1]
    result = subprocess.run(
        [actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
