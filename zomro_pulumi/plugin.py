"""`pulumi-resource-zomro`: the provider plugin, for programs in any Pulumi
language (YAML first).

A second mapping onto the same core as the dynamic provider (`provider.py`):
the field table checks and diffs, the lifecycle orders, waits and deletes, the
settings find the account.  Only this file and `provider.py`/`resource.py`
import Pulumi.  It is served by the Pulumi SDK's own provider server
(`pulumi.provider.experimental`), which speaks the engine's gRPC protocol.
"""

from __future__ import annotations

import sys
from typing import Optional

from pulumi.provider.experimental import server
from pulumi.provider.experimental.provider import GetSchemaRequest, GetSchemaResponse, Provider

from . import __version__, schema

VERSION = __version__


class ZomroProvider(Provider):
    """The plugin's provider: one per plugin process, serving a whole run."""

    def __init__(self, version: str = VERSION) -> None:
        self._schema = schema.text(version)

    async def get_schema(self, request: GetSchemaRequest) -> GetSchemaResponse:
        """The package schema, written from the field table."""
        return GetSchemaResponse(schema=self._schema)


def main(argv: Optional[list[str]] = None) -> None:
    """The plugin's entry point: the engine starts it with its own address."""
    server.main(sys.argv[1:] if argv is None else argv, VERSION, ZomroProvider())
