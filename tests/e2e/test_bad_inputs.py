"""Bad inputs fail at `pulumi preview`, naming the property, before any API call.

Each case runs in a project (and stack) of its own, four at a time, against one
shared emulator that must not see a single request.
"""

from __future__ import annotations

import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from harness import PROGRAM, UBUNTU, Emulator, Project, Result

MISSING = object()

# (case id, property, value or MISSING, words the explanation must contain)
CASES: list[tuple[str, str, Any, tuple[str, ...]]] = [
    ("unknown disk_format", "disk_format", "iso9660", ("must be one of", "qcow2")),
    ("disk_format in capitals", "disk_format", "ISO", ("must be one of",)),
    ("unknown architecture", "architecture", "arm64", ("must be one of", "x86_64")),
    ("architecture as a number", "architecture", 64, ("must be one of",)),
    ("negative min_disk", "min_disk", -1, ("at least 1",)),
    ("zero min_disk", "min_disk", 0, ("at least 1",)),
    ("negative min_ram", "min_ram", -4, ("at least 1",)),
    ("min_disk as a string", "min_disk", "2", ("whole number",)),
    ("fractional min_ram", "min_ram", 1.5, ("whole number",)),
    ("min_ram as a bool", "min_ram", True, ("whole number",)),
    ("empty image_name", "image_name", "", ("must not be empty",)),
    ("blank image_name", "image_name", "   ", ("must not be empty",)),
    ("image_name as a number", "image_name", 5, ("must be a string",)),
    ("image_name padded", "image_name", " Ubuntu24", ("spaces",)),
    ("empty os_distro", "os_distro", "", ("must not be empty",)),
    ("empty region", "region", "", ("must not be empty",)),
    ("region as a list", "region", ["Netherlands-2"], ("must be a string",)),
    ("url not a url", "url", "not a url", ("http",)),
    ("url with ftp", "url", "ftp://example.com/x.iso", ("http",)),
    ("url without host", "url", "https://", ("http",)),
    ("url with a space", "url", "https://example.com/my image.iso", ("http",)),
    ("protected as a word", "protected", "yes", ("true or false",)),
    ("protected as a number", "protected", 1, ("true or false",)),
    ("order_period -30", "order_period", -30, ("-50",)),
    ("order_period as a word", "order_period", "monthly", ("whole number",)),
    ("pricelist not numeric", "pricelist", "cheap", ("numeric id",)),
    ("create_timeout zero", "create_timeout", 0, ("at least 1",)),
    ("adopt_image_id not numeric", "adopt_image_id", "img-5206259", ("numeric id",)),
    ("unknown key", "colour", "red", ("unknown property", "allowed")),
    ("output given as input", "image_id", "5206259", ("unknown property",)),
    ("missing image_name", "image_name", MISSING, ("required",)),
    ("missing url", "url", MISSING, ("required",)),
    ("missing region", "region", MISSING, ("required",)),
    ("missing disk_format", "disk_format", MISSING, ("required",)),
    ("missing architecture", "architecture", MISSING, ("required",)),
    ("missing os_distro", "os_distro", MISSING, ("required",)),
    ("null image_name", "image_name", None, ("required",)),
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


def test_each_bad_input_fails_preview_naming_the_property_with_no_api_call(
    tmp_path: Path, cli_bin: str, emulator: Emulator
) -> None:
    assert len(CASES) >= 25
    with ThreadPoolExecutor(max_workers=4) as pool:
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
    stats = emulator.get("stats")
    assert stats["total"] == 0 and stats["mutating"] == 0, stats
    assert emulator.images() == []
