"""`zomro-pulumi doctor`: check the provider's assumptions against a real account.

Several answers of the Zomro API are undocumented, so the provider copes with
every plausible shape.  Doctor tells which guesses hold for one account, and
only ever reads: `auth` (when logging in), the image list (`image`, paged),
and the single view (`image.edit` without `sok`) of one listed image and of a
missing id.  It never orders, edits or deletes.

The checks are plain data (`Check`), so the text and the `--json` output are
two renderings of one list.  Every `seen` text is scrubbed of the credentials.
"""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import requests

from .client import FUNC_AUTH, FUNC_EDIT, FUNC_LIST, ZomroClient
from .errors import (
    ApiError,
    AuthError,
    NotFoundError,
    TransportError,
    ZomroError,
    redact,
)
from .model import ImageRecord, as_list, to_bool, to_int, unwrap
from .settings import ProviderSettings
from .statuses import BY_WORD, ITEM_STATUSES, Phase, is_known, phase_of

OK = "ok"
FAIL = "fail"
UNKNOWN = "unknown"

MARKS = {OK: "✓", FAIL: "✗", UNKNOWN: "?"}
# For a terminal that cannot print the marks above.
ASCII_MARKS = {OK: "+", FAIL: "x", UNKNOWN: "?"}

#: The id doctor asks about to learn how the API answers for a missing image.
MISSING_ID = "0"
#: Page size of the list walk, as the provider asks.
PAGE_SIZE = 500
#: Upper bound on pages walked (500 images a page).
MAX_PAGES = 200


@dataclasses.dataclass(frozen=True)
class Check:
    """One finding: what was checked, ok/fail/unknown, and what was seen."""

    name: str
    status: str
    seen: str

    @property
    def mark(self) -> str:
        return MARKS[self.status]


@dataclasses.dataclass
class Report:
    """Every check of one run, in order, and where the run ended."""

    endpoint: str
    auth: str
    checks: list[Check] = dataclasses.field(default_factory=list)
    stopped: Optional[str] = None

    @property
    def ok(self) -> bool:
        """Everything the provider needs holds: no ✗ and the run was not cut short."""
        return self.stopped is None and all(c.status != FAIL for c in self.checks)

    @property
    def exit_status(self) -> int:
        return 0 if self.ok else 1

    def counts(self) -> dict[str, int]:
        found = Counter(c.status for c in self.checks)
        return {status: found.get(status, 0) for status in (OK, UNKNOWN, FAIL)}

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "auth": self.auth,
            "ok": self.ok,
            "exit_status": self.exit_status,
            "stopped": self.stopped,
            "counts": self.counts(),
            "checks": [
                {"name": c.name, "status": c.status, "mark": c.mark, "seen": c.seen}
                for c in self.checks
            ],
        }

    def render(self, marks: Mapping[str, str] = MARKS) -> str:
        lines = [f"zomro-pulumi doctor: {self.endpoint} (auth: {self.auth})"]
        lines += [f"{marks[c.status]} {c.name}: {c.seen}" for c in self.checks]
        counts = self.counts()
        summary = (
            f"{counts[OK]} {marks[OK]}, {counts[UNKNOWN]} {marks[UNKNOWN]}, "
            f"{counts[FAIL]} {marks[FAIL]}: "
        )
        if self.stopped:
            summary += f"stopped early: {self.stopped}"
        elif self.ok and counts[UNKNOWN]:
            summary += "everything the provider needs holds; please report the ? lines"
        elif self.ok:
            summary += "everything the provider needs holds"
        else:
            summary += "the provider will not work as it is against this API"
        return "\n".join([*lines, summary])


def public_endpoint(endpoint: str) -> str:
    """The endpoint without any user:password part, safe to print."""
    parts = urlsplit(endpoint)
    if not parts.hostname:
        return endpoint
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


# ------------------------------------------------------------------ value shapes


def shape_of(value: Any) -> str:
    """How a value is wrapped, e.g. `{"$"}`, `{"$orig","$"}`, `list of {"$"}`."""
    if isinstance(value, list):
        return f"list of {shape_of(value[0])}" if value else "empty list"
    if isinstance(value, dict):
        if not value:
            return "{}"
        keys = sorted(value, key=lambda k: (k != "$orig", k != "$", k))
        return "{" + ",".join(json.dumps(k) for k in keys) + "}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "plain boolean"
    if isinstance(value, (int, float)):
        return "plain number"
    if isinstance(value, str):
        return "plain string"
    return type(value).__name__


def _short(text: Optional[str], limit: int = 40) -> str:
    if text is None:
        return "nothing"
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# kind -> check of the unwrapped value (raw `$orig` first, as the provider reads it)
_KINDS: dict[str, Callable[[str], bool]] = {
    "id": lambda v: bool(v.strip()),
    "text": lambda v: True,
    "int": lambda v: to_int(v) is not None,
    "onoff": lambda v: to_bool(v) is not None,
    "digits": lambda v: v.strip().isdigit(),
    "date": lambda v: bool(_DATE.match(v.strip())),
    "url": lambda v: v.strip().lower().startswith(("http://", "https://")),
}


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """A field the provider reads: its name(s) in the answer and how it decodes."""

    name: str
    kind: str
    keys: tuple[str, ...] = ()
    raw: bool = True

    @property
    def names(self) -> tuple[str, ...]:
        return self.keys or (self.name,)


#: What `ImageRecord.from_api` reads from a list element.
LIST_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("id", "id"),
    FieldSpec("image_name", "text"),
    FieldSpec("region", "text"),
    FieldSpec("disk_format", "text"),
    FieldSpec("os_distro", "text"),
    FieldSpec("os_version", "text"),
    FieldSpec("architecture", "text"),
    FieldSpec("min_disk", "int"),
    FieldSpec("min_ram", "int"),
    FieldSpec("protected", "onoff"),
    FieldSpec("pricelist_id", "digits"),
    FieldSpec("period", "int"),
    FieldSpec("fleio_status", "text"),
    FieldSpec("item_status", "text"),
    FieldSpec("image_size", "int"),
    FieldSpec("cost", "text", raw=False),
    FieldSpec("visibility", "text"),
    FieldSpec("fleio_id", "text"),
    FieldSpec("createdate", "date"),
)

#: What the provider reads from the single view (`image.edit` without `sok`).
VIEW_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("elid", "id", ("elid", "id")),
    FieldSpec("image_name", "text"),
    FieldSpec("region", "text"),
    FieldSpec("url", "url"),
    FieldSpec("disk_format", "text"),
    FieldSpec("os_distro", "text"),
    FieldSpec("os_version", "text"),
    FieldSpec("architecture", "text"),
    FieldSpec("min_disk", "int"),
    FieldSpec("min_ram", "int"),
    FieldSpec("protected", "onoff"),
    FieldSpec("fleio_status", "text"),
    FieldSpec("image_size", "int"),
    FieldSpec("fleio_id", "text"),
    FieldSpec("created", "date", ("created", "createdate")),
)


def _decode(spec: FieldSpec, value: Any) -> tuple[str, Optional[str]]:
    """(`ok` | `empty` | `bad`, decoded text) of one value, as the provider decodes it."""
    text = unwrap(value, raw=spec.raw)
    if text is None and _has_payload(value):
        return "bad", None
    if not text:
        return "empty", None
    return ("ok" if _KINDS[spec.kind](text) else "bad"), text


def _has_payload(value: Any) -> bool:
    """Whether a wrapper carries something other than display attributes."""
    if isinstance(value, list):
        return any(_has_payload(v) for v in value)
    if isinstance(value, dict):
        return any(k in ("$", "$orig") for k in value) or any(
            not k.startswith("$") for k in value
        )
    return value is not None and value != ""


def _sample(spec: FieldSpec, value: Any) -> str:
    if spec.kind == "onoff" and isinstance(value, dict) and "$orig" in value:
        return f"$orig {_short(unwrap(value))} / $ {_short(unwrap(value, raw=False))}"
    return _short(unwrap(value, raw=spec.raw))


def field_check(prefix: str, spec: FieldSpec, elems: Sequence[Mapping[str, Any]]) -> Check:
    """How one field arrives across the elements: present, wrapped how, decodable."""
    name = f"{prefix} {spec.name}"
    total = len(elems)
    if total == 0:
        return Check(name, UNKNOWN, "no images in the account: nothing to check")
    present: list[Any] = []
    for elem in elems:
        key = next((k for k in spec.names if k in elem), None)
        if key is not None:
            present.append(elem[key])
    if not present:
        return Check(name, UNKNOWN, f"absent from all {total} element(s)")
    shapes = Counter(shape_of(v) for v in present)
    shape_text = ", ".join(s for s, _ in shapes.most_common())
    decoded = [(_decode(spec, v), v) for v in present]
    bad = [v for (state, _), v in decoded if state == "bad"]
    empty = sum(1 for (state, _), _v in decoded if state == "empty")
    good = [v for (state, _), v in decoded if state == "ok"]
    if bad:
        return Check(
            name,
            FAIL,
            f"undecodable in {len(bad)} of {total}, e.g. {_short(json.dumps(bad[0]), 60)}",
        )
    if len(present) < total:
        return Check(
            name, UNKNOWN, f"absent in {total - len(present)} of {total}; elsewhere {shape_text}"
        )
    if not good:
        return Check(name, UNKNOWN, f"always empty ({shape_text}) in {total} element(s)")
    seen = f"{shape_text} in {total} of {total}, e.g. {_sample(spec, good[0])}"
    labels = [t for (state, t), _v in decoded if state == "ok" and t and t.lower() not in ("on", "off")]
    if spec.kind == "onoff" and labels:
        seen += f" (a label, not on/off: read as {to_bool(labels[0])})"
    if empty:
        seen += f"; empty in {empty}"
    return Check(name, OK, seen)


# ------------------------------------------------------------------ the run


def _err_text(exc: ZomroError) -> str:
    parts = []
    if exc.err_type:
        parts.append(f"$type {exc.err_type}")
    if exc.err_object:
        parts.append(f"$object {exc.err_object}")
    return f"{exc.message}" + (f" ({', '.join(parts)})" if parts else "")


class Doctor:
    """Runs the checks in order; each step adds `Check`s to the report."""

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        timeout: float = 30.0,
        session: Optional[requests.Session] = None,
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.session = session or requests.Session()
        self.secrets = [s for s in (settings.token, settings.password) if s]
        self.token: Optional[str] = settings.token
        self.login_token: Optional[str] = None
        use_login = bool(settings.username and settings.password)
        auth = "token" if settings.token else ("login" if use_login else "none")
        if settings.token and use_login:
            auth = "token (login checked too)"
        self.report = Report(public_endpoint(settings.endpoint), auth)

    def add(self, name: str, status: str, seen: str) -> None:
        self.report.checks.append(Check(name, status, redact(seen, self._secrets())))

    def _secrets(self) -> list[str]:
        return [*self.secrets, *(t for t in (self.token, self.login_token) if t)]

    def _client(self, token: Optional[str] = None) -> ZomroClient:
        """A client that repeats a lost answer once, quickly, and never re-logs in,
        so an expired or refused session shows instead of being mended."""
        login = token is None
        return ZomroClient(
            self.settings.endpoint,
            token=token,
            username=self.settings.username if login else None,
            password=self.settings.password if login else None,
            timeout=self.timeout,
            retries=1,
            backoff_factor=0.2,
            backoff_max=1.0,
            list_ttl=0,
        )

    def run(self) -> Report:
        can_login = bool(self.settings.username and self.settings.password)
        logged_in = can_login and self.login()
        if not logged_in and not self.settings.token:
            self.report.stopped = "the login failed" if can_login else "no credentials"
            return self.report
        accepted = self.check_token()
        if accepted is None:
            self.session.close()
            return self.report
        client, first = accepted
        try:
            elems = self.check_list(client, first)
            if elems is None:
                return self.report
            self.check_statuses(elems)
            self.check_view(client, elems)
            self.check_missing_id(client)
        finally:
            client.close()
            self.session.close()
        return self.report

    # -------------------------------------------------------------- login

    def login(self) -> bool:
        """`func=auth` with the username and password; the token at `doc.auth.$id`."""
        client = self._client()
        try:
            doc = client.call(
                FUNC_AUTH,
                {"username": self.settings.username or "", "password": self.settings.password or ""},
            )
        except AuthError as exc:
            self.add("login", FAIL, f"login refused: {_err_text(exc)}")
            return False
        except ZomroError as exc:
            self.add("login", FAIL, f"no usable answer to func=auth: {_err_text(exc)}")
            return False
        finally:
            client.close()
        auth = doc.get("auth")
        token = auth.get("$id") if isinstance(auth, dict) else None
        fallback = auth.get("$") if isinstance(auth, dict) else None
        if isinstance(token, str) and token.strip():
            self.add("login", OK, "doc.auth.$id carries a session token")
            login_token = token.strip()
        elif isinstance(fallback, str) and fallback.strip():
            self.add("login", UNKNOWN, "token at doc.auth.$ with no $id; the provider reads both")
            login_token = fallback.strip()
        else:
            keys = sorted(auth) if isinstance(auth, dict) else sorted(doc)
            where = "doc.auth" if isinstance(auth, dict) else "doc"
            self.add("login", FAIL, f"no session token at doc.auth.$id; {where} has keys {keys}")
            return False
        # The provider uses a configured token first and logs in only when it is refused.
        self.login_token = login_token
        return True

    # -------------------------------------------------------------- list

    def check_token(self) -> Optional[tuple[ZomroClient, dict[str, Any]]]:
        """The first list page with the token the provider would use; a client that
        uses the token that worked, and that page.  A configured token that is
        refused is not fatal when the provider can log in instead."""
        candidates: list[tuple[str, str]] = []
        if self.settings.token:
            candidates.append((self.settings.token, "the configured token"))
        if self.login_token and self.login_token != self.settings.token:
            candidates.append((self.login_token, "the token from the login"))
        for index, (token, source) in enumerate(candidates):
            name = "token accepted" if index == 0 else "login token accepted"
            self.token = token
            client = self._client(token=token)
            try:
                doc = client.call(FUNC_LIST, {"p_num": "1", "p_cnt": str(PAGE_SIZE)})
            except AuthError as exc:
                client.close()
                refused = f"a call with {source} was refused: {_err_text(exc)}"
                if exc.err_type == "access" and index + 1 < len(candidates):
                    self.add(
                        name,
                        UNKNOWN,
                        f"{refused}; the provider logs in with the username and password instead",
                    )
                    continue
                status = FAIL if exc.err_type in ("access", "blocked") else UNKNOWN
                self.add(name, status, refused)
                self.report.stopped = "the API does not accept the session"
                return None
            except ZomroError as exc:
                client.close()
                self.add(name, UNKNOWN, f"cannot tell: {_err_text(exc)}")
                self.add("list envelope", FAIL, f"no usable answer to func=image: {_err_text(exc)}")
                self.report.stopped = "the image list cannot be read"
                return None
            self.add(name, OK, f"func=image with {source} was not an access error")
            return client, doc
        self.report.stopped = "no session token"
        return None

    def check_list(
        self, client: ZomroClient, first: dict[str, Any]
    ) -> Optional[list[Mapping[str, Any]]]:
        """Walk every page as the provider does; check envelope, paging and elements."""
        docs: list[dict[str, Any]] = [first]
        elem_raw = first.get("elem")
        if "elem" not in first:
            elem_text = "doc.elem absent (no images)"
        elif isinstance(elem_raw, list):
            elem_text = f"doc.elem a list of {len(elem_raw)}"
        elif isinstance(elem_raw, dict):
            elem_text = "doc.elem a single object (one image)"
        else:
            self.add("list envelope", FAIL, f"doc.elem is a {shape_of(elem_raw)}")
            self.report.stopped = "the image list cannot be read"
            return None
        self.add("list envelope", OK, f"doc is an object; {elem_text}")
        self.check_paging_fields(first)

        elems_raw: list[Any] = list(as_list(elem_raw))
        pages = 1
        total = _paging_int(first.get("p_elems"))
        page_cnt = _paging_int(first.get("p_cnt")) or PAGE_SIZE
        ids = {unwrap(e.get("id")) for e in elems_raw if isinstance(e, dict)}
        while pages < MAX_PAGES:
            got = len(as_list(docs[-1].get("elem")))
            if not got or (total is None and got < page_cnt):
                break
            if total is not None and (len(ids) >= total or pages * page_cnt >= total):
                break
            pages += 1
            try:
                doc = client.call(FUNC_LIST, {"p_num": str(pages), "p_cnt": str(PAGE_SIZE)})
            except ZomroError as exc:
                self.add("list pages", FAIL, f"page {pages} failed: {_err_text(exc)}")
                return self._elements(elems_raw)
            docs.append(doc)
            page_elems = as_list(doc.get("elem"))
            elems_raw.extend(page_elems)
            ids |= {unwrap(e.get("id")) for e in page_elems if isinstance(e, dict)}
        ids.discard(None)
        walk = f"{pages} page(s) of up to {PAGE_SIZE}, {len(ids)} distinct image(s)"
        if total is None:
            self.add("list pages", UNKNOWN, f"{walk}; no p_elems total to compare with")
        elif len(ids) < total:
            self.add("list pages", FAIL, f"{walk} but p_elems says {total}: images would be missed")
        else:
            self.add("list pages", OK, f"{walk}, as p_elems says")
        if len(ids) >= 2:
            self.check_small_pages(client)
        else:
            self.add("list paging", UNKNOWN, "fewer than 2 images: p_cnt=1 paging not tried")
        return self._elements(elems_raw)

    def check_paging_fields(self, doc: Mapping[str, Any]) -> None:
        seen = []
        missing = []
        for key in ("p_num", "p_cnt", "p_elems"):
            if key not in doc:
                missing.append(key)
                continue
            number = _paging_int(doc[key])
            seen.append(f"{key} {shape_of(doc[key])} {number if number is not None else '?'}")
            if number is None:
                missing.append(f"{key} (not a number)")
        text = ", ".join(seen) or "none"
        if missing:
            self.add(
                "list paging fields",
                UNKNOWN,
                f"{text}; missing {', '.join(missing)}: the provider stops at a short page",
            )
        else:
            self.add("list paging fields", OK, text)

    def check_small_pages(self, client: ZomroClient) -> None:
        """Pages of one image each: does `p_num` move on and `p_cnt` limit the page?"""
        got: list[list[Optional[str]]] = []
        try:
            for page in ("1", "2"):
                doc = client.call(FUNC_LIST, {"p_num": page, "p_cnt": "1"})
                got.append([unwrap(e.get("id")) for e in as_list(doc.get("elem"))
                            if isinstance(e, dict)])
        except ZomroError as exc:
            self.add("list paging", FAIL, f"p_cnt=1 pages failed: {_err_text(exc)}")
            return
        first, second = got
        if len(first) == 1 and len(second) == 1 and first != second:
            self.add("list paging", OK, "p_cnt=1: pages 1 and 2 each carry one different image")
        elif len(first) > 1:
            self.add(
                "list paging",
                UNKNOWN,
                f"p_cnt=1 ignored ({len(first)} images on page 1); the provider copes",
            )
        elif first == second:
            self.add("list paging", FAIL, "p_num=2 repeats page 1: images beyond page 1 are missed")
        else:
            self.add("list paging", UNKNOWN, f"p_cnt=1 pages carried {len(first)} and {len(second)}")

    def _elements(self, elems_raw: list[Any]) -> list[Mapping[str, Any]]:
        """The `elem shape` check, then the per-field checks; the dict elements."""
        dicts: list[Mapping[str, Any]] = [e for e in elems_raw if isinstance(e, dict)]
        if not elems_raw:
            self.add("elem shape", UNKNOWN, "no images in the account: nothing to check")
        elif len(dicts) < len(elems_raw):
            self.add(
                "elem shape",
                FAIL,
                f"{len(elems_raw) - len(dicts)} of {len(elems_raw)} element(s) are not objects",
            )
        else:
            no_id = [e for e in dicts if ImageRecord.from_api(e) is None]
            plain = [e for e in dicts if not isinstance(e.get("id"), dict)]
            if no_id:
                self.add(
                    "elem shape",
                    FAIL,
                    f"{len(no_id)} of {len(dicts)} element(s) have no usable id: "
                    f"keys {sorted(no_id[0])[:12]}",
                )
            elif plain:
                self.add(
                    "elem shape",
                    UNKNOWN,
                    f"id not wrapped in {len(plain)} of {len(dicts)} ({shape_of(plain[0].get('id'))}); "
                    "the provider reads it",
                )
            else:
                self.add("elem shape", OK, f"{len(dicts)} object(s), each with a wrapped id")
        for spec in LIST_FIELDS:
            self.report.checks.append(field_check("list", spec, dicts))
        return dicts

    # -------------------------------------------------------------- statuses

    def check_statuses(self, elems: Sequence[Mapping[str, Any]]) -> None:
        """Every status word and billing state seen; unknown ones are waited on, so `?`."""
        if not elems:
            self.add("status words", UNKNOWN, "no images in the account: no status seen")
            return
        words: Counter[str] = Counter()
        spelled: dict[str, str] = {}
        items: Counter[str] = Counter()
        # word -> the billing states of the images carrying it
        billing: dict[str, set[str]] = {}
        for elem in elems:
            word = unwrap(elem.get("fleio_status"))
            item = (unwrap(elem.get("item_status")) or "").strip()
            if word:
                words[word.strip().lower()] += 1
                spelled.setdefault(word.strip().lower(), word.strip())
                billing.setdefault(word.strip().lower(), set()).add(item)
            if item:
                items[item] += 1
        if not words:
            self.add(
                "status words",
                UNKNOWN,
                "no fleio_status in the list: the provider goes by item_status alone",
            )
        for key, count in words.most_common():
            word = spelled[key]
            if is_known(word):
                entry = BY_WORD[key.replace(" ", "_").replace("-", "_")]
                self.add(
                    f"status {word!r}",
                    OK,
                    f"known ({phase_of(word).value}: {entry.meaning}); {count} image(s)",
                )
            else:
                phases = {ITEM_STATUSES.get(i) for i in billing.get(key, set())}
                if phases == {Phase.ACTIVE}:
                    # Billed as active under a word the provider does not know:
                    # a new image would be waited on until create_timeout, then
                    # deleted. The provider cannot work until the word is known.
                    self.add(
                        f"status {word!r}",
                        FAIL,
                        f"unknown word {word!r} on {count} image(s) whose item_status says "
                        "active: it is most likely the word for Active, which the provider "
                        "does not know, so creates would wait until create_timeout",
                    )
                    continue
                self.add(
                    f"status {word!r}",
                    UNKNOWN,
                    f"unknown word {word!r}: the provider waits on it as still on its way "
                    f"until create_timeout; {count} image(s)",
                )
        for item, count in items.most_common():
            if item in ITEM_STATUSES:
                self.add(
                    f"item_status {item!r}",
                    OK,
                    f"known ({ITEM_STATUSES[item].value}); {count} image(s)",
                )
            else:
                self.add(
                    f"item_status {item!r}",
                    UNKNOWN,
                    f"unknown billing state {item!r}; {count} image(s)",
                )

    # -------------------------------------------------------------- single view

    def check_view(self, client: ZomroClient, elems: Sequence[Mapping[str, Any]]) -> None:
        """`image.edit` without `sok` for one listed image: the fields refresh reads."""
        records = [r for r in (ImageRecord.from_api(e) for e in elems) if r is not None]
        if not records:
            self.add("view", UNKNOWN, "no listed image to view")
            return
        chosen = next((r for r in records if r.phase is Phase.ACTIVE), records[0])
        try:
            doc = client.call(FUNC_EDIT, {"elid": chosen.id})
        except NotFoundError as exc:
            self.add("view", FAIL, f"listed image {chosen.id} answered as missing: {_err_text(exc)}")
            return
        except ZomroError as exc:
            self.add("view", FAIL, f"image.edit elid={chosen.id} failed: {_err_text(exc)}")
            return
        fields = [k for k in doc if not k.startswith("$")]
        self.add("view", OK, f"image.edit elid={chosen.id} without sok: {len(fields)} field(s)")
        for spec in VIEW_FIELDS:
            self.report.checks.append(field_check("view", spec, [doc]))
        if "elid" not in doc and "id" not in doc:
            doc = {**doc, "elid": {"$": chosen.id}}
        view = ImageRecord.from_api(doc)
        if view is None:
            return
        self.add_view_matches(chosen, view)

    def add_view_matches(self, listed: ImageRecord, view: ImageRecord) -> None:
        compared = (
            "image_name", "region", "disk_format", "os_distro", "os_version", "architecture",
            "min_disk", "min_ram", "protected", "status", "fleio_id", "created",
        )
        diffs = []
        same = 0
        for name in compared:
            a, b = getattr(listed, name), getattr(view, name)
            if a is None or b is None:
                continue
            if str(a).strip().lower() == str(b).strip().lower():
                same += 1
            else:
                diffs.append(f"{name} (list {_short(str(a), 20)}, view {_short(str(b), 20)})")
        if diffs:
            self.add("view matches list", UNKNOWN, "differs: " + "; ".join(diffs))
        elif same:
            self.add("view matches list", OK, f"{same} field(s) agree (letter case ignored)")
        else:
            self.add("view matches list", UNKNOWN, "no field in both views to compare")

    # -------------------------------------------------------------- missing id

    def check_missing_id(self, client: ZomroClient) -> None:
        """How the API answers for an id that does not exist, and whether the client
        recognises that answer as "not found"."""
        name = f"missing id (elid {MISSING_ID})"
        raw = self._raw_view(MISSING_ID)
        if raw is None:
            self.add(name, FAIL, f"no answer within {self.timeout:g} s: a call on a missing id hangs")
            return
        try:
            doc = client.call(FUNC_EDIT, {"elid": MISSING_ID})
        except NotFoundError:
            self.add(name, OK, f"{raw}: recognised as not found")
            return
        except TransportError as exc:
            if "Timeout" in exc.message:
                self.add(name, FAIL, f"{raw}; then no answer within {self.timeout:g} s")
                return
            self.add(name, UNKNOWN, f"{raw}: {_NOT_DIRECT}")
            return
        except ApiError:
            self.add(name, UNKNOWN, f"{raw}: {_NOT_DIRECT}")
            return
        except ZomroError as exc:
            self.add(name, UNKNOWN, f"{raw}: {_err_text(exc)}; {_NOT_DIRECT}")
            return
        keys = sorted(k for k in doc if not k.startswith("$"))
        self.add(
            name,
            FAIL,
            f"{raw}: looks like success (doc keys {keys[:10]}); the provider would take "
            "a missing image for an existing one",
        )

    def _raw_view(self, elid: str) -> Optional[str]:
        """What one `image.edit` on `elid` returns, described for a person; None on a hang."""
        body = {"out": "json", "func": FUNC_EDIT, "elid": elid, "auth": self.token or ""}
        try:
            resp = self.session.post(
                self.settings.endpoint,
                files={k: (None, v) for k, v in body.items()},
                timeout=self.timeout,
            )
        except requests.Timeout:
            return None
        except requests.RequestException as exc:
            return f"no answer ({type(exc).__name__})"
        kind = resp.headers.get("Content-Type", "no content type").split(";")[0].strip()
        head = f"HTTP {resp.status_code}, {kind}"
        try:
            payload = resp.json()
        except ValueError:
            looks_html = resp.text.lstrip()[:200].lower().startswith(("<!doctype", "<html"))
            return f"{head}, {'HTML' if looks_html else 'a body'} that is not JSON"
        doc = payload.get("doc") if isinstance(payload, dict) else None
        if not isinstance(doc, dict):
            return f"{head}, JSON without a doc object"
        error = doc.get("error")
        if isinstance(error, dict):
            return (
                f"{head}, error $type {error.get('$type') or '(none)'!s} "
                f"$object {error.get('$object') or '(none)'!s}"
            )
        return f"{head}, JSON with no error"


_NOT_DIRECT = "not recognised directly; the provider will confirm through the image list"


def _paging_int(value: Any) -> Optional[int]:
    return to_int(unwrap(value)) if value is not None else None


# ------------------------------------------------------------------ command line


def run(settings: ProviderSettings, *, timeout: float = 30.0) -> Report:
    """All checks against the account `settings` describe."""
    return Doctor(settings, timeout=timeout).run()


def print_report(report: Report, *, as_json: bool, out: Any = None) -> None:
    """Text (or JSON) on `out`; plain ASCII marks when the terminal cannot show ✓/✗."""
    out = out or sys.stdout
    if as_json:
        out.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
        return
    text = report.render()
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except LookupError:
        pass
    except UnicodeEncodeError:
        text = report.render(ASCII_MARKS).encode(encoding, "replace").decode(encoding)
    out.write(text + "\n")
