"""The pull-request workflow example is valid and does what the README says.

It is parsed as YAML and checked for the parts that matter: the preview posted
and edited on the pull request; one run per pull request and stack; `pulumi up`
only on main, behind a GitHub environment (required reviewers); secrets only on
the steps that run pulumi, none at workflow or job level; a pinned CLI version,
the one this project tests with; the state backend's URL from a variable and its
cloud credentials from a step of their own; the project's own requirements and
zomro-pulumi (from a wheel or the repository, since it is not on PyPI) installed
into the `venv` that the example Pulumi.yaml names. Then it is linted with
actionlint (scripts/ensure-actionlint.sh provides it).
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
PROJECT = ROOT / "examples" / "github-actions" / "Pulumi.yaml"
HOST_GO_MOD = ROOT / "tools" / "pulumi-language-python" / "go.mod"
SECRET = re.compile(r"\$\{\{\s*secrets\.")


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


def is_pulumi_action(step: dict[str, Any]) -> bool:
    return str(step.get("uses", "")).startswith("pulumi/actions@")


def pulumi_action(workflow: dict[Any, Any], command: str) -> dict[str, Any]:
    found = [s for s in steps(workflow) if is_pulumi_action(s) and s["with"]["command"] == command]
    assert len(found) == 1, f"expected one pulumi/actions step with command {command}"
    return found[0]


def job_running(workflow: dict[Any, Any], command: str) -> dict[str, Any]:
    step = pulumi_action(workflow, command)
    found = [job for job in workflow["jobs"].values() if step in job["steps"]]
    assert len(found) == 1
    return found[0]


def resolve(workflow: dict[Any, Any], value: Any) -> str:
    """A value with `${{ env.NAME }}` replaced from the workflow's env."""
    return re.sub(
        r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: str(workflow["env"][m.group(1)]), str(value)
    )


def test_preview_is_posted_and_edited_on_the_pull_request(workflow: dict[Any, Any]) -> None:
    assert "pull_request" in triggers(workflow)
    preview = pulumi_action(workflow, "preview")
    options = preview["with"]
    assert options["comment-on-pr"] is True
    assert options["edit-pr-comment"] is True
    assert options["diff"] is True
    assert options["stack-name"]
    assert job_running(workflow, "preview")["permissions"]["pull-requests"] == "write"
    assert workflow["permissions"] == {"contents": "read"}  # the default for every job


def test_deploys_on_main_behind_an_environment_with_reviewers(workflow: dict[Any, Any]) -> None:
    assert triggers(workflow)["push"]["branches"] == ["main"]
    deploy = job_running(workflow, "up")
    assert deploy["if"] == "github.event_name == 'push'"
    environment = deploy["environment"]
    name = environment["name"] if isinstance(environment, dict) else environment
    assert name == "production"
    assert "required reviewers" in WORKFLOW.read_text()  # the header says how to set it up
    # every job that can change the stack waits for the environment
    for job in workflow["jobs"].values():
        if any(is_pulumi_action(s) and s["with"]["command"] != "preview" for s in job["steps"]):
            assert job.get("environment") == environment


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


def test_installs_into_the_virtualenv_that_pulumi_yaml_names(workflow: dict[Any, Any]) -> None:
    project = yaml.safe_load(PROJECT.read_text())
    assert project["runtime"]["name"] == "python"
    venv = project["runtime"]["options"]["virtualenv"]
    assert venv == "venv"
    for job in workflow["jobs"].values():
        names = [s.get("name", s.get("uses", "")) for s in job["steps"]]
        install = next(s for s in job["steps"] if "pip install" in str(s.get("run", "")))
        pulumi = next(s for s in job["steps"] if is_pulumi_action(s))
        assert names.index(install.get("name")) < names.index(pulumi.get("name"))
        lines = [line.strip() for line in install["run"].splitlines() if line.strip()]
        assert lines[0] == f"python -m venv {venv}"
        assert all(line.startswith(f"{venv}/bin/python -m pip install") for line in lines[1:])
        # the venv is made where pulumi runs: the project folder
        assert install["working-directory"] == pulumi["with"]["work-dir"]


def test_secrets_reach_only_the_steps_that_run_pulumi(workflow: dict[Any, Any]) -> None:
    assert not SECRET.search(yaml.safe_dump(workflow.get("env", {})))
    for job in workflow["jobs"].values():
        assert not SECRET.search(yaml.safe_dump(job.get("env", {})))
        for step in job["steps"]:
            if SECRET.search(yaml.safe_dump(step)):
                assert is_pulumi_action(step), f"a secret reaches {step.get('name', step)}"
        pulumi = next(s for s in job["steps"] if is_pulumi_action(s))
        for name in ("PULUMI_CONFIG_PASSPHRASE", "PULUMI_ACCESS_TOKEN", "ZOMRO_AUTH_TOKEN",
                     "ZOMRO_USERNAME", "ZOMRO_PASSWORD"):
            assert pulumi["env"][name] == f"${{{{ secrets.{name} }}}}"


def test_the_cli_version_is_pinned_to_the_one_this_project_tests_with(
    workflow: dict[Any, Any],
) -> None:
    tested = re.search(r"github\.com/pulumi/pulumi/pkg/v3 v(\d+\.\d+\.\d+)", HOST_GO_MOD.read_text())
    assert tested
    for step in steps(workflow):
        if is_pulumi_action(step):
            pinned = resolve(workflow, step["with"]["pulumi-version"])
            assert re.fullmatch(r"\d+\.\d+\.\d+", pinned), f"not an exact version: {pinned}"
            assert pinned == tested.group(1)


def test_the_backend_and_its_credentials_come_from_their_own_settings(
    workflow: dict[Any, Any],
) -> None:
    for job in workflow["jobs"].values():
        pulumi = next(s for s in job["steps"] if is_pulumi_action(s))
        assert pulumi["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
        before = job["steps"][: job["steps"].index(pulumi)]
        credentials = {str(s["uses"]).split("@")[0]: s for s in before if "uses" in s}
        aws = credentials["aws-actions/configure-aws-credentials"]
        assert aws["if"] == "startsWith(vars.PULUMI_BACKEND_URL, 's3://')"
        assert aws["with"]["role-to-assume"].startswith("${{ vars.")  # OIDC: no stored key
        gcs = credentials["google-github-actions/auth"]
        assert gcs["if"] == "startsWith(vars.PULUMI_BACKEND_URL, 'gs://')"
        assert gcs["with"]["workload_identity_provider"].startswith("${{ vars.")
        assert job["permissions"]["id-token"] == "write"


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
