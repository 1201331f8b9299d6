"""Bad inputs fail at `pulumi preview`, naming the property, before any image call.

One case of each kind of check, each in a project (and stack) of its own, at
once, against one shared emulator that sees nothing but each run's one check of
the credentials.  Every value the parsers refuse is checked in
`tests/unit/test_check_diff.py`; this is the engine's side of it.
"""

from __future__ import annotations

import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness import PROGRAM, UBUNTU, Emulator, Project, Result

MISSING = object()

# (case id, property, value or MISSING, words the explanation must contain): one
# of each kind of check; every value is checked in tests/unit/test_check_diff.py.
CASES: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("unknown disk_format", "disk_format", "iso9660", ("must be one of", "qcow2")),
    ("min_disk as a string", "min_disk", "2", ("whole number",)),
    ("unknown key", "colour", "red", ("unknown property", "allowed")),
    ("missing url", "url", MISSING, ("required",)),
]


def args_for(prop: str, value: Any) -> dict[str, Any]:
    args = {**UBUNTU}
    if value is MISSING:
        del args[prop]
    else:
        args[prop] = value
    return args


def light_project(root: Path, cli_bin: str, emulator: Emulator) -> Project:
    """Like `make_project`, with the settings in the environment instead of stack
    config: one CLI call (`stack init`) instead of four, as the cases are many."""
    path, backend = root / "project", root / "backend"
    path.mkdir(parents=True)
    backend.mkdir()
    venv = Path(sys.executable).parent.parent
    (path / "Pulumi.yaml").write_text(
        f"name: zomro-e2e\nruntime:\n  name: python\n  options:\n    virtualenv: {venv}\n"
    )
    (path / "__main__.py").write_text(PROGRAM)
    project = Project(path=path, backend=backend, bin_dir=cli_bin)
    project.extra_env.update(
        ZOMRO_ENDPOINT=emulator.url, ZOMRO_USERNAME="demo", ZOMRO_PASSWORD="demo"
    )
    project.run("stack", "init", project.stack)
    return project


def preview_case(root: Path, cli_bin: str, emulator: Emulator, index: int) -> Result:
    _, prop, value, _ = CASES[index]
    project = light_project(root / f"case{index:02d}", cli_bin, emulator)
    project.declare({"img": args_for(prop, value)})
    return project.preview(check=False)


def test_each_bad_input_fails_preview_naming_the_property_with_no_image_call(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
        results = list(
            pool.map(lambda i: preview_case(tmp_path, cli_bin, emulator, i), range(len(CASES)))
        )
    problems = []
    for (case, prop, _value, words), result in zip(CASES, results):
        errors = [
            line
            for line in result.output.splitlines()
            if "resource 'img'" in line and "has a problem" in line
        ]
        named = [line for line in errors if re.search(rf"property {re.escape(prop)} value", line)]
        if result.returncode == 0 or not named:
            problems.append(
                f"{case}: exit {result.returncode}, errors {errors or result.output[-800:]}"
            )
            continue
        explanation = named[0].split("has a problem:", 1)[1]
        missing_words = [w for w in words if w not in explanation]
        if missing_words:
            problems.append(f"{case}: {explanation.strip()!r} lacks {missing_words}")
        if len(errors) != 1:  # only the bad property is blamed
            problems.append(f"{case}: more than one problem reported: {errors}")
    assert problems == []
    assert emulator.counts() == {"auth": len(CASES)}  # the credentials tried, nothing else
    assert emulator.images() == []
