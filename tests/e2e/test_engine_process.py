"""`zomro_pulumi._engine` under the real CLI: lines on their own rows, no orphaned provider.

A tiny program with its own dynamic provider uses the module the way the image
provider does: `start_parent_watch()` when configured, `current_urn()` at the
start of create, and `log(...)` under that URN.  No emulator is needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from harness import Project

PROGRAM = textwrap.dedent(
    '''
    """Declares one `Thing` per entry of things.json (written by the test)."""
    import json
    import time
    from pathlib import Path
    from typing import Any

    from pulumi.dynamic import ConfigureRequest, CreateResult, Resource, ResourceProvider

    from zomro_pulumi import _engine


    class ThingProvider(ResourceProvider):
        def configure(self, req: ConfigureRequest) -> None:
            _engine.start_parent_watch()

        def create(self, props: Any) -> CreateResult:
            urn = _engine.current_urn()
            label = props["label"]
            _engine.log(f"{label}: ordered", urn=urn)
            if props.get("marker"):
                Path(props["marker"]).write_text("creating")
            sleep = float(props.get("sleep") or 0)
            time.sleep(sleep)
            _engine.log(f"{label}: Active after {sleep:.0f}s", urn=urn)
            return CreateResult(label, {})


    class Thing(Resource):
        def __init__(self, name: str, **props: Any) -> None:
            super().__init__(ThingProvider(), name, props)


    for name, props in json.loads((Path(__file__).parent / "things.json").read_text()).items():
        Thing(name, **props)
    '''
)


@pytest.fixture
def things(tmp_path: Path, cli_bin: str) -> Project:
    path = tmp_path / "project"
    path.mkdir()
    backend = tmp_path / "backend"
    backend.mkdir()
    (path / "Pulumi.yaml").write_text(
        "name: engine-e2e\n"
        "runtime:\n"
        "  name: python\n"
        "  options:\n"
        f"    virtualenv: {Path(sys.executable).parent.parent}\n"
    )
    (path / "__main__.py").write_text(PROGRAM)
    project = Project(path=path, backend=backend, bin_dir=cli_bin)
    project.run("stack", "init", project.stack)
    return project


def declare(project: Project, **things: dict[str, Any]) -> None:
    (project.path / "things.json").write_text(json.dumps(things))


def diagnostics(output: str) -> dict[str, list[str]]:
    """The Diagnostics section of `pulumi up`: resource header -> its lines."""
    section = output.split("\nDiagnostics:\n", 1)[1].split("\nResources:\n", 1)[0]
    grouped: dict[str, list[str]] = {}
    lines: list[str] = []
    for line in section.splitlines():
        if line.startswith("  ") and not line.startswith("    ") and line.endswith(":"):
            lines = grouped.setdefault(line.strip(), [])
        elif line.strip():
            lines.append(line.strip())
    return grouped


def test_each_line_shows_under_its_own_resource(things: Project) -> None:
    declare(
        things,
        a={"label": "image 101 (Ubuntu24)", "sleep": 1},
        b={"label": "image 102 (Debian12)", "sleep": 1},
    )
    done = things.run("up", "--yes", "--skip-preview")
    assert diagnostics(done.stdout) == {
        "pulumi-python:dynamic:Resource (a):": [
            "image 101 (Ubuntu24): ordered",
            "image 101 (Ubuntu24): Active after 1s",
        ],
        "pulumi-python:dynamic:Resource (b):": [
            "image 102 (Debian12): ordered",
            "image 102 (Debian12): Active after 1s",
        ],
    }, done.stdout
    # while it runs, each row carries its own latest line
    rows = [line for line in done.stdout.splitlines() if "pulumi-python:dynamic:Resource" in line]
    assert any(" a creating " in r and r.endswith("image 101 (Ubuntu24): ordered") for r in rows)
    assert any(" b creating " in r and r.endswith("image 102 (Debian12): ordered") for r in rows)
    assert not any(" a " in r and "image 102" in r for r in rows)
    assert "zomro:" not in done.output  # nothing fell back to stderr (the Stack's row)


def process_tree(root: int) -> dict[int, str]:
    """Every process under `root`, with its command line."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    tree: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):
            tree[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        todo.extend(children.get(pid, []))
    return tree


def alive(pid: int) -> bool:
    """Running, not a zombie (an orphan's zombie may wait for a reaper that never comes)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_provider_exits_soon_after_pulumi_is_killed(things: Project, tmp_path: Path) -> None:
    marker = tmp_path / "creating"
    declare(things, slow={"label": "image 103 (Ubuntu24)", "sleep": 300, "marker": str(marker)})
    cmd = ["pulumi", "up", "--yes", "--skip-preview", "--non-interactive", "--color", "never"]
    proc = subprocess.Popen(
        [*cmd, "--stack", things.stack],
        cwd=things.path,
        env=things.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    tree: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert proc.poll() is None, "pulumi up ended before the create started"
            assert time.monotonic() < deadline, "the create never started"
            time.sleep(0.05)
        tree = process_tree(proc.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # as a CI job timeout does
        proc.wait()
    killed = time.monotonic()
    try:
        providers = [pid for pid, cmdline in tree.items() if " -m pulumi.dynamic " in f"{cmdline} "]
        assert len(providers) == 1, tree
        while alive(providers[0]):
            assert time.monotonic() - killed < 10, "the provider outlived pulumi by 10 s"
            time.sleep(0.1)
        print(f"provider exited {time.monotonic() - killed:.1f}s after pulumi was killed")
    finally:
        # anything else of this run that outlived pulumi (its own process group)
        for pid in tree:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
