"""scripts/ensure-pulumi.sh without the network and without real Go builds.

Each test copies the script, pyproject.toml and the language host's sources
into a scratch "checkout" and runs it with a PATH that holds a fake `go` and
every ordinary command except `flock`, `go`, `gofmt` and any `pulumi*` (when a
test asks, `flock` stays).  The fake `go` writes small shell scripts in place of
the binaries, so everything the script does around the build (cache lookup,
lock, private temporary directory, atomic publish) is the real code.  An
installed CLI is a folder of shell scripts that print a chosen version.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import stat
import subprocess
import time
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "tools" / "pulumi-language-python"
HIDDEN = {"flock", "go", "gofmt"}
TOOLS = (
    "pulumi",
    "pulumi-language-python",
    "pulumi-language-python-exec",
    "pulumi-resource-pulumi-python",
)

# A stand-in for `go`: `go build -ldflags '... Version=vX' -o OUT PKG` writes an
# OUT that prints vX whatever it is asked; `go list -m -f {{.Dir}}` names a fake
# sdk/v3 module directory. With FAKE_GO_BARRIER=N, the CLI build of each run
# waits until N runs are building at once, so that concurrent runs really race.
FAKE_GO = r"""#!/usr/bin/env bash
set -eu
printf '%s\n' "$*" >>"$FAKE_GO_STATE/calls"
case $1 in
version) echo "go version fake" ;;
list)
	case $* in
	*Dir*) echo "$FAKE_GO_STATE/sdk" ;;
	*) echo "v0.0.0-fake" ;;
	esac ;;
build)
	out="" ver=""
	while (($#)); do
		case $1 in
		-o) out=$2; shift ;;
		-ldflags) ver=$(sed -n 's/.*[Vv]ersion=\([^ ]*\).*/\1/p' <<<"$2"); shift ;;
		esac
		shift
	done
	if [[ $out == */pulumi && -n ${FAKE_GO_BARRIER:-} ]]; then
		mktemp "$FAKE_GO_STATE/building.XXXXXX" >/dev/null
		for _ in $(seq 200); do
			(($(ls "$FAKE_GO_STATE" | grep -c '^building\.') >= FAKE_GO_BARRIER)) && break
			sleep 0.05
		done
	fi
	sleep 0.2
	printf '#!/bin/sh\necho %s\n' "$ver" >"$out"
	chmod +x "$out" ;;
*) echo "fake go: unexpected $*" >&2; exit 2 ;;
esac
"""


def _executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


class Sandbox:
    def __init__(self, tmp: Path, *, keep_flock: bool) -> None:
        self.tmp = tmp
        self.repo = tmp / "repo"
        (self.repo / "scripts").mkdir(parents=True)
        shutil.copy2(ROOT / "scripts" / "ensure-pulumi.sh", self.repo / "scripts")
        shutil.copy2(ROOT / "pyproject.toml", self.repo / "pyproject.toml")
        self.host = self.repo / "tools" / "pulumi-language-python"
        self.host.mkdir(parents=True)
        for name in ("go.mod", "go.sum", "main.go"):
            shutil.copy2(HOST / name, self.host / name)
        shared = self.repo / "tools" / "langhost"
        shared.mkdir()
        for name in ("go.mod", "go.sum", "langhost.go"):
            shutil.copy2(HOST.parent / "langhost" / name, shared / name)
        self.cache = tmp / "cache"
        self.state = tmp / "go-state"
        sdk = self.state / "sdk" / "python"
        for script in ("cmd/pulumi-language-python-exec", "dist/pulumi-resource-pulumi-python"):
            (sdk / script).parent.mkdir(parents=True, exist_ok=True)
            (sdk / script).write_text("#!/bin/sh\necho sdk script\n")
        (self.state / "calls").touch()
        self.fake_go = tmp / "fake-go"
        self.fake_go.mkdir()
        _executable(self.fake_go / "go", FAKE_GO)
        # Every command of the real PATH, less the hidden ones.
        self.commands = tmp / "commands"
        self.commands.mkdir()
        hidden = HIDDEN - ({"flock"} if keep_flock else set())
        for entry in os.environ.get("PATH", "").split(os.pathsep):
            directory = Path(entry)
            if not entry or not directory.is_dir():
                continue
            for tool in directory.iterdir():
                name = tool.name
                if name in hidden or name.startswith("pulumi"):
                    continue
                link = self.commands / name
                if not link.exists() and os.access(tool, os.X_OK) and not tool.is_dir():
                    link.symlink_to(tool)

    def env(self, *, with_go: bool = True, **extra: str) -> dict[str, str]:
        path = [str(self.commands)]
        if with_go:
            path.insert(0, str(self.fake_go))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOMRO_", "GO"))}
        env.update(
            PATH=os.pathsep.join(path),
            ZOMRO_PULUMI_CACHE=str(self.cache),
            FAKE_GO_STATE=str(self.state),
            **extra,
        )
        return env

    def start(self, *, with_go: bool = True, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(self.repo / "scripts" / "ensure-pulumi.sh")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(with_go=with_go, **extra),
        )

    def run(self, *, with_go: bool = True, path_first: Optional[Path] = None) -> tuple[str, str]:
        out, err, code = self.attempt(with_go=with_go, path_first=path_first)
        assert code == 0, err
        return out.strip().splitlines()[-1], err

    def attempt(
        self, *, with_go: bool = True, path_first: Optional[Path] = None
    ) -> tuple[str, str, int]:
        """Run the script once; `path_first` goes at the front of PATH."""
        env = self.env(with_go=with_go)
        if path_first is not None:
            env["PATH"] = os.pathsep.join([str(path_first), env["PATH"]])
        done = subprocess.run(
            [str(self.repo / "scripts" / "ensure-pulumi.sh")],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        return done.stdout, done.stderr, done.returncode

    def installed_cli(self, name: str, version: str, tools: tuple[str, ...] = TOOLS) -> Path:
        """A folder like an installed Pulumi: each tool prints `version`."""
        folder = self.tmp / name
        folder.mkdir()
        for tool in tools:
            _executable(folder / tool, f"#!/bin/sh\necho {version}\n")
        return folder

    def venv_sdk(self, version: str) -> None:
        """Pretend .venv holds the Pulumi SDK `version` (what pip leaves behind)."""
        site = self.repo / ".venv" / "lib" / "python3.11" / "site-packages"
        (site / f"pulumi-{version}.dist-info").mkdir(parents=True)

    def floor(self) -> str:
        found = re.search(r'"pulumi>=([0-9.]+),', (self.repo / "pyproject.toml").read_text())
        assert found
        return found.group(1)

    def build_calls(self) -> list[str]:
        return [c for c in (self.state / "calls").read_text().splitlines() if c.startswith("build")]

    def cli_version(self) -> str:
        found = re.search(
            r"github\.com/pulumi/pulumi/sdk/v3 (v\S+)", (self.host / "go.mod").read_text()
        )
        assert found
        return found.group(1)


def _assert_valid_bin(sandbox: Sandbox, bin_dir: str) -> None:
    path = Path(bin_dir)
    assert path.is_absolute()
    assert path.parent.parent == sandbox.cache.resolve()
    assert re.fullmatch(r"pulumi-v\d+\.\d+\.\d+-[0-9a-f]{12}", path.parent.name)
    assert path.parent.name.startswith(f"pulumi-{sandbox.cli_version()}-")
    for tool in TOOLS:
        assert os.access(path / tool, os.X_OK), tool
    version = subprocess.run(
        [str(path / "pulumi"), "version"], capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == sandbox.cli_version()
    host = subprocess.run(
        [str(path / "pulumi-language-python"), "-version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert host.stdout.strip() == sandbox.cli_version()


def _old_cache(sandbox: Sandbox) -> Path:
    """A cache directory of an earlier layout, which runs must leave alone."""
    old = sandbox.cache / "pulumi-v3.272.0" / "bin"
    old.mkdir(parents=True)
    (old / "pulumi").write_text("old\n")
    return old / "pulumi"


def test_two_concurrent_first_runs_without_flock_share_one_published_build(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    old = _old_cache(sandbox)
    runs = [sandbox.start(FAKE_GO_BARRIER="2") for _ in range(2)]
    results = [run.communicate(timeout=60) for run in runs]
    for run, (_, err) in zip(runs, results):
        assert run.returncode == 0, err
    outs = [out.strip().splitlines()[-1] for out, _ in results]
    assert outs[0] == outs[1]
    _assert_valid_bin(sandbox, outs[0])
    # Both built (the barrier saw two builders); exactly one published, the other used it.
    assert len(sandbox.build_calls()) == 4
    losers = [err for _, err in results if "published" in err and "first; using it" in err]
    assert len(losers) == 1
    assert sum("installed pulumi" in err for _, err in results) == 1
    # Nothing else is left in the cache root: no temporary directories, the old one untouched.
    names = sorted(p.name for p in sandbox.cache.iterdir())
    assert names == sorted(["pulumi-v3.272.0", Path(outs[0]).parent.name])
    assert old.read_text() == "old\n"


@pytest.mark.skipif(shutil.which("flock") is None, reason="needs flock")
def test_with_flock_the_second_run_waits_and_builds_nothing(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=True)
    runs = [sandbox.start() for _ in range(2)]
    results = [run.communicate(timeout=60) for run in runs]
    for run, (_, err) in zip(runs, results):
        assert run.returncode == 0, err
    outs = [out.strip().splitlines()[-1] for out, _ in results]
    assert outs[0] == outs[1]
    _assert_valid_bin(sandbox, outs[0])
    assert len(sandbox.build_calls()) == 2  # the CLI and the language host, once
    assert not [p for p in sandbox.cache.iterdir() if ".tmp." in p.name]


def test_cache_hit_needs_no_go_and_a_source_change_builds_beside_it(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    first, _ = sandbox.run()
    _assert_valid_bin(sandbox, first)
    again, err = sandbox.run(with_go=False)
    assert again == first
    assert "using cached" in err

    with (sandbox.host / "main.go").open("a") as main:
        main.write("\n// a change\n")
    changed, err = sandbox.run()
    assert "installed pulumi" in err
    assert changed != first
    _assert_valid_bin(sandbox, changed)
    _assert_valid_bin(sandbox, first)  # the earlier build is still there, unchanged

    # The code shared with the Node.js host is part of the Python host's build.
    with (sandbox.repo / "tools" / "langhost" / "langhost.go").open("a") as shared:
        shared.write("\n// a change\n")
    shared_changed, err = sandbox.run()
    assert "installed pulumi" in err and shared_changed not in (first, changed)


def test_a_matching_cli_on_path_is_used_first(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    installed = sandbox.installed_cli("installed", sandbox.cli_version())
    out, err = sandbox.run(with_go=False, path_first=installed)
    assert out == str(installed.resolve())
    assert "using pulumi" in err
    assert not sandbox.cache.exists()


def test_another_version_in_range_on_path_is_used_without_go(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    # An official install: it ships its own language host and exec script.
    for version in (f"v{sandbox.floor()}", "v3.999.0", "v3.300.0-alpha.1+dev"):
        installed = sandbox.installed_cli(f"cli-{version}", version)
        out, err = sandbox.run(with_go=False, path_first=installed)
        assert out == str(installed.resolve()), err
        assert f"using pulumi {version} found on PATH" in err
    assert not sandbox.cache.exists()
    assert sandbox.build_calls() == []


def test_only_the_two_plugins_the_engine_starts_are_needed_beside_pulumi(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    installed = sandbox.installed_cli(
        "installed", "v3.300.0", ("pulumi", "pulumi-language-python", "pulumi-resource-pulumi-python")
    )
    out, _ = sandbox.run(with_go=False, path_first=installed)
    assert out == str(installed.resolve())


def test_plugins_are_found_next_to_a_symlinked_pulumi(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    installed = sandbox.installed_cli("Cellar", "v3.300.0")
    links = tmp_path / "links"
    links.mkdir()
    (links / "pulumi").symlink_to(installed / "pulumi")  # as Homebrew links it, alone
    out, err = sandbox.run(with_go=False, path_first=links)
    assert out == str(installed.resolve()), err  # where the engine finds its plugins


@pytest.mark.parametrize(
    "version", ["v3.215.9", "v3.216.0-alpha.1", "v4.0.0", "v4.0.0-alpha.1", "v2.99.0", "garbage"]
)
def test_a_cli_outside_the_range_is_not_used(tmp_path: Path, version: str) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    installed = sandbox.installed_cli("installed", version)
    # Without Go: an error that names the range and the way out, not only Go.
    _, err, code = sandbox.attempt(with_go=False, path_first=installed)
    assert code != 0
    assert "not using the pulumi on PATH" in err
    assert f"pulumi >= v{sandbox.floor()}" in err and "< v4.0.0" in err
    assert "install Go" in err
    # With Go: the pinned version is built into the cache instead.
    out, err = sandbox.run(path_first=installed)
    _assert_valid_bin(sandbox, out)
    assert "installed pulumi" in err


def test_the_sdk_in_the_venv_raises_the_floor(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    sandbox.venv_sdk("3.280.0")
    older = sandbox.installed_cli("older", "v3.279.9")
    _, err, code = sandbox.attempt(with_go=False, path_first=older)
    assert code != 0
    assert "this project needs pulumi >= v3.280.0 (the Pulumi SDK in .venv)" in err
    same = sandbox.installed_cli("same", "v3.280.0")
    out, _ = sandbox.run(with_go=False, path_first=same)
    assert out == str(same.resolve())


def test_a_cli_without_its_plugins_is_not_used(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    bare = sandbox.installed_cli("bare", "v3.300.0", ("pulumi",))
    _, err, code = sandbox.attempt(with_go=False, path_first=bare)
    assert code != 0
    assert "pulumi-language-python pulumi-resource-pulumi-python" in err
    out, _ = sandbox.run(path_first=bare)
    _assert_valid_bin(sandbox, out)


def test_without_any_cli_or_go_the_error_says_what_to_install(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    _, err, code = sandbox.attempt(with_go=False)
    assert code != 0
    assert "there is no pulumi on PATH" in err
    assert f"pulumi >= v{sandbox.floor()}" in err and "install Go" in err


def test_go_mod_must_require_pkg_and_sdk_at_the_same_version(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    go_mod = sandbox.host / "go.mod"
    version = sandbox.cli_version()
    go_mod.write_text(
        go_mod.read_text().replace(f"pulumi/pkg/v3 {version}", "pulumi/pkg/v3 v3.1.0")
    )
    proc = sandbox.start()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "must be equal" in err


def test_an_interrupted_build_leaves_nothing_behind(tmp_path: Path) -> None:
    sandbox = Sandbox(tmp_path, keep_flock=False)
    # Alone, the run waits in the fake CLI build for a second builder that never comes.
    proc = subprocess.Popen(
        [str(sandbox.repo / "scripts" / "ensure-pulumi.sh")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=sandbox.env(FAKE_GO_BARRIER="2"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not list(sandbox.state.glob("building.*")):
        assert time.monotonic() < deadline, "the fake build never started"
        time.sleep(0.05)
    # What a cancelled CI job sends.  (With SIGINT, bash waits for its child to
    # say whether it died of the signal, which a busy machine can turn into a
    # normal finish of the fake build: the test would prove nothing.)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert [p.name for p in sandbox.cache.iterdir()] == []
