"""Seeded fault schedules for the real CLI, and the invariants checked after every run.

A schedule (`make_schedule(seed)`) draws, from one seed, everything that matters
for telling images apart under faults: whether order answers carry the id, how
many images share a name, one stack or two on the same account, answers lost
before and after the API acted, late answers, failing and self-contradicting
lists, pages capped by the server with or without paging fields, names stored
cut short, case-folded or trimmed, lost orders that land later (at once, or
after the create gave up on them and ordered again), an image list filtered in
the panel (consistent in its counts, hiding finished `Debian12` images), and an
account renamed (`zomro:accounts.prod` to `production`, in the config and the
program, before the fault-free `up`).  `run_schedule` plays it through `up`,
`refresh`, `up`, a fault-free `up` and `destroy`, and after every one of them
`Checker` looks at the whole history, Jepsen-style:

- distinct ids: no image is in two resources, in one state or across stacks;
- nothing recorded that does not exist: every id in a state is in the account;
- nothing orphaned silently: every image in the account is in a state, carries
  the order token a state keeps (a late landing, which the next run that lists
  the account deletes), or was named (by id or by the name its order carried, as
  the API stored it) in the output of a run;
- no image deleted while Active, except by the `destroy` the user asked for, or
  as a double of an order (its token, under another id than the one a state
  holds with that token);
- every create within its bound: `create_timeout` plus one HTTP timeout, plus
  the cleanup after a failed one;
- a refresh drops no image that still exists;
- a renamed account replaces nothing: every resource keeps the image it held;
- once faults stop, one `pulumi up` brings every stack to exactly its program,
  and `destroy` leaves nothing but what a run named.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

from zomro_pulumi.model import token_of

from . import UBUNTU, Emulator, Project, Result, make_project

# What a create may take beyond its create_timeout: one HTTP timeout (every bound
# allows one), the engine's own steps, and the cleanup after a failed create.
HTTP_TIMEOUT = 60.0
SLACK = 30.0
NAMES = ("Ubuntu24", "Ubuntu24", "Debian12")
STACKS = ("dev", "staging")
# How the API stores names: as sent, case-folded, cut (keeping the token or not), trimmed.
STORED_NAMES: tuple[dict[str, Any], ...] = (
    {},
    {"name_case": "upper"},
    {"name_cut": 24, "name_trim": True},
    {"name_cut": 12, "name_case": "lower"},
)
# When a lost order lands: never, at once (its answer lost after it was made), soon,
# or after the create proved it absent and ordered again (it then lands late).
LANDINGS = (None, 0.0, 2.0, 20.0)
# A filter saved in the panel's image list: it hides every image named `Debian12`
# (finished ones: an order's name carries its token before the name).
FILTER = "^(?!Debian12$)"
# An account label, and what it is renamed to (the same endpoint and login).
ACCOUNTS = ("prod", "production")


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Everything one chaos run does, drawn from its seed."""

    seed: int
    stacks: tuple[str, ...]
    images: dict[str, dict[str, Any]]
    emulator: dict[str, Any]
    """Settings the emulator starts with (answer shapes, paging, timing)."""
    faults: dict[str, Any]
    """Runtime faults, on while the faulty runs run."""
    renamed: bool = False
    """Whether the images' account label is renamed before the fault-free `up`."""

    def describe(self) -> str:
        return json.dumps(
            {"seed": self.seed, "stacks": self.stacks, "images": len(self.images),
             "names": sorted({i["image_name"] for i in self.images.values()}),
             **self.emulator, **self.faults, "renamed": self.renamed},
            default=str,
        )


def make_schedule(seed: int) -> Schedule:
    rng = random.Random(seed)
    stacks = STACKS if rng.random() < 0.5 else STACKS[:1]
    images = {
        f"img{n}": {
            **UBUNTU,
            "image_name": rng.choice(NAMES),
            "min_ram": rng.randint(1, 2),
            "create_timeout": rng.randint(40, 70),
        }
        for n in range(rng.randint(3, 5))
    }
    emulator = {
        "activation_delay": round(rng.uniform(0.5, 2.5), 2),
        "delete_delay": 0.3,
        "order_reply": rng.choice(("id", "elid", "bare", "none")),
        "max_page_size": rng.choice((0, 2, 3)),
        "omit_paging_fields": rng.random() < 0.3,
        "seed": seed,
    }
    faults = {
        "transient_rate": rng.choice((0.05, 0.1, 0.2)),
        "transient_kinds": ["5xx", "drop", "runningoperation"],
        "late_rate": rng.choice((0.0, 0.15)),
        "late_s": round(rng.uniform(1.0, 5.0), 1),
        "list_fault_rate": rng.choice((0.0, 0.1, 0.2)),
    }
    # Drawn last, so that the draws above stay what they were for every seed.
    stored = dict(rng.choice(STORED_NAMES))
    if emulator["order_reply"] == "none" and stored.get("name_cut", 99) < 19:
        # Without ids in answers and with tokens cut off, no image could ever be
        # identified: every create would (rightly) fail, and nothing converge.
        stored["name_cut"] = 24
    emulator.update(stored)
    landing = rng.choice(LANDINGS)
    lost_name = rng.choice(NAMES)
    lost_orders = rng.randint(1, 2)
    if landing is not None:
        faults.update(
            lose_order_name=lost_name, lose_orders=lost_orders, lost_order_lands_after=landing
        )
    if rng.random() < 0.3:
        faults["list_filter"] = FILTER
    renamed = rng.random() < 0.35
    if renamed:
        images = {name: {**image, "account": ACCOUNTS[0]} for name, image in images.items()}
    return Schedule(seed, stacks, images, emulator, faults, renamed)


def rename_account(projects: list[Project], schedule: Schedule, url: str) -> None:
    """The account label renamed in every stack's config and in the program."""
    old, new = ACCOUNTS
    for project in projects:
        project.run("config", "rm", "--path", f"zomro:accounts.{old}")
        project.set_account(new, url)
    projects[0].declare({n: {**i, "account": new} for n, i in schedule.images.items()})


@dataclasses.dataclass
class Checker:
    """Checks the invariants after each run; counts checks, keeps violations."""

    emulator: Emulator
    projects: list[Project]
    outputs: list[str] = dataclasses.field(default_factory=list)
    checks: int = 0
    violations: list[str] = dataclasses.field(default_factory=list)
    bounds: dict[str, float] = dataclasses.field(default_factory=dict)
    held: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    orphaned: set[str] = dataclasses.field(default_factory=set)
    """Ids of images found in no state and named by no run, after any step."""
    """Order token -> every id a state has held with it, over all steps so far."""

    def _check(self, ok: bool, what: str) -> None:
        self.checks += 1
        if not ok:
            self.violations.append(what)

    def states(self) -> dict[str, dict[str, str]]:
        """Stack -> {resource name: image id}."""
        return {
            p.stack: {r["urn"].rsplit("::", 1)[1]: r["id"] for r in p.resources()}
            for p in self.projects
        }

    def tokens(self) -> set[str]:
        """The order tokens the states keep now (remembered in `held` with their ids)."""
        now: set[str] = set()
        for project in self.projects:
            for resource in project.resources():
                token = (resource.get("outputs") or {}).get("order_token")
                if token:
                    now.add(str(token))
                    self.held.setdefault(str(token), set()).add(str(resource["id"]))
        return now

    def double(self, deletion: dict[str, Any]) -> bool:
        """Whether a deleted image was a double of an order whose image a state held."""
        token = token_of(deletion.get("image_name"))
        return token is not None and bool(self.held.get(token, set()) - {str(deletion["id"])})

    def named(self, image: dict[str, Any], ordered_as: Optional[str]) -> bool:
        """Whether some run's output named this image, by id or by its order's name
        (as the API stored it: perhaps cut short, in another case, trimmed)."""
        text = "\n".join(self.outputs)
        return bool(
            re.search(rf"\b{re.escape(str(image['id']))}\b", text)
            or (ordered_as and ordered_as.strip().casefold() in text.casefold())
        )

    def after(self, step: str, results: list[Result], *, destroying: bool = False,
              before: Optional[dict[str, dict[str, str]]] = None) -> dict[str, dict[str, str]]:
        """Every invariant, after the run `step`; returns the states it saw."""
        self.outputs += [said(r) for r in results]
        states = self.states()
        account = {str(i["id"]): i for i in self.emulator.images()}
        ordered = {str(o["id"]): o["image_name"] for o in self.emulator.get("orders")}
        ids = [i for state in states.values() for i in state.values()]
        tokens = self.tokens()
        self._check(len(ids) == len(set(ids)), f"{step}: an image is in two resources: {ids}")
        for stack, state in states.items():
            for name, image_id in state.items():
                self._check(image_id in account, f"{step}: {stack}/{name} records {image_id}, gone")
        for image_id, image in account.items():
            kept = (
                image_id in ids
                or token_of(image.get("image_name")) in tokens
                or self.named(image, ordered.get(image_id))
            )
            if not kept:
                self.orphaned.add(image_id)
            self._check(kept, f"{step}: image {image_id} ({ordered.get(image_id)}) is orphaned unnamed")
        if not destroying:  # a destroy deletes Active images, as asked
            for deletion in self.emulator.get("deletions"):
                active = deletion.get("status") == "Active" and deletion.get("via") == "api"
                self._check(not active or self.double(deletion),
                            f"{step}: image {deletion['id']} was deleted while Active")
        if before is not None:
            for stack, state in before.items():
                for name, image_id in state.items():
                    if image_id in account:
                        self._check(states[stack].get(name) == image_id,
                                    f"{step}: refresh dropped {stack}/{name} ({image_id}), which exists")
        return states

    def kept_through_rename(self, held: dict[str, dict[str, str]], existed: set[str]) -> None:
        """After the account's rename: every image a resource held before it, and
        that existed then, is held by that resource still (nothing replaced)."""
        states = self.states()
        for stack, state in held.items():
            for name, image_id in state.items():
                if image_id in existed:
                    self._check(states[stack].get(name) == image_id,
                                f"rename: {stack}/{name} no longer holds {image_id}")

    def creates_within_bounds(self, step: str, results: list[Result]) -> None:
        for result in results:
            for urn, seconds in create_durations(result.stdout).items():
                name = urn.rsplit("::", 1)[1]
                bound = self.bounds[name] + HTTP_TIMEOUT + SLACK
                self._check(seconds <= bound, f"{step}: create of {name} took {seconds:.0f}s > {bound:.0f}s")


def said(result: Result) -> str:
    """What a run told the user as errors and warnings (not the resources' values,
    which name every id): the engine's diagnostics from the event stream."""
    lines = [result.stderr]
    for line in result.stdout.splitlines():
        try:
            event = json.loads(line).get("diagnosticEvent") or {}
        except ValueError:
            lines.append(line)
            continue
        if event.get("severity") in ("error", "warning"):
            lines.append(str(event.get("message", "")))
    return "\n".join(lines)


def create_durations(events: str) -> dict[str, float]:
    """URN -> seconds from the start of its create step to its end (done or
    failed), from the engine's event stream (`--json`)."""
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    for line in events.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        when = float(event.get("timestamp") or 0)
        for key in ("resourcePreEvent", "resOutputsEvent", "resOpFailedEvent"):
            meta = (event.get(key) or {}).get("metadata") or {}
            if meta.get("op") not in ("create", "create-replacement") or "zomro:Image" not in meta.get("urn", ""):
                continue
            if key == "resourcePreEvent":
                started[meta["urn"]] = when
            elif meta["urn"] in started:
                took[meta["urn"]] = when - started[meta["urn"]]
    return took


def run_all(projects: list[Project], *args: str) -> list[Result]:
    """The same CLI command on every stack at once (two stacks race on one account)."""
    procs = []
    for project in projects:
        cmd = ["pulumi", *args, "--non-interactive", "--color", "never", "--stack", project.stack]
        procs.append(subprocess.Popen(cmd, cwd=project.path, env=project.env, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        results.append(Result(proc.returncode, out, err))
    return results


@dataclasses.dataclass
class Outcome:
    schedule: Schedule
    checks: int
    violations: list[str]
    steps: list[tuple[str, list[int]]]
    left: int = 0
    """Images still in the account after `destroy` (each one named by some run)."""
    orphans: int = 0
    """Images found in no state and named by no run, after any step (each once)."""


def run_schedule(schedule: Schedule, tmp: Path, cli_bin: str) -> Outcome:
    """Play one schedule through the CLI; the invariants after every run."""
    emulator = Emulator(**schedule.emulator)
    try:
        projects = [make_project(tmp, cli_bin, emulator, stack=s) for s in schedule.stacks]
        projects[0].declare(schedule.images)  # one program directory: every stack declares these
        for project in projects if schedule.renamed else []:
            project.set_account(ACCOUNTS[0], emulator.url)
        checker = Checker(emulator, projects)
        checker.bounds = {n: float(i["create_timeout"]) for n, i in schedule.images.items()}
        steps: list[tuple[str, list[int]]] = []

        def step(name: str, *args: str, faults: bool, destroying: bool = False, refresh: bool = False) -> None:
            emulator.faults(**(schedule.faults if faults else QUIET))
            before = checker.states() if refresh else None
            results = run_all(projects, *args, "--json")  # the engine's events, timed
            emulator.faults(**QUIET)
            steps.append((name, [r.returncode for r in results]))
            checker.after(name, results, destroying=destroying, before=before)
            checker.creates_within_bounds(name, results)

        step("up", "up", "--yes", "--skip-preview", faults=True)
        step("refresh", "refresh", "--yes", "--skip-preview", faults=True, refresh=True)
        step("up-again", "up", "--yes", "--skip-preview", faults=True)
        held = checker.states()
        existed = {str(i["id"]) for i in emulator.images()}
        if schedule.renamed:
            rename_account(projects, schedule, emulator.url)
        step("up-calm", "up", "--yes", "--skip-preview", faults=False)
        if schedule.renamed:
            checker.kept_through_rename(held, existed)
        # A lost order of the faulty runs may still be on its way: let it land, so
        # that `destroy` meets it (what lands after a destroy nobody can know of).
        time.sleep(float(schedule.faults.get("lost_order_lands_after") or 0.0))
        states = checker.states()
        for project in projects:
            checker._check(sorted(states[project.stack]) == sorted(schedule.images),
                           f"up-calm: {project.stack} holds {sorted(states[project.stack])}")
        steps_ok = all(code == 0 for code in steps[-1][1])
        checker._check(steps_ok, f"up-calm failed: {steps[-1]}")
        step("destroy", "destroy", "--yes", "--skip-preview", faults=False, destroying=True)
        left = len(emulator.images())
        return Outcome(
            schedule, checker.checks, checker.violations, steps, left, len(checker.orphaned)
        )
    finally:
        emulator.stop()


QUIET = {
    "transient_rate": 0.0, "late_rate": 0.0, "list_fault_rate": 0.0, "lose_order_name": None,
    "list_filter": None,
}
