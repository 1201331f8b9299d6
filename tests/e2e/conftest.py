"""End-to-end fixtures: the real `pulumi` CLI, a file backend, an emulator per test.

Each test gets its own emulator on a free port and its own backend folder and
project (see the top-level `harness` package, shared with the benchmarks).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Emulator, Project, make_project, nodejs, pulumi_bin
from harness.yaml import make_yaml_project
from harness.yaml import yaml_bin as find_yaml_bin


@pytest.fixture(scope="session")
def cli_bin() -> str:
    try:
        return pulumi_bin()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def yaml_bin() -> str:
    """The real YAML language host's directory (built from the Go module proxy once)."""
    try:
        return find_yaml_bin()
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def nodejs_bin() -> str:
    """The Node.js language host's directory (built by the project's script once);
    skipped, saying what is missing, on a machine without node or npm."""
    why = nodejs.missing()
    if why:
        pytest.skip(f"TypeScript programs not run: {why}")
    try:
        return nodejs.host_bin()
    except RuntimeError as exc:
        if "no Go to build it" in str(exc):
            pytest.skip("TypeScript programs not run: no pulumi-language-nodejs on PATH and no 'go' to build it")
        pytest.fail(str(exc))


@pytest.fixture
def yaml_project(tmp_path: Path, cli_bin: str, yaml_bin: str, emulator: Emulator) -> Project:
    return make_yaml_project(tmp_path, cli_bin, yaml_bin, emulator)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    emu = Emulator()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def second() -> Iterator[Emulator]:
    """A second Zomro account: its own emulator."""
    emu = Emulator()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def project(
    tmp_path: Path, cli_bin: str, emulator: Emulator, request: pytest.FixtureRequest
) -> Iterator[Project]:
    proj = make_project(tmp_path, cli_bin, emulator)
    yield proj
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and rep.failed:
        sys.stderr.write("\n".join(proj.log[-6:]))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    rep = outcome.get_result()  # type: ignore[attr-defined]
    if rep.when == "call":
        item.rep_call = rep  # type: ignore[attr-defined]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
