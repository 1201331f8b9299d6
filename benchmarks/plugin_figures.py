"""The provider plugin's figures, measured in the same run as the dynamic
provider's: the same measurements, with a YAML program through
`pulumi-resource-zomro` and the real YAML language host.

Targets: 16 images in one YAML program take at most 1.5 times the wall time of one
(the creates run at once), and each count of API calls is within 10 % of the
dynamic provider's for the same work (at least one call of slack, for counts
of one or two).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

import requests

from harness import UBUNTU, Emulator, Project
from harness.yaml import make_yaml_project, write_program, yaml_bin

Row = tuple[str, str, str, bool]
ORDER = "v2.image.order.param"


def images(n: int) -> dict[str, dict[str, Any]]:
    return {f"img{i:03d}": {**UBUNTU, "image_name": f"bench-{i:03d}"} for i in range(n)}


def emulator(activation: float) -> Emulator:
    """A fresh emulator per measurement (a context manager: stopped at its end)."""
    return Emulator(activation_delay=activation, delete_delay=0.3)


class Plugin:
    """YAML stacks for one benchmark run: the CLI, the YAML host, a work folder."""

    def __init__(self, work: Path, cli_bin: str) -> None:
        self.work = work / "plugin"
        self.cli_bin = cli_bin
        self.host_bin = yaml_bin()

    def project(self, name: str, emu: Emulator, max_concurrency: Optional[int] = None) -> Project:
        folder = self.work / name
        folder.mkdir(parents=True)
        proj = make_yaml_project(folder, self.cli_bin, self.host_bin, emu)
        if max_concurrency is not None:
            proj.extra_env["ZOMRO_MAX_CONCURRENCY"] = str(max_concurrency)
        return proj


def timed_up(proj: Project, declared: dict[str, dict[str, Any]], parallel: int) -> float:
    """Wall seconds of one `pulumi up` of exactly these images."""
    write_program(proj.path, declared)
    start = time.monotonic()
    proj.up("--parallel", str(parallel))
    return time.monotonic() - start


def wall_ratio(plugin: Plugin, n: int) -> dict[str, float]:
    """`up` of n images ÷ `up` of 1, activation 5 s, each on a stack of its own."""
    with emulator(5.0) as emu:
        one = timed_up(plugin.project(f"ratio{n}-one", emu, 2 * n), images(1), 2 * n)
        many = timed_up(plugin.project(f"ratio{n}-many", emu, 2 * n), images(n), 2 * n)
    return {"one_s": round(one, 2), "many_s": round(many, 2), "ratio": round(many / one, 2)}


def up16_calls(plugin: Plugin, activation: float) -> dict[str, Any]:
    with emulator(activation) as emu:
        proj = plugin.project(f"up16-{activation:.0f}", emu)
        emu.reset_stats()
        wall = timed_up(proj, images(16), 32)
        stats = emu.get("stats")
    return {"calls": int(stats["total"]), "orders": int(stats["counts"].get(ORDER, 0)),
            "by_func": stats["counts"], "wall_s": round(wall, 2)}


def preview_calls(plugin: Plugin) -> dict[str, Any]:
    """API calls of an unchanged `pulumi preview` of 50 images."""
    with emulator(0.5) as emu:
        proj = plugin.project("preview50", emu)
        timed_up(proj, images(50), 64)
        emu.reset_stats()
        proj.run("preview", "--parallel", "64")
        stats = emu.get("stats")
    return {"calls": int(stats["total"]), "by_func": stats["counts"]}


def refresh_500(plugin: Plugin, n: int = 500) -> dict[str, Any]:
    """API calls of `pulumi refresh` of n images adopted with `adoptImageId`."""
    with emulator(0.5) as emu:
        proj = plugin.project("refresh500", emu, max_concurrency=64)
        declared: dict[str, dict[str, Any]] = {}
        with requests.Session() as http:
            for name, args in images(n).items():
                resp = http.post(emu.admin + "images", json={**args, "status": "Active"}, timeout=10)
                resp.raise_for_status()
                declared[name] = {**args, "adopt_image_id": resp.json()["id"]}
        proj.extra_env.update(PULUMI_EXPERIMENTAL="true", PULUMI_SKIP_CHECKPOINTS="true")
        timed_up(proj, declared, 64)
        del proj.extra_env["PULUMI_EXPERIMENTAL"], proj.extra_env["PULUMI_SKIP_CHECKPOINTS"]
        setup_changes = int(emu.get("stats")["mutating"])
        emu.reset_stats()
        start = time.monotonic()
        proj.run("refresh", "--yes", "--skip-preview", "--parallel", "64")
        refresh_s = time.monotonic() - start
        stats = emu.get("stats")
    return {"calls": int(stats["total"]), "by_func": stats["counts"], "refresh_s": round(refresh_s, 2),
            "setup_changes": setup_changes}


def close(plugin_calls: int, dynamic_calls: int) -> bool:
    """Within 10 % of the dynamic provider's count (one call of slack)."""
    return abs(plugin_calls - dynamic_calls) <= max(1, 0.1 * dynamic_calls)


def measure(
    work: Path, cli_bin: str, say: Callable[[str], None], up16_activation: float, dynamic: dict[str, Any]
) -> tuple[list[Row], dict[str, Any]]:
    """Rows and keys of the plugin, compared with the dynamic provider's `dynamic` keys."""
    plugin = Plugin(work, cli_bin)
    say("plugin: up of 1 and 16 images from a YAML program")
    ratio = wall_ratio(plugin, 16)
    say(f"plugin: API calls of an up of 16 images, activation {up16_activation:.0f} s")
    up16 = up16_calls(plugin, up16_activation)
    say("plugin: unchanged preview of 50 images")
    preview = preview_calls(plugin)
    say("plugin: refresh of 500 adopted images")
    big = refresh_500(plugin)
    up16_key = f"up16_calls_t{up16_activation:.0f}"
    rows: list[Row] = [
        ("plugin: wall time up 16 ÷ up 1 images (YAML, activation 5 s, --parallel 32)", "<= 1.5",
         f"{ratio['ratio']} ({ratio['many_s']} s / {ratio['one_s']} s)", ratio["ratio"] <= 1.5),
        (f"plugin: API calls of `pulumi up` creating 16 images, activation {up16_activation:.0f} s",
         f"dynamic {dynamic[up16_key]} ± 10 %", f"{up16['calls']} ({up16['orders']} orders) {up16['by_func']}",
         up16["orders"] == 16 and close(up16["calls"], dynamic[up16_key])),
        ("plugin: API calls of `pulumi refresh`, 500 images", f"dynamic {dynamic['refresh_calls_500']} ± 10 %",
         f"{big['calls']} {big['by_func']} (refresh {big['refresh_s']} s; {big['setup_changes']} changes adopting)",
         close(big["calls"], dynamic["refresh_calls_500"]) and big["setup_changes"] == 0),
        ("plugin: API calls of an unchanged `pulumi preview`, 50 images", f"dynamic {dynamic['preview_calls']} ± 10 %",
         f"{preview['calls']} {preview['by_func']}", close(preview["calls"], dynamic["preview_calls"])),
    ]
    figures = {
        "plugin_ratio_16_vs_1": ratio["ratio"],
        "plugin_up_1_s": ratio["one_s"],
        "plugin_up_16_s": ratio["many_s"],
        f"plugin_{up16_key}": up16["calls"],
        "plugin_up16_calls_by_func": up16["by_func"],
        "plugin_refresh_calls_500": big["calls"],
        "plugin_refresh_500_s": big["refresh_s"],
        "plugin_preview_calls": preview["calls"],
        "plugin_preview_calls_by_func": preview["by_func"],
    }
    return rows, figures
