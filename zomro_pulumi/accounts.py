"""Which Zomro account holds an image: one lifecycle per account, credentials
tried once a run, and the account names a state recorded that the config no
longer has.

A state names an image's account by its label (`account="prod"`, a key of
`zomro:accounts`; None: the default settings).  Labels are the user's words,
not the account: two labels with the same endpoint and login are one account,
so renaming a label moves nothing.  A label the config no longer has (renamed
in the config) is resolved by the image itself: the one configured account
whose list, or the image's own view, shows the image with the fields the state
recorded.  Without that proof nothing is guessed: an operation that needs the
old account fails, naming it and the two ways out.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

from .clock import Clock
from .errors import AuthError, ConfigError, EndpointUnreachable, ZomroError
from .fields import recorded
from .lifecycle import ImageLifecycle
from .poller import Schedule, StatusPoller
from .settings import STACK_CONFIG, Place, ProviderSettings, known_accounts
from .statuses import Phase
from .waits import Say

Config = Callable[[str], Any]
Label = Optional[str]


@dataclasses.dataclass(frozen=True)
class Look:
    """One resource's request: its deadline, its row, its URN and what it
    needs the account for (said when the account cannot be found)."""

    deadline: float
    say: Say
    needed: str
    urn: Optional[str] = None


def shown(label: Label, place: Place = STACK_CONFIG) -> str:
    return f"account {label!r}" if label else place.default_account


def identity(settings: ProviderSettings) -> Optional[tuple[str, str]]:
    """(endpoint, login) of settings with credentials: equal for two labels of
    one account.  The login is the user name, or the token when there is none."""
    if not settings.has_credentials:
        return None
    parts = urlsplit(settings.endpoint.strip())
    endpoint = f"{parts.scheme.lower()}://{parts.netloc.lower()}{parts.path.rstrip('/')}"
    if settings.username and settings.password:
        return endpoint, "user:" + settings.username.strip().casefold()
    return endpoint, "token:" + (settings.token or "")


class Accounts:
    """The accounts of one provider process: settings read on demand, one
    lifecycle each, and the labels proven this run to name another one."""

    def __init__(self, clock: Clock, schedule: Schedule, say: Say) -> None:
        self._clock = clock
        self._schedule = schedule
        self._say = say
        self._config: Optional[Config] = None
        self._place = STACK_CONFIG
        self._lifecycles: dict[Label, ImageLifecycle] = {}
        self._checked: dict[Label, Optional[tuple[str, str]]] = {}
        self._renamed: dict[Label, Label] = {}
        self._configured: dict[Label, bool] = {}
        self._lock = threading.Lock()

    def configure(self, config: Optional[Config], place: Place = STACK_CONFIG) -> None:
        with self._lock:
            self._config = config
            self._place = place
            self._lifecycles.clear()
            self._checked.clear()
            self._renamed.clear()
            self._configured.clear()

    def settings(self, label: Label) -> ProviderSettings:
        return ProviderSettings.load(self._config, account=label, place=self._place)

    def lifecycle(self, label: Label) -> ImageLifecycle:
        """The account's one lifecycle, with its client and poller (built once)."""
        with self._lock:
            images = self._lifecycles.get(label)
            if images is None:
                client = self.settings(label).client(clock=self._clock)
                poller = StatusPoller(client, clock=self._clock, schedule=self._schedule)
                images = self._lifecycles[label] = ImageLifecycle(client, poller, self._clock, self._say)
            return images

    # ------------------------------------------------------------ preview checks

    def problem(self, label: Label, deadline: float) -> Optional[tuple[str, str]]:
        """(setting, what is wrong) for an account that cannot work: unknown,
        misconfigured, or its credentials refused by the API (asked once a run)."""
        with self._lock:
            if label in self._checked:
                return self._checked[label]
        try:
            settings = self.settings(label)
        except ConfigError as exc:
            return "account", exc.message
        problem = settings.problem() or self._try_credentials(label, settings, deadline)
        with self._lock:
            self._checked[label] = problem
        return problem

    def _try_credentials(
        self, label: Label, settings: ProviderSettings, deadline: float
    ) -> Optional[tuple[str, str]]:
        """One call that fails when the credentials do; (setting, why) if they do."""
        attr = "password" if settings.username and settings.password else "token"
        who = shown(label, self._place)
        try:
            self.lifecycle(label).client.check_credentials(deadline)
        except EndpointUnreachable as exc:
            return settings.config_key("endpoint"), f"{exc.message} ({settings.origin('endpoint')})"
        except AuthError as exc:
            return settings.config_key(attr), (
                f"the API refused the credentials of {who} ({settings.origin(attr)}): {exc.message}"
            )
        except ZomroError as exc:
            return settings.config_key(attr), f"checking the credentials of {who} failed: {exc}"
        return None

    # ------------------------------------------------------------ labels

    def configured(self, label: Label) -> bool:
        """Whether the config names this account (the default: has credentials);
        read once a run, as every read and delete asks."""
        with self._lock:
            if label in self._configured:
                return self._configured[label]
        try:
            settings = self.settings(label)
            answer = label is not None or settings.has_credentials
        except ConfigError:
            answer = False
        with self._lock:
            self._configured[label] = answer
        return answer

    def same(self, old: Label, new: Label, image_id: str, props: Mapping[str, Any], look: Look) -> bool:
        """Whether the image recorded under `old` is in the account `new` names:
        one endpoint and login, or, for a label no longer configured, the image
        shown by `new`'s account.  Raises when `old` cannot be resolved at all."""
        holder = self.holder(old, image_id, props, look)
        if holder == new:
            return True
        try:
            mine, theirs = identity(self.settings(holder)), identity(self.settings(new))
        except ConfigError:
            return False
        return mine is not None and mine == theirs

    def holder(self, label: Label, image_id: str, props: Mapping[str, Any], look: Look) -> Label:
        """The configured label of the account that holds the image recorded
        under `label`: itself while configured, else the one configured account
        that shows the image with its recorded fields."""
        if self.configured(label):
            return label
        with self._lock:
            if label in self._renamed:
                return self._renamed[label]
        found = self._showing(image_id, props, look)
        if len(found) != 1:
            raise ConfigError(_unresolved(label, image_id, props, found, look))
        holder = found[0]
        with self._lock:
            self._renamed[label] = holder
        look.say(
            f"{shown(label, self._place)} is not configured any more; image {image_id} is in "
            f"{shown(holder, self._place)} (it shows the image with the recorded fields), which this run uses"
        )
        return holder

    def _showing(self, image_id: str, props: Mapping[str, Any], look: Look) -> list[Label]:
        """The configured accounts that show the image with the recorded fields:
        their shared lists first, then, when no list holds it, its own view."""
        candidates: list[Label] = [a for a in known_accounts(self._config) if self.configured(a)]
        if self.configured(None):
            candidates.append(None)
        state = recorded(props)
        for by_view in (False, True):
            found = []
            for label in candidates:
                looks = self.lifecycle(label).looks
                try:
                    if by_view:
                        record = looks.unlisted(image_id, look.say, deadline=look.deadline)
                    else:
                        record = looks.listed(image_id, deadline=look.deadline)
                except ZomroError:
                    continue
                if record is not None and record.phase is not Phase.GONE and not state.unadoptable(record):
                    found.append(label)
            if found:
                # Labels of one endpoint and login are one account, not a choice.
                one = {identity(self.settings(label)): label for label in reversed(found)}
                return list(one.values())
        return []


def _unresolved(
    label: Label, image_id: str, props: Mapping[str, Any], found: list[Label], look: Look
) -> str:
    """Why an unconfigured label could not be resolved, and the two ways out."""
    name = props.get("image_name") or image_id
    if found:
        where = f"several configured accounts show it ({', '.join(shown(f) for f in found)})"
    else:
        where = "no configured account shows it"
    if label is None:
        again = "set zomro:endpoint and its credentials again"
    else:
        again = (
            f"configure {shown(label)} again (`pulumi config set --path zomro:accounts.{label}"
            ".endpoint URL` and its credentials; a label with the endpoint and login of "
            "another is the same account)"
        )
    urn = f"'{look.urn}'" if look.urn else "URN (`pulumi stack --show-urns` lists them)"
    return (
        f"image {image_id} ({name}) is in {shown(label)}, which is not configured any more, "
        f"and {where}; {look.needed} needs that account, so nothing was ordered or deleted. "
        f"Either {again}, or delete image {image_id} by hand in the Zomro panel and run "
        f"`pulumi state delete {urn}`"
    )
