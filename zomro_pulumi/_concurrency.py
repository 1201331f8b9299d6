"""Let the dynamic-provider process serve more than 4 calls at once.

One of the two modules that reach into Pulumi SDK internals (the other is
`_engine.py`, the URN of the call being served).  `pulumi.dynamic.__main__`
builds its gRPC server on `ThreadPoolExecutor(max_workers=4)` with no setting, so
a stack of images that each wait minutes for Active is created four at a time.
A `ThreadPoolExecutor` starts threads lazily up to `_max_workers`, so raising
that attribute on the running server's pool takes effect for the next calls.

This runs inside the provider process, when the provider is configured.  If the
SDK no longer looks the way this expects, it changes nothing and warns: the
provider still works, four calls at a time.  `tests/unit/test_concurrency.py`
fails loudly when a new SDK breaks the assumptions.
"""

from __future__ import annotations

import gc
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

DEFAULT_WORKERS = 32
STOCK_WORKERS = 4
_DYNAMIC_MAIN = "pulumi.dynamic.__main__"


def _in_dynamic_provider_process() -> bool:
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    return getattr(spec, "name", None) == _DYNAMIC_MAIN


def find_server_pools() -> list[ThreadPoolExecutor]:
    """The thread pools of the running gRPC servers in this process."""
    pools: list[ThreadPoolExecutor] = []
    try:
        from grpc import _server as grpc_server
    except ImportError:
        return pools
    server_cls: Any = getattr(grpc_server, "_Server", None)
    if server_cls is None:
        return pools
    for obj in gc.get_objects():
        if isinstance(obj, server_cls):
            state = getattr(obj, "_state", None)
            pool = getattr(state, "thread_pool", None)
            if isinstance(pool, ThreadPoolExecutor):
                pools.append(pool)
    return pools


def raise_worker_limit(limit: int, *, pools: Optional[list[ThreadPoolExecutor]] = None) -> int:
    """Raise the provider server's worker limit to `limit`; returns the limit in force.

    Only in the dynamic-provider process (or for `pools` given explicitly, in
    tests); lowering below the stock 4 is never done.
    """
    if pools is None:
        if not _in_dynamic_provider_process():
            return STOCK_WORKERS
        pools = find_server_pools()
    if not pools:
        warnings.warn(
            "zomro_pulumi: could not find the dynamic provider's gRPC thread pool in this "
            "Pulumi SDK; images are handled 4 at a time",
            RuntimeWarning,
            stacklevel=2,
        )
        print(
            "zomro: warning: could not raise the dynamic provider's 4-call limit "
            "(unexpected Pulumi SDK internals); continuing with 4",
            file=sys.stderr,
            flush=True,
        )
        return STOCK_WORKERS
    target = max(STOCK_WORKERS, int(limit))
    for pool in pools:
        if getattr(pool, "_max_workers", 0) < target:
            pool._max_workers = target
            # A pool adds at most one thread per submit; calls already queued
            # behind the 4 busy workers would wait for a later submit, so start
            # the extra threads now (idle ones just wait for work).
            adjust = getattr(pool, "_adjust_thread_count", None)
            if callable(adjust):
                for _ in range(target):
                    adjust()
    return target
