"""Credentials never reach the state, the backend's files or the CLI's output.

One thing is outside the provider's hands: the engine (pulumi/pulumi#17229, seen
with 3.272) hands a dynamic provider the whole stack config by recording it as the inputs of the
`pulumi:providers:pulumi-python::default` provider resource.  A secret config
value is kept there as a secret (encrypted in the backend's files), so
`pulumi stack export --show-secrets` decrypts it at that one place and nowhere
else.  An explicit provider resource does not help: it gets no stack config at
all (its process sees `PULUMI_CONFIG={}`).  Credentials given through the
environment (`ZOMRO_PASSWORD`, ...) never enter the state; the last test shows
that even `--show-secrets` then holds no trace of them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import UBUNTU, Emulator, Project, make_project

USER = "e2e-secrets-user"
PASSWORD = "pw-6b1f0c7e-3d9a-4c55-9e8e-2a7d41f0b3c6-correct-horse-battery"
DEFAULT_PROVIDER = "pulumi:providers:pulumi-python"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # Pulumi's marker of a secret value


@pytest.fixture
def own_emulator() -> Iterator[Emulator]:
    emu = Emulator(accounts={USER: PASSWORD})
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def bare_project(tmp_path: Path, cli_bin: str, own_emulator: Emulator) -> Project:
    """A project with the emulator's endpoint and no credentials (the test adds them)."""
    return make_project(tmp_path, cli_bin, own_emulator, login=False)


def files_containing(root: Path, secret: str) -> list[str]:
    needle = secret.encode()
    return [
        str(path)
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink() and needle in path.read_bytes()
    ]


def run_everything(project: Project, emulator: Emulator) -> list[str]:
    """preview, up, an update, refresh, outputs and a plain export: what the CLI printed.

    The image is left in place so the caller can look at the state; `finish` destroys it.
    """
    texts = []
    project.declare({"img": UBUNTU})
    texts.append(project.preview().output)
    texts.append(project.up().output)
    (image,) = emulator.images()
    assert image["account"] == USER and image["status"] == "Active"
    project.declare({"img": {**UBUNTU, "min_ram": 2}})
    texts.append(project.preview().output)
    texts.append(project.up().output)
    texts.append(project.run("refresh", "--yes", "--diff").output)
    texts.append(project.run("stack", "output", "--json", "--show-secrets").output)
    texts.append(project.run("stack", "export").output)
    return texts


def secret_paths(node: Any, secret: str, path: str = "") -> list[str]:
    """JSON paths in an export where `secret` occurs in a string."""
    if isinstance(node, dict):
        return [p for k, v in node.items() for p in secret_paths(v, secret, f"{path}/{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in secret_paths(v, secret, f"{path}/{i}")]
    return [path] if isinstance(node, str) and secret in node else []


def check_export(project: Project, secret: str, config_key: str) -> None:
    """In `stack export --show-secrets` the secret shows only decrypted as the
    default provider's secret config input/output, never in an image's state."""
    export = json.loads(project.run("stack", "export", "--show-secrets").stdout)
    resources = export["deployment"]["resources"]
    images = [r for r in resources if r["type"] == "pulumi-python:dynamic/zomro:Image"]
    assert len(images) == 1 and images[0]["outputs"]["min_ram"] == 2
    for resource in resources:
        found = secret_paths(resource, secret)
        if resource["type"] != DEFAULT_PROVIDER:
            assert found == [], resource["urn"]
            continue
        assert sorted(found) == [
            f"/inputs/{config_key}/plaintext",
            f"/outputs/{config_key}/plaintext",
        ]
        for side in ("inputs", "outputs"):
            assert resource[side][config_key][SECRET_SIG]  # kept as a secret, not plain text


def assert_nowhere(secret: str, texts: list[str], tmp_path: Path, project: Project) -> None:
    for text in texts:
        assert secret not in text
    assert files_containing(project.backend, secret) == []
    # nor anywhere else the run wrote (project folder, PULUMI_HOME): the stack's
    # config file holds it encrypted
    assert files_containing(tmp_path, secret) == []


def finish(project: Project, emulator: Emulator, texts: list[str]) -> None:
    texts.append(project.run("destroy", "--yes").output)
    assert emulator.images() == []


def test_a_secret_token_never_appears_in_state_files_or_output(
    tmp_path: Path, bare_project: Project, own_emulator: Emulator
) -> None:
    token = own_emulator.login(USER, PASSWORD)
    assert len(token) >= 16
    bare_project.config("zomro:authToken", token, secret=True)
    assert "secure:" in (bare_project.path / "Pulumi.e2e.yaml").read_text()
    texts = run_everything(bare_project, own_emulator)
    check_export(bare_project, token, "zomro:authToken")
    finish(bare_project, own_emulator, texts)
    assert_nowhere(token, texts, tmp_path, bare_project)
    assert own_emulator.counts().get("auth", 0) == 1  # the test's own login: none by the provider


def test_a_secret_password_never_appears_in_state_files_or_output(
    tmp_path: Path, bare_project: Project, own_emulator: Emulator
) -> None:
    bare_project.config("zomro:username", USER)
    bare_project.config("zomro:password", PASSWORD, secret=True)
    texts = run_everything(bare_project, own_emulator)
    check_export(bare_project, PASSWORD, "zomro:password")
    finish(bare_project, own_emulator, texts)
    assert_nowhere(PASSWORD, texts, tmp_path, bare_project)
    assert files_containing(bare_project.backend, USER)  # the scan does see plain config values
    logins = [r for r in own_emulator.requests() if r["func"] == "auth"]
    assert logins and {r["form"]["username"] for r in logins} == {USER}
    assert {r["form"]["password"] for r in logins} == {"***"}


def test_credentials_from_the_environment_leave_no_trace_even_with_show_secrets(
    tmp_path: Path, bare_project: Project, own_emulator: Emulator
) -> None:
    bare_project.extra_env.update(ZOMRO_USERNAME=USER, ZOMRO_PASSWORD=PASSWORD)
    texts = run_everything(bare_project, own_emulator)
    shown = bare_project.run("stack", "export", "--show-secrets").stdout
    texts.append(shown)
    assert '"min_ram": 2' in shown
    finish(bare_project, own_emulator, texts)
    assert_nowhere(PASSWORD, texts, tmp_path, bare_project)
    assert {r["form"]["username"] for r in own_emulator.requests() if r["func"] == "auth"} == {USER}
