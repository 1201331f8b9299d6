"""Measure the performance targets of issue 5 with the real Pulumi CLI.

Starts its own emulator, runs `pulumi up`/`refresh`/`preview` on throw-away
stacks, reads the emulator's request log, and prints a table of figures against
their targets, then (last line) the same figures as one JSON object.

    python benchmarks/run.py            # everything (about 6 minutes)
    python benchmarks/run.py --quick    # skips the 60 s and 120 s activation waits

Not a test: it reports numbers, it does not assert them.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import UBUNTU, Emulator, Project, make_project, pulumi_bin  # noqa: E402


def image(i: int) -> dict[str, Any]:
    return {**UBUNTU, "image_name": f"bench-{i:03d}"}


def images(n: int) -> dict[str, dict[str, Any]]:
    return {f"img{i:03d}": image(i) for i in range(n)}


def timed_up(project: Project, n: int, parallel: int) -> float:
    project.declare(images(n))
    start = time.monotonic()
    project.up("--parallel", str(parallel))
    return time.monotonic() - start


def destroy(project: Project) -> None:
    project.declare({})
    project.up("--parallel", "32")


def wall_ratio(
    workdir: Path, bin_dir: str, emu: Emulator, max_concurrency: str
) -> dict[str, float]:
    """`up` of 16 images ÷ `up` of 1, activation 5 s, --parallel 32."""
    emu.faults(activation_delay=5.0)
    project = make_project(workdir / f"ratio-{max_concurrency}", bin_dir, emu, stack="ratio")
    project.extra_env["ZOMRO_MAX_CONCURRENCY"] = max_concurrency
    one = timed_up(project, 1, 32)
    destroy(project)
    sixteen = timed_up(project, 16, 32)
    destroy(project)
    return {
        "one_s": round(one, 2),
        "sixteen_s": round(sixteen, 2),
        "ratio": round(sixteen / one, 2),
    }


def refresh_and_preview_calls(workdir: Path, bin_dir: str, emu: Emulator) -> dict[str, Any]:
    emu.faults(activation_delay=0.5)
    project = make_project(workdir / "refresh", bin_dir, emu, stack="refresh")
    project.declare(images(50))
    project.up("--parallel", "64")
    emu.reset_stats()
    project.run("refresh", "--yes", "--skip-preview", "--parallel", "64")
    refresh = emu.get("stats")
    emu.reset_stats()
    project.run("preview", "--parallel", "64")
    preview = emu.get("stats")
    destroy(project)
    return {
        "refresh_calls": int(refresh["total"]),
        "refresh_calls_by_func": refresh["counts"],
        "preview_calls": int(preview["total"]),
    }


def wait_figures(workdir: Path, bin_dir: str, emu: Emulator, delay: float) -> dict[str, float]:
    """Seconds from Active to the create's last call, and status polls per create."""
    emu.faults(activation_delay=delay)
    project = make_project(workdir / f"wait-{int(delay)}", bin_dir, emu, stack=f"wait{int(delay)}")
    emu.reset_stats()
    project.declare({"img": image(0)})
    project.up()
    (img,) = emu.images()
    created = datetime.datetime.fromisoformat(img["created"]).timestamp()
    active_at = created + delay
    log = emu.requests()
    # The create returns right after its last call: the list read that fills the outputs.
    last_call = max(r["time"] for r in log)
    polls = sum(
        1
        for r in log
        if r["func"] == "image.edit"
        and "sok" not in r["form"]
        and r["form"].get("elid") == img["id"]
    )
    destroy(project)
    return {"activation_s": delay, "latency_s": round(last_call - active_at, 2), "polls": polls}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="only the short figures")
    args = parser.parse_args(argv)
    bin_dir = pulumi_bin()
    delays = [5.0] if args.quick else [5.0, 60.0, 120.0]
    emu = Emulator(activation_delay=5.0, delete_delay=0.3)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="zomro-bench-") as tmp:
            work = Path(tmp)
            print(
                "measuring: up of 1 and 16 images (ours, then the stock 4 workers)...",
                file=sys.stderr,
            )
            ours = wall_ratio(work, bin_dir, emu, "32")
            stock = wall_ratio(work, bin_dir, emu, "4")
            print("measuring: refresh and preview of 50 images...", file=sys.stderr)
            calls = refresh_and_preview_calls(work, bin_dir, emu)
            waits = []
            for delay in delays:
                print(f"measuring: wait at activation {delay:.0f}s...", file=sys.stderr)
                waits.append(wait_figures(work, bin_dir, emu, delay))
    finally:
        emu.stop()

    rows = [
        (
            "wall time up 16 ÷ up 1 images (activation 5 s, --parallel 32)",
            "<= 1.5",
            f"{ours['ratio']} ({ours['sixteen_s']} s / {ours['one_s']} s); stock 4 workers: "
            f"{stock['ratio']} ({stock['sixteen_s']} s / {stock['one_s']} s)",
            ours["ratio"] <= 1.5,
        ),
        (
            "API calls of `pulumi refresh`, 50 images",
            "<= 3",
            f"{calls['refresh_calls']} {calls['refresh_calls_by_func']}",
            calls["refresh_calls"] <= 3,
        ),
        (
            "API calls of an unchanged `pulumi preview`",
            "0",
            str(calls["preview_calls"]),
            calls["preview_calls"] == 0,
        ),
    ]
    for w in waits:
        a = w["activation_s"]
        limit = min(2 + 0.1 * a, 10.0)
        rows.append(
            (
                f"s from Active to create returning, activation {a:.0f} s",
                f"<= {limit:.1f}",
                str(w["latency_s"]),
                w["latency_s"] <= limit,
            )
        )
        rows.append(
            (
                f"status polls per create, activation {a:.0f} s",
                f"<= {4 + a / 10:.0f}",
                str(w["polls"]),
                w["polls"] <= 4 + a / 10,
            )
        )

    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure'.ljust(width)} | target | measured | met")
    print(f"{'-' * width} | ------ | -------- | ---")
    for name, target, measured, met in rows:
        print(f"{name.ljust(width)} | {target} | {measured} | {'yes' if met else 'NO'}")
    print(
        f"(total benchmark time {time.monotonic() - started:.0f} s; {'quick' if args.quick else 'full'} run)"
    )
    figures = {
        "ratio_16_vs_1": ours["ratio"],
        "up_1_s": ours["one_s"],
        "up_16_s": ours["sixteen_s"],
        "stock_ratio_16_vs_1": stock["ratio"],
        "stock_up_16_s": stock["sixteen_s"],
        "refresh_calls_50": calls["refresh_calls"],
        "preview_calls": calls["preview_calls"],
        "waits": waits,
        "all_met": all(r[3] for r in rows),
    }
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
