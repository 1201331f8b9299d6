"""Create (and optionally destroy) a Zomro image from a plain Python script.

Pulumi's Automation API drives the engine from code instead of the `pulumi` CLI's
prompts: the program below is an ordinary function (an *inline* program), the
project is described in code, and the state goes to a local file backend.  Useful
for a self-service tool or a test that needs an image and cleans it up.

    export ZOMRO_USERNAME=demo ZOMRO_PASSWORD=demo PULUMI_CONFIG_PASSPHRASE=change-me
    .venv/bin/python examples/automation/create_image.py --endpoint http://127.0.0.1:8765/
    .venv/bin/python examples/automation/create_image.py --endpoint http://127.0.0.1:8765/ --destroy

Needs the `pulumi` CLI on PATH and `zomro-pulumi` installed in the Python that
runs this script; that Python's own directory need not be on PATH.  The dynamic
provider runs in a separate process that the engine starts, and this script tells
the engine to start it with the very interpreter running the script (see
`provider_env`).  Credentials come from the environment (`ZOMRO_AUTH_TOKEN`, or
`ZOMRO_USERNAME` and `ZOMRO_PASSWORD`) and are never written to the stack's config
or state.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional

import pulumi
from pulumi import automation as auto

import zomro_pulumi as zomro

PROJECT = "zomro-automation"


def program() -> None:
    """The inline Pulumi program: one image, exported id and status."""
    config = pulumi.Config()
    image = zomro.Image(
        "automation-image",
        image_name=config.get("imageName") or "AutomationUbuntu24",
        region="Netherlands-2",
        url="https://releases.ubuntu.com/24.04/ubuntu-24.04-live-server-amd64.iso",
        disk_format="iso",
        os_distro="ubuntu",
        os_version="24",
        architecture="x86_64",
    )
    pulumi.export("image_id", image.image_id)
    pulumi.export("status", image.status)


def provider_env() -> dict[str, str]:
    """Environment that makes the engine run the dynamic provider with this Python.

    The engine starts the provider through the `pulumi-resource-pulumi-python`
    script that ships with the CLI. That script runs `python -m pulumi.dynamic`
    from `$PULUMI_RUNTIME_VIRTUALENV`, which the engine sets from the project's
    `virtualenv` runtime option, and otherwise `$PULUMI_PYTHON_CMD`, else the
    first `python3` on PATH. An inline program never passes the runtime option
    on: the Automation API runs the CLI with `--client` (the program runs in
    this process), and the CLI then replaces the project's runtime, options
    included, with one that only names that address. So the interpreter comes
    from `PULUMI_PYTHON_CMD`, which the CLI passes to the plugins it starts.
    `sys.executable` has zomro-pulumi, since this script imports it, and runs
    with its own virtualenv (if any) whether or not that is activated or on PATH.
    """
    return {"PULUMI_PYTHON_CMD": sys.executable}


def stack_for(state_dir: Path, stack_name: str, endpoint: Optional[str]) -> auto.Stack:
    """A stack of the inline program on a file backend in `state_dir`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    settings = auto.ProjectSettings(
        name=PROJECT,
        # No `virtualenv` option: an inline program's runtime options never
        # reach the provider (see provider_env).
        runtime=auto.ProjectRuntimeInfo(name="python"),
        backend=auto.ProjectBackend(url=state_dir.resolve().as_uri()),
    )
    stack = auto.create_or_select_stack(
        stack_name=stack_name,
        project_name=PROJECT,
        program=program,
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(state_dir),
            project_settings=settings,
            env_vars={
                "PULUMI_BACKEND_URL": state_dir.resolve().as_uri(),
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                **provider_env(),
            },
        ),
    )
    if endpoint:
        stack.set_config("zomro:endpoint", auto.ConfigValue(value=endpoint))
    return stack


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Create or destroy a Zomro image with the Automation API.")
    parser.add_argument("--endpoint", default=os.environ.get("ZOMRO_ENDPOINT"),
                        help="Zomro API endpoint (default: $ZOMRO_ENDPOINT, else the real API)")
    parser.add_argument("--state-dir", type=Path, default=Path(".automation-state"),
                        help="folder of the file backend (default: ./.automation-state)")
    parser.add_argument("--stack", default="dev", help="stack name (default: dev)")
    parser.add_argument("--image-name", help="image name (default: AutomationUbuntu24)")
    parser.add_argument("--destroy", action="store_true", help="delete the image and the stack")
    args = parser.parse_args(argv)
    if not os.environ.get("PULUMI_CONFIG_PASSPHRASE"):
        parser.error("set PULUMI_CONFIG_PASSPHRASE: it encrypts the secrets of the file backend")

    stack = stack_for(args.state_dir, args.stack, args.endpoint)
    if args.image_name:
        stack.set_config("imageName", auto.ConfigValue(value=args.image_name))
    if args.destroy:
        stack.destroy(on_output=print)
        stack.workspace.remove_stack(args.stack)
        return 0
    result = stack.up(on_output=print)
    print(f"image {result.outputs['image_id'].value} is {result.outputs['status'].value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
