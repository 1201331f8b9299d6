"""Node.js programs on the TypeScript SDK: the toolchain steps the README names
(the pinned packages, the SDK built into the package npm installs, a Node.js
language host), each cached beside the CLI by its script.

A machine without node or npm skips what needs them: `missing()` names which."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Optional

from . import script_output


def missing() -> Optional[str]:
    """Why Node.js programs cannot be checked here, or None."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not absent:
        return None
    return " and ".join(f"'{tool}'" for tool in absent) + " not on PATH (Node.js 20 or newer with npm is needed)"


def node_modules() -> Path:
    """The pinned @pulumi/pulumi, typescript and @types/node (tools/node/package-lock.json)."""
    return Path(script_output("ensure-node-modules.sh"))


def host_bin() -> str:
    """The directory of `pulumi-language-nodejs` (built the first time, then cached)."""
    return script_output("ensure-nodejs-host.sh")


def build_sdk(sdk: Path) -> Path:
    """Compile the TypeScript SDK in `sdk` (a copy of sdk/nodejs) into `sdk/bin`,
    the package a program installs."""
    return Path(script_output("build-nodejs-sdk.sh", str(sdk)))
