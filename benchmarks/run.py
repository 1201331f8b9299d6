"""Measure the provider's performance targets with the real Pulumi CLI.

Every measurement starts its own emulator and throw-away stack, runs `pulumi
up`/`refresh`/`preview`, reads what the emulator saw (its request counts and
log), and the run prints a table of figures against their targets, then (last
line) the same figures as one JSON object. `benchmarks/README.md` defines each.

    python benchmarks/run.py            # everything (about 9 minutes on 2 cores)
    python benchmarks/run.py --quick    # up16 calls at 20 s, waits at 3, 8, 16 s only

Both the dynamic provider and the provider plugin (a YAML program, see
`plugin_figures.py`) are measured in one run, under keys of their own.
    python benchmarks/run.py --scale    # only the 256-image figures (about 2 minutes)
    python benchmarks/run.py --scale --scale-images 32   # the same, smaller, for a trial

Not a test: it reports numbers, it does not assert them. Calls are counted on the
emulator's side only, so the figures do not depend on how the provider waits.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Optional

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plugin_figures  # noqa: E402  (beside this file)

from harness import UBUNTU, Emulator, Project, make_project, pulumi_bin  # noqa: E402

#: The harness's program, plus a note of the moment each create returned: the
#: engine hands a new image's id to the program only after `create` returned and
#: the state was saved, so this is when the user's `pulumi up` sees the image.
PROGRAM = textwrap.dedent(
    '''
    """Declares one zomro.Image per entry of images.json; notes when each id arrives."""
    import json
    import time
    from pathlib import Path

    import zomro_pulumi as zomro

    here = Path(__file__).parent
    spec = json.loads((here / "images.json").read_text())


    def note(name):
        def write(image_id):
            with (here / "returned.jsonl").open("a") as out:
                out.write(json.dumps({"name": name, "id": image_id, "time": time.time()}) + "\\n")
            return image_id

        return write


    for name, args in spec.get("images", {}).items():
        zomro.Image(name, **args).id.apply(note(name))
    '''
)

ORDER = "v2.image.order.param"
#: The emulator's log times are rounded to the millisecond.
LOG_RESOLUTION = 0.0005


def image(i: int) -> dict[str, Any]:
    return {**UBUNTU, "image_name": f"bench-{i:03d}"}


def images(n: int) -> dict[str, dict[str, Any]]:
    return {f"img{i:03d}": image(i) for i in range(n)}


@contextmanager
def emulator(activation: float) -> Iterator[Emulator]:
    """A fresh emulator per measurement: no leftovers in its lists or counts."""
    emu = Emulator(activation_delay=activation, delete_delay=0.3)
    try:
        yield emu
    finally:
        emu.stop()


def project(
    workdir: Path, name: str, bin_dir: str, emu: Emulator, max_concurrency: Optional[int] = None
) -> Project:
    proj = make_project(workdir / name, bin_dir, emu, stack=name)
    (proj.path / "__main__.py").write_text(PROGRAM)
    if max_concurrency is not None:
        proj.extra_env["ZOMRO_MAX_CONCURRENCY"] = str(max_concurrency)
    return proj


def timed_up(proj: Project, declared: dict[str, dict[str, Any]], parallel: int) -> float:
    """Wall seconds of one `pulumi up` of exactly these images."""
    (proj.path / "returned.jsonl").unlink(missing_ok=True)
    proj.declare(declared)
    start = time.monotonic()
    proj.up("--parallel", str(parallel))
    return time.monotonic() - start


def returned(proj: Project) -> dict[str, float]:
    """Resource name -> when the program received its id (the create returned)."""
    path = proj.path / "returned.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return {e["name"]: float(e["time"]) for e in map(json.loads, lines)}


def wall_ratio(
    workdir: Path, bin_dir: str, n: int, parallel: int, max_concurrency: int
) -> dict[str, float]:
    """`up` of n images ÷ `up` of 1, activation 5 s, each on a stack of its own."""
    with emulator(5.0) as emu:
        tag = f"ratio{n}-{max_concurrency}"
        one = timed_up(
            project(workdir, f"{tag}-one", bin_dir, emu, max_concurrency), images(1), parallel
        )
        many = timed_up(
            project(workdir, f"{tag}-many", bin_dir, emu, max_concurrency), images(n), parallel
        )
    return {"one_s": round(one, 2), "many_s": round(many, 2), "ratio": round(many / one, 2)}


class ProviderMemory:
    """Peak resident memory of the dynamic-provider processes a command starts.

    The provider is `python -m pulumi.dynamic`, which the CLI starts through a shell
    script; other runs on a shared machine have theirs, so only processes descending
    from this one are read (the program's own process is not one). Each is read from
    /proc every `interval` s while the command runs; its VmHWM is the kernel's own
    high-water mark of its resident set, so a peak between two reads still counts
    and only growth in the last `interval` before the process exits can be missed.
    """

    def __init__(self, interval: float = 0.25) -> None:
        self.interval = interval
        self.peaks_kb: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="provider-memory", daemon=True)

    def __enter__(self) -> ProviderMemory:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> Optional[float]:
        """The largest peak of any provider process seen, MiB; None if none was seen."""
        return round(max(self.peaks_kb.values()) / 1024, 1) if self.peaks_kb else None

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        for pid in self._providers():
            peak = _status_kb(pid, "VmHWM")
            if peak is not None:
                self.peaks_kb[pid] = max(peak, self.peaks_kb.get(pid, 0))

    @staticmethod
    def _providers() -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
        found, todo = [], list(children.get(os.getpid(), []))
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, []))
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"pulumi.dynamic" in argv and b"-m" in argv:
                found.append(pid)
        return found


def _status_kb(pid: int, key: str) -> Optional[int]:
    """One `kB` figure of /proc/<pid>/status, or None once the process is gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])
    return None


#: Images of the scale figures.
SCALE_IMAGES = 256


def scale_figures(
    workdir: Path, bin_dir: str, n: int, *, skip_checkpoints: bool = False
) -> dict[str, Any]:
    """`up` of n images ÷ `up` of 1, and the API calls and provider memory of the n.

    Activation 5 s, each `up` on a stack of its own against one emulator. `--parallel
    n` lets the engine run every create at once and `ZOMRO_MAX_CONCURRENCY` 2n gives
    the provider a worker thread for each with room to spare, so what is left is the
    provider's own cost per image and the engine's state saving: by default the file
    backend writes the whole state after every step, as a user's `pulumi up` does;
    `skip_checkpoints` sets `PULUMI_EXPERIMENTAL=true PULUMI_SKIP_CHECKPOINTS=true`
    (the state is written once, at the end) to show how much of the time that is.
    """
    parallel, max_concurrency = n, 2 * n
    tag = f"scale{n}{'-skip' if skip_checkpoints else ''}"
    with emulator(5.0) as emu:
        one_proj = project(workdir, f"{tag}-one", bin_dir, emu, max_concurrency)
        many_proj = project(workdir, f"{tag}-many", bin_dir, emu, max_concurrency)
        if skip_checkpoints:
            for proj in (one_proj, many_proj):
                proj.extra_env.update(PULUMI_EXPERIMENTAL="true", PULUMI_SKIP_CHECKPOINTS="true")
        with ProviderMemory() as baseline:
            one = timed_up(one_proj, images(1), parallel)
        emu.reset_stats()
        with ProviderMemory() as memory:
            many = timed_up(many_proj, images(n), parallel)
        stats = emu.get("stats")
    return {
        "images": n,
        "parallel": parallel,
        "max_concurrency": max_concurrency,
        "one_s": round(one, 2),
        "many_s": round(many, 2),
        "ratio": round(many / one, 2),
        "calls": int(stats["total"]),
        "orders": int(stats["counts"].get(ORDER, 0)),
        "by_func": stats["counts"],
        "rss_mb": memory.peak_mb,
        "rss_mb_1": baseline.peak_mb,
        "providers": len(memory.peaks_kb),
    }


def up16_calls(workdir: Path, bin_dir: str, activation: float) -> dict[str, Any]:
    """Every API request the emulator answered during an `up` creating 16 images."""
    with emulator(activation) as emu:
        proj = project(workdir, f"up16-{activation:.0f}", bin_dir, emu)
        emu.reset_stats()
        wall = timed_up(proj, images(16), 32)
        stats = emu.get("stats")
    return {
        "activation_s": activation,
        "calls": int(stats["total"]),
        "orders": int(stats["counts"].get(ORDER, 0)),
        "by_func": stats["counts"],
        "wall_s": round(wall, 2),
    }


def refresh_and_preview_calls(workdir: Path, bin_dir: str) -> dict[str, Any]:
    """API calls of `pulumi refresh` and of an unchanged `pulumi preview`, 50 images."""
    with emulator(0.5) as emu:
        proj = project(workdir, "refresh50", bin_dir, emu)
        timed_up(proj, images(50), 64)
        emu.reset_stats()
        proj.run("refresh", "--yes", "--skip-preview", "--parallel", "64")
        refresh = emu.get("stats")
        emu.reset_stats()
        proj.run("preview", "--parallel", "64")
        preview = emu.get("stats")
    return {
        "refresh_calls": int(refresh["total"]),
        "refresh_calls_by_func": refresh["counts"],
        "preview_calls": int(preview["total"]),
        "preview_calls_by_func": preview["counts"],
    }


def refresh_500(workdir: Path, bin_dir: str, n: int = 500) -> dict[str, Any]:
    """API calls of `pulumi refresh` of n images brought into a stack by adoption.

    The images are made Active out of band (emulator admin), then one `up` adopts
    each with `adopt_image_id` and the same fields, which orders and edits nothing.
    """
    with emulator(0.5) as emu:
        proj = project(workdir, "refresh500", bin_dir, emu, max_concurrency=64)
        start = time.monotonic()
        declared: dict[str, dict[str, Any]] = {}
        with requests.Session() as http:
            for name, args in images(n).items():
                resp = http.post(
                    emu.admin + "images", json={**args, "status": "Active"}, timeout=10
                )
                resp.raise_for_status()
                declared[name] = {**args, "adopt_image_id": resp.json()["id"]}
        made = time.monotonic() - start
        emu.reset_stats()
        # Saving the state once at the end instead of after each of the n steps keeps
        # the setup linear; the refresh measured below saves its state as usual.
        proj.extra_env.update(PULUMI_EXPERIMENTAL="true", PULUMI_SKIP_CHECKPOINTS="true")
        timed_up(proj, declared, 64)
        del proj.extra_env["PULUMI_EXPERIMENTAL"], proj.extra_env["PULUMI_SKIP_CHECKPOINTS"]
        setup = emu.get("stats")
        setup_s = time.monotonic() - start
        emu.reset_stats()
        start = time.monotonic()
        proj.run("refresh", "--yes", "--skip-preview", "--parallel", "64")
        refresh_s = time.monotonic() - start
        stats = emu.get("stats")
    return {
        "calls": int(stats["total"]),
        "by_func": stats["counts"],
        "refresh_s": round(refresh_s, 2),
        "setup_s": round(setup_s, 2),
        "setup_admin_s": round(made, 2),
        "setup_calls": int(setup["total"]),
        # Orders, deletes and edits during the adoption: 0 when it changed nothing.
        "setup_changes": int(setup["mutating"]),
    }


def wait_figures(workdir: Path, bin_dir: str, delay: float) -> dict[str, float]:
    """How soon after Active one create returns, and its status rounds before Active."""
    with emulator(delay) as emu:
        proj = project(workdir, f"wait{delay:.0f}", bin_dir, emu)
        emu.reset_stats()
        timed_up(proj, {"img": image(0)}, 4)
        (img,) = emu.images()
        log = emu.requests()
    done = returned(proj)["img"]
    ordered = datetime.datetime.fromisoformat(img["created"]).timestamp()
    active_at = ordered + delay
    rounds = [
        r["time"]
        for r in log
        if r["func"] == "image"
        or (
            r["func"] == "image.edit"
            and "sok" not in r["form"]
            and r["form"].get("elid") == img["id"]
        )
    ]
    last_call = max(r["time"] for r in log if r["time"] <= done)
    return {
        "activation_s": delay,
        "latency_s": round(done - active_at, 2),
        "polls": sum(1 for t in rounds if ordered < t < active_at - LOG_RESOLUTION),
        "polls_to_return": sum(1 for t in rounds if ordered < t <= done),
        "last_call_s": round(last_call - active_at, 2),
    }


#: `ZOMRO_MAX_CONCURRENCY` for the 64-image `up`: twice the images, so neither the
#: provider's worker threads nor its calls in flight cap it; `--parallel 64` lets
#: the engine run all 64 creates at once.
MAX_CONCURRENCY_64 = 128


def wait_limit(activation: float) -> float:
    return min(2 + 0.1 * activation, 10.0)


#: What an unchanged preview may call: trying the account's credentials once (a login
#: with username and password, `whoami` with a token), nothing about images.
CREDENTIAL_CHECKS = frozenset({"auth", "whoami"})

#: A row of the table: figure, target, measured, met.
Row = tuple[str, str, str, bool]


def scale_rows(plain: dict[str, Any], skip: dict[str, Any]) -> list[Row]:
    """The table rows of the scale figures (`plain` checkpoints as a user's `up` does)."""
    n = plain["images"]
    limit = n + 40
    settings = (
        f"activation 5 s, --parallel {plain['parallel']}, "
        f"ZOMRO_MAX_CONCURRENCY={plain['max_concurrency']}"
    )
    rss = plain["rss_mb"]
    return [
        (
            f"wall time up {n} ÷ up 1 images ({settings}, state saved after every step)",
            "<= 2.0",
            f"{plain['ratio']} ({plain['many_s']} s / {plain['one_s']} s)",
            plain["ratio"] <= 2.0,
        ),
        (
            "the same with PULUMI_EXPERIMENTAL=true PULUMI_SKIP_CHECKPOINTS=true",
            "-",
            f"{skip['ratio']} ({skip['many_s']} s / {skip['one_s']} s)",
            True,
        ),
        (
            f"API calls of `pulumi up` creating {n} images, activation 5 s",
            f"<= {limit}",
            f"{plain['calls']} ({plain['orders']} orders; orders + renames alone are "
            f"{2 * n}) {plain['by_func']}",
            plain["orders"] == n and plain["calls"] <= limit,
        ),
        (
            "peak RSS of the provider process during that up, MiB (VmHWM)",
            "-",
            "not seen"
            if rss is None
            else f"{rss} ({plain['providers']} process(es); up of 1 image: {plain['rss_mb_1']})",
            True,
        ),
    ]


def scale_keys(plain: dict[str, Any], skip: dict[str, Any]) -> dict[str, Any]:
    """The JSON keys of the scale figures, named after the number of images."""
    n = plain["images"]
    return {
        f"ratio_{n}_vs_1": plain["ratio"],
        f"ratio_{n}_up_1_s": plain["one_s"],
        f"up_{n}_s": plain["many_s"],
        f"ratio_{n}_vs_1_skip_checkpoints": skip["ratio"],
        f"ratio_{n}_skip_checkpoints_up_1_s": skip["one_s"],
        f"up_{n}_skip_checkpoints_s": skip["many_s"],
        f"up{n}_calls": plain["calls"],
        f"up{n}_orders": plain["orders"],
        f"up{n}_calls_by_func": plain["by_func"],
        f"provider_rss_mb_{n}": plain["rss_mb"],
        "provider_rss_mb_1": plain["rss_mb_1"],
    }


def everything_else(
    work: Path,
    bin_dir: str,
    say: Callable[[str], None],
    delays: list[float],
    up16_activation: float,
) -> tuple[list[Row], dict[str, Any]]:
    """The figures of a full or `--quick` run other than the scale ones: rows and keys."""
    say("up of 1 and 16 images (ours, then the stock 4 workers)")
    ours = wall_ratio(work, bin_dir, 16, 32, 32)
    stock = wall_ratio(work, bin_dir, 16, 32, 4)
    say(f"up of 1 and 64 images (--parallel 64, {MAX_CONCURRENCY_64} calls in flight)")
    wide = wall_ratio(work, bin_dir, 64, 64, MAX_CONCURRENCY_64)
    say(f"API calls of an up of 16 images, activation {up16_activation:.0f} s")
    up16 = up16_calls(work, bin_dir, up16_activation)
    say("refresh and preview of 50 images")
    calls = refresh_and_preview_calls(work, bin_dir)
    say("refresh of 500 adopted images")
    big = refresh_500(work, bin_dir)
    waits = []
    for delay in delays:
        say(f"wait at activation {delay:.0f} s")
        waits.append(wait_figures(work, bin_dir, delay))

    # Every new image costs its order and the rename from its token name: 2 per image.
    up16_limit = 2 * 16 + 20
    preview_about_images = set(calls["preview_calls_by_func"]) - CREDENTIAL_CHECKS
    rows: list[Row] = [
        (
            "wall time up 16 ÷ up 1 images (activation 5 s, --parallel 32)",
            "<= 1.5",
            f"{ours['ratio']} ({ours['many_s']} s / {ours['one_s']} s); stock 4 workers: "
            f"{stock['ratio']} ({stock['many_s']} s / {stock['one_s']} s)",
            ours["ratio"] <= 1.5,
        ),
        (
            f"wall time up 64 ÷ up 1 images (activation 5 s, --parallel 64, "
            f"ZOMRO_MAX_CONCURRENCY={MAX_CONCURRENCY_64})",
            "<= 1.5",
            f"{wide['ratio']} ({wide['many_s']} s / {wide['one_s']} s)",
            wide["ratio"] <= 1.5,
        ),
        (
            f"API calls of `pulumi up` creating 16 images, activation {up16_activation:.0f} s",
            f"<= {up16_limit}",
            f"{up16['calls']} ({up16['orders']} orders) {up16['by_func']}",
            up16["orders"] == 16 and up16["calls"] <= up16_limit,
        ),
        (
            "API calls of `pulumi refresh`, 50 images",
            "<= 3",
            f"{calls['refresh_calls']} {calls['refresh_calls_by_func']}",
            calls["refresh_calls"] <= 3,
        ),
        (
            "API calls of `pulumi refresh`, 500 images",
            "<= 4",
            f"{big['calls']} {big['by_func']} (refresh {big['refresh_s']} s; setup "
            f"{big['setup_s']} s, {big['setup_calls']} calls, {big['setup_changes']} changes)",
            big["calls"] <= 4,
        ),
        (
            "API calls of an unchanged `pulumi preview` (one account)",
            "<= 1, none about images",
            f"{calls['preview_calls']} {calls['preview_calls_by_func']}",
            calls["preview_calls"] <= 1 and not preview_about_images,
        ),
    ]
    for w in waits:
        a = w["activation_s"]
        rows.append(
            (
                f"s from Active to create returning, activation {a:.0f} s",
                f"<= {wait_limit(a):.1f}",
                f"{w['latency_s']} (last API call {w['last_call_s']})",
                w["latency_s"] <= wait_limit(a),
            )
        )
        rows.append(
            (
                f"status-check rounds order..Active, activation {a:.0f} s",
                "<= 20" if a >= 120 else "-",
                f"{w['polls']} ({w['polls_to_return']} until the create returned)",
                w["polls"] <= 20 if a >= 120 else True,
            )
        )
    figures = {
        "ratio_16_vs_1": ours["ratio"],
        "up_1_s": ours["one_s"],
        "up_16_s": ours["many_s"],
        "stock_ratio_16_vs_1": stock["ratio"],
        "stock_up_16_s": stock["many_s"],
        "ratio_64_vs_1": wide["ratio"],
        "ratio_64_up_1_s": wide["one_s"],
        "up_64_s": wide["many_s"],
        f"up16_calls_t{up16_activation:.0f}": up16["calls"],
        "up16_orders": up16["orders"],
        "up16_calls_by_func": up16["by_func"],
        "refresh_calls_50": calls["refresh_calls"],
        "refresh_calls_500": big["calls"],
        "refresh_500_s": big["refresh_s"],
        "refresh_500_setup_s": big["setup_s"],
        "refresh_500_setup_changes": big["setup_changes"],
        "preview_calls": calls["preview_calls"],
        "preview_calls_by_func": calls["preview_calls_by_func"],
        "waits": waits,
    }
    return rows, figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", action="store_true", help="up16 calls at 20 s activation, waits at 3, 8, 16 s"
    )
    mode.add_argument("--scale", action="store_true", help=f"only the {SCALE_IMAGES}-image figures")
    parser.add_argument(
        "--scale-images",
        type=int,
        default=SCALE_IMAGES,
        metavar="N",
        help=f"images of the scale figures (default {SCALE_IMAGES}; fewer for a trial run, "
        "the keys are then named after N)",
    )
    args = parser.parse_args(argv)
    if args.scale_images < 1:
        parser.error("--scale-images must be at least 1")
    bin_dir = pulumi_bin()
    delays = [3.0, 8.0, 16.0] if args.quick else [3.0, 8.0, 16.0, 30.0, 60.0, 120.0]
    up16_activation = 20.0 if args.quick else 60.0
    n = args.scale_images
    started = time.monotonic()

    def say(what: str) -> None:
        print(f"[{time.monotonic() - started:4.0f} s] measuring: {what}...", file=sys.stderr)

    rows: list[Row] = []
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="zomro-bench-") as tmp:
        work = Path(tmp)
        if not args.scale:
            rows, figures = everything_else(work, bin_dir, say, delays, up16_activation)
            plugin_rows, plugin_keys = plugin_figures.measure(work, bin_dir, say, up16_activation, figures)
            rows += plugin_rows
            figures.update(plugin_keys)
        if not args.quick:
            say(f"up of 1 and {n} images, state saved after every step")
            plain = scale_figures(work, bin_dir, n)
            say(f"up of 1 and {n} images, PULUMI_SKIP_CHECKPOINTS=true")
            skip = scale_figures(work, bin_dir, n, skip_checkpoints=True)
            rows += scale_rows(plain, skip)
            figures.update(scale_keys(plain, skip))

    width = max(len(r[0]) for r in rows)
    print(f"\n{'figure'.ljust(width)} | target | measured | met")
    print(f"{'-' * width} | ------ | -------- | ---")
    for name, target, measured, met in rows:
        print(f"{name.ljust(width)} | {target} | {measured} | {'yes' if met else 'NO'}")
    run_kind = "scale" if args.scale else "quick" if args.quick else "full"
    print(f"(total benchmark time {time.monotonic() - started:.0f} s; {run_kind} run)")
    figures["all_met"] = all(r[3] for r in rows)
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
