"""Type checkers catch the mistakes a user makes with `zomro.Image`, as with a
generated Pulumi SDK: a misspelt or missing input, a value of the wrong type, in
both call styles.

A user program is written to a temporary directory and checked with mypy and
pyright against the installed `zomro_pulumi` (its own annotations, `py.typed`).
Both checkers run with the interpreter of this test run, whose site-packages hold
`pulumi`.  An editable install is reached through an import hook that static
checkers do not run, so the package directory is offered to them on a search path
of its own (for a regular install it is the same directory).
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import zomro_pulumi

PROGRAM_WITH_MISTAKES = textwrap.dedent(
    """\
    import pulumi
    import zomro_pulumi as zomro
    from zomro_pulumi import Image as I, ImageArgs as A

    ok = I("ok", image_name="U", region="R", url="u", disk_format="d", os_distro="o", architecture="x")
    I("a", imagename="U", region="R", url="u", disk_format="d", os_distro="o", architecture="x")  # M misspelt
    I("b", image_name=3, region="R", url="u", disk_format="d", os_distro="o", architecture="x")  # M int-for-str
    I("c", image_name="U", region="R", url="u", disk_format="d", os_distro="o", architecture="x",
      min_disk="big")  # M str-for-int
    I("d", image_name="U", region="R")  # M missing-keywords
    I("e", A(region="R"))  # M missing-args
    I("f", A(image_name="U", region="R", url="u", disk_format="d", os_distro="o", architecture="x",
             protected="yes"))  # M str-for-bool-in-args
    size: pulumi.Output[int] = ok.image_name  # M output-type
    zomro.get_images_output(region=3)  # M lookup-type
    """
)

CORRECT_PROGRAM = textwrap.dedent(
    """\
    from typing import Optional

    import pulumi
    import zomro_pulumi as zomro

    config = pulumi.Config()
    base = zomro.Image(
        "base",
        image_name="Ubuntu24",
        region=config.get("region") or "Netherlands-2",
        url="https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
        disk_format="iso",
        os_distro="ubuntu",
        architecture="x86_64",
        min_disk=2,
        protected=False,
        opts=pulumi.ResourceOptions(protect=False),
    )
    args = zomro.ImageArgs(
        image_name=base.image_name.apply(lambda n: n + "-copy"),
        region=base.region,
        url=base.url,
        disk_format="qcow2",
        os_distro=base.os_distro,
        architecture="x86_64",
        os_version="24",
    )
    copy = zomro.Image("copy", args, pulumi.ResourceOptions(depends_on=[base]))
    existing = zomro.Image.get("existing", "5206258")
    status: pulumi.Output[str] = copy.status
    size: pulumi.Output[Optional[int]] = existing.image_size
    found = zomro.get_images_output(region=base.region, image_name=copy.image_name)
    pulumi.export("ids", found.apply(lambda r: r.ids))
    records = zomro.get_images(region="Netherlands-2")
    pulumi.export("first", records[0].id if records else None)
    pulumi.export("status", status)
    """
)


def mistakes(program: str) -> dict[str, range]:
    """Each marked mistake and the lines of the statement it is in."""
    marks = {
        number: m.group(1)
        for number, line in enumerate(program.splitlines(), start=1)
        if (m := re.search(r"# M (\S+)", line))
    }
    found: dict[str, range] = {}
    for stmt in ast.parse(program).body:
        lines = range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)
        found.update({name: lines for number, name in marks.items() if number in lines})
    assert len(found) == len(marks)
    return found


@pytest.fixture(scope="module")
def search_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding only `zomro_pulumi`, the package this run imports, and
    `pulumi_zomro`, the generated SDK of the plugin (sdk/python)."""
    package_dir = Path(zomro_pulumi.__file__).resolve().parent
    assert (package_dir / "py.typed").is_file(), "zomro_pulumi ships no py.typed marker"
    root = tmp_path_factory.mktemp("typing-path")
    (root / "zomro_pulumi").symlink_to(package_dir, target_is_directory=True)
    sdk = Path(__file__).resolve().parents[2] / "sdk" / "python" / "pulumi_zomro"
    (root / "pulumi_zomro").symlink_to(sdk, target_is_directory=True)
    return root


def run_mypy(program: str, workdir: Path, search_path: Path) -> str:
    (workdir / "program.py").write_text(program)
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--no-incremental", "--show-error-codes",
            "--no-error-summary", "--config-file", "/dev/null",
            # as for an installed package: its modules are analysed, their own
            # errors (none of the user's business) are not reported
            "--follow-imports", "silent",
            "--python-executable", sys.executable, "program.py",
        ],
        cwd=workdir,
        env={"MYPYPATH": str(search_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return result.stdout


def pyright_command() -> list[str]:
    exe = shutil.which("pyright", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail("pyright is not installed in this environment (it is in the dev extra)")
    return [exe]


def run_pyright(
    program: str, workdir: Path, search_path: Path, files: tuple[str, ...] = ("program.py",)
) -> list[dict[str, object]]:
    (workdir / "program.py").write_text(program)
    (workdir / "pyrightconfig.json").write_text(
        json.dumps({"extraPaths": [str(search_path)], "typeCheckingMode": "standard"})
    )
    result = subprocess.run(
        [*pyright_command(), "--outputjson", "--pythonpath", sys.executable, *files],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    report = json.loads(result.stdout)
    return [d for d in report["generalDiagnostics"] if d["severity"] == "error"]


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_type_checkers_report_every_mistake(checker: str, tmp_path: Path, search_path: Path) -> None:
    expected = mistakes(PROGRAM_WITH_MISTAKES)
    if checker == "mypy":
        output = run_mypy(PROGRAM_WITH_MISTAKES, tmp_path, search_path)
        flagged = {int(m.group(1)) for m in re.finditer(r"^program\.py:(\d+): error", output, re.M)}
    else:
        errors = run_pyright(PROGRAM_WITH_MISTAKES, tmp_path, search_path)
        output = json.dumps(errors, indent=1)
        flagged = {int(d["range"]["start"]["line"]) + 1 for d in errors}  # type: ignore[index]
    missed = [name for name, lines in expected.items() if not flagged.intersection(lines)]
    assert not missed, f"{checker} did not report {missed}:\n{output}"
    unexpected = {n for n in flagged if not any(n in lines for lines in expected.values())}
    assert not unexpected, f"{checker} reported lines {unexpected} that hold no mistake:\n{output}"


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_a_correct_program_type_checks_clean(checker: str, tmp_path: Path, search_path: Path) -> None:
    if checker == "mypy":
        output = run_mypy(CORRECT_PROGRAM, tmp_path, search_path)
        assert output.strip() == "", output
    else:
        errors = run_pyright(CORRECT_PROGRAM, tmp_path, search_path)
        assert errors == [], json.dumps(errors, indent=1)


ROOT_DIR = Path(__file__).resolve().parents[2]


def test_the_shipped_examples_type_check_clean(tmp_path: Path, search_path: Path) -> None:
    """The demo program and every example use the typed API correctly (pyright
    checks each file on its own, so several `__main__.py` files are fine)."""
    sources = [ROOT_DIR / "__main__.py", *sorted((ROOT_DIR / "examples").glob("*/*.py"))]
    assert len(sources) >= 5
    names = []
    for source in sources:
        name = "_".join(source.relative_to(ROOT_DIR).parts)
        (tmp_path / name).write_text(source.read_text())
        names.append(name)
    errors = run_pyright("", tmp_path, search_path, tuple(names))
    assert errors == [], json.dumps(errors, indent=1)
