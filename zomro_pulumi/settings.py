"""Where and as whom to call the API: stack config first, then the environment.

Shared by the provider, the lookups in `resource.py` and `zomro-pulumi doctor`,
so all three read the same settings the same way.  Nothing here is pickled or
printed: the credentials stay out of `repr` and out of the Pulumi state.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Callable, Optional

from . import _concurrency
from .client import DEFAULT_ENDPOINT, ZomroClient, check_endpoint
from .clock import SYSTEM_CLOCK, Clock
from .errors import NO_CREDENTIALS, ConfigError
from .trace import WireTrace

# attribute -> (stack config key, environment variable)
CONFIG_KEYS: dict[str, tuple[str, str]] = {
    "endpoint": ("zomro:endpoint", "ZOMRO_ENDPOINT"),
    "token": ("zomro:authToken", "ZOMRO_AUTH_TOKEN"),
    "username": ("zomro:username", "ZOMRO_USERNAME"),
    "password": ("zomro:password", "ZOMRO_PASSWORD"),
    "max_concurrency": ("zomro:maxConcurrency", "ZOMRO_MAX_CONCURRENCY"),
    "trace": ("zomro:trace", "ZOMRO_TRACE"),
}




@dataclasses.dataclass(frozen=True)
class ProviderSettings:
    """Where and as whom to call the API; never pickled, never printed."""

    endpoint: str = DEFAULT_ENDPOINT
    token: Optional[str] = dataclasses.field(default=None, repr=False)
    username: Optional[str] = None
    password: Optional[str] = dataclasses.field(default=None, repr=False)
    max_concurrency: int = _concurrency.DEFAULT_WORKERS
    trace: Optional[str] = None
    """Path of a JSON-lines wire trace to append to (`zomro:trace`, `ZOMRO_TRACE`)."""

    @classmethod
    def load(cls, config: Optional[Callable[[str], Any]] = None) -> ProviderSettings:
        """Stack config first, then the environment, then defaults."""
        values: dict[str, Any] = {}
        for attr, (config_key, env_key) in CONFIG_KEYS.items():
            value = config(config_key) if config else None
            if value in (None, ""):
                value = os.environ.get(env_key)
            if value not in (None, ""):
                values[attr] = str(value)
        if "max_concurrency" in values:
            try:
                values["max_concurrency"] = int(values["max_concurrency"])
            except ValueError:
                raise ConfigError(
                    "zomro:maxConcurrency (ZOMRO_MAX_CONCURRENCY) must be a whole number"
                ) from None
        return cls(**values)

    @property
    def has_credentials(self) -> bool:
        return bool(self.token or (self.username and self.password))

    def problem(self) -> Optional[tuple[str, str]]:
        """(config key, what is wrong) when no API call could succeed with these
        settings; checked at preview, before anything is sent."""
        try:
            check_endpoint(self.endpoint)
        except ConfigError as exc:
            return CONFIG_KEYS["endpoint"][0], exc.message
        if not self.has_credentials:
            return CONFIG_KEYS["token"][0], NO_CREDENTIALS
        return None

    def client(self, clock: Clock = SYSTEM_CLOCK) -> ZomroClient:
        """A client for these settings (with the wire trace, when one is set)."""
        return ZomroClient(
            self.endpoint,
            token=self.token,
            username=self.username,
            password=self.password,
            pool_size=max(16, self.max_concurrency * 2),
            trace=WireTrace.from_setting(self.trace),
            clock=clock,
        )
