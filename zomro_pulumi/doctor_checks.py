"""The checks of `zomro-pulumi doctor`, in the order they run (`CHECKS`).

Each check is a small function of the shared `Visit`: it calls the API through
`ZomroClient` (never with `sok`) and adds what it saw as `Check`s.  What the
provider reads from an answer comes from `model.DECODE_TABLE`, the table
`ImageRecord.from_api` decodes with, so a field doctor passes is a field the
provider reads.  The raw answer behind an error (an HTML page, an HTTP status)
is seen through the client's trace hook, and a timeout is told by its type.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional, cast

from .client import (
    FUNC_EDIT,
    FUNC_FILTER,
    FUNC_LIST,
    FUNC_WHOAMI,
    Tuning,
    ZomroClient,
    saved_filter,
)
from .clock import Clock
from .errors import AnswerTimeout, ApiError, AuthError, NotFoundError, ZomroError, redact
from .model import DECODE_TABLE, ID, LIST, VIEW, Decoded, ImageRecord, as_list, to_int, unwrap
from .settings import ProviderSettings
from .statuses import BY_WORD, ITEM_STATUSES, Phase, is_known, phase_of
from .trace import WireTrace

OK, FAIL, UNKNOWN = "ok", "fail", "unknown"
MISSING_ID = "0"  # the id asked about to learn how the API answers for a missing image
PAGE_SIZE = 500  # as the provider asks
MAX_PAGES = 200
NOT_DIRECT = "not recognised directly; the provider will confirm through the image list"
NO_IMAGES = "no images in the account: nothing to check"
FILTER_ADVICE = (
    "a filter saved in the panel's image list hides images from the list the provider "
    "reads; it then views each image the list leaves out, and no list can prove that a "
    "lost order did not land (the create fails instead of ordering again). Clear it in "
    "the panel"
)
# Fields both the list and the single view carry, compared between the two.
COMPARED = ("image_name", "region", "disk_format", "os_distro", "os_version", "architecture",
            "min_disk", "min_ram", "protected", "status", "fleio_id", "created")


@dataclasses.dataclass(frozen=True)
class Check:
    """One finding: what was checked, ok/fail/unknown, and what was seen."""

    name: str
    status: str
    seen: str


@dataclasses.dataclass
class Visit:
    """What the checks share: settings, findings, and what the API showed so far.

    It is also the clients' trace hook (`record`): it keeps the last raw answer,
    and passes every call on to the user's wire trace (`zomro:trace`) if set.
    """

    settings: ProviderSettings
    timeout: float
    clock: Clock
    checks: list[Check] = dataclasses.field(default_factory=list)
    stopped: Optional[str] = None
    login_token: Optional[str] = None
    client: Optional[ZomroClient] = None
    first: dict[str, Any] = dataclasses.field(default_factory=dict)  # the list's first page
    elems: list[Any] = dataclasses.field(default_factory=list)  # the elements of every page
    opened: list[ZomroClient] = dataclasses.field(default_factory=list)
    last: dict[str, Any] = dataclasses.field(default_factory=dict)  # the last traced call

    def __post_init__(self) -> None:
        self.trace = WireTrace.from_setting(self.settings.trace, self.credentials)

    def record(self, **call: Any) -> None:
        self.last = call
        if self.trace is not None:
            self.trace.record(**call)

    def credentials(self) -> list[str]:
        return [s for s in (self.settings.token, self.settings.password, self.login_token) if s]

    def add(self, name: str, status: str, seen: str) -> None:
        self.checks.append(Check(name, status, redact(seen, self.credentials())))

    def stop(self, why: str) -> None:
        self.stopped = why

    def open(self, token: Optional[str] = None) -> ZomroClient:
        """A client that logs in (no token) or uses `token` as is, never both: a
        refused session shows instead of being mended by a fresh login."""
        s = self.settings
        client = ZomroClient(
            s.endpoint, token=token, username=None if token else s.username,
            password=None if token else s.password, clock=self.clock, trace=cast(WireTrace, self),
            tuning=Tuning(timeout=self.timeout, retries=1, backoff_max=1.0, list_ttl=0),
        )
        self.opened.append(client)
        return client

    def call(self, func: str, form: Optional[dict[str, str]] = None) -> dict[str, Any]:
        assert self.client is not None
        return self.client.call(func, form, deadline=self.clock.monotonic() + self.timeout)


def _err(exc: ZomroError) -> str:
    parts = [f"$type {exc.err_type}"] if exc.err_type else []
    parts += [f"$object {exc.err_object}"] if exc.err_object else []
    return exc.message + (f" ({', '.join(parts)})" if parts else "")


def _short(text: Optional[str], limit: int = 40) -> str:
    if text is None:
        return "nothing"
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _answer(call: Mapping[str, Any]) -> str:
    """One traced answer described for a person."""
    if call.get("http_status") is None:
        return "no HTTP answer"
    head, body = f"HTTP {call['http_status']}", call.get("body")
    if isinstance(body, str):
        html = body.lstrip()[:200].lower().startswith(("<!doctype", "<html"))
        return f"{head}, {'HTML' if html else 'a body'} that is not JSON"
    doc = body.get("doc") if isinstance(body, dict) else None
    error = doc.get("error") if isinstance(doc, dict) else None
    if not isinstance(error, dict):
        return f"{head}, JSON " + ("with no error" if isinstance(doc, dict) else "without a doc object")
    return f"{head}, JSON error $type {error.get('$type')} $object {error.get('$object') or '(none)'}"


def shape_of(value: Any) -> str:
    """How a value is wrapped, e.g. `{"$"}`, `{"$orig","$"}`, `list of {"$"}`."""
    if isinstance(value, list):
        return f"list of {shape_of(value[0])}" if value else "empty list"
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: (k != "$orig", k != "$", k))
        return "{" + ",".join(json.dumps(k) for k in keys) + "}"
    return "null" if value is None else f"plain {type(value).__name__}"


def _records(elems: Sequence[Any]) -> list[ImageRecord]:
    found = []
    for elem in elems:
        try:
            record = ImageRecord.from_api(elem)
        except ZomroError:  # an unusable id: `elem shape` reports it
            continue
        found += [record] if record else []
    return found


def _paging(doc: Mapping[str, Any], key: str) -> Optional[int]:
    return to_int(unwrap(doc.get(key)))


def _ids(page: Sequence[Any]) -> set[str]:
    return {i for i in (ID.read(e) if isinstance(e, dict) else None for e in page) if i}


def check_login(v: Visit) -> None:
    """`func=auth` with the username and password; the token at `doc.auth.$id`."""
    if not (v.settings.username and v.settings.password):
        return
    try:
        v.login_token = v.open().login(v.clock.monotonic() + v.timeout)
    except ZomroError as exc:
        body = v.last.get("body")
        doc = body.get("doc") if isinstance(body, dict) else None
        if isinstance(doc, dict) and "error" not in doc:
            where, keys = ("doc.auth", doc["auth"]) if isinstance(doc.get("auth"), dict) else ("doc", doc)
            v.add("login", FAIL, f"no session token at doc.auth.$id; {where} has keys {sorted(keys)}")
        elif isinstance(exc, AuthError):
            v.add("login", FAIL, f"login refused: {_err(exc)}; check {v.settings.origin('password')}")
        else:
            v.add("login", FAIL, f"no usable answer to func=auth: {_err(exc)}")
        return None if v.settings.token else v.stop("the login failed")
    auth = v.last["body"]["doc"]["auth"]
    if auth.get("$id"):
        v.add("login", OK, "doc.auth.$id carries a session token")
    else:
        v.add("login", UNKNOWN, "token at doc.auth.$ with no $id; the provider reads both")


def check_session(v: Visit) -> None:
    """The first list page with each token the provider may use, in its order: a
    refused configured token is no failure when the provider can log in instead."""
    tokens = [(v.settings.token, "the configured token"), (v.login_token, "the token from the login")]
    tokens = [(token, what) for token, what in tokens if token]
    for index, (token, what) in enumerate(tokens):
        name = "token accepted" if index == 0 else "login token accepted"
        v.client = v.open(token)
        try:
            v.first = v.call(FUNC_LIST, {"p_num": "1", "p_cnt": str(PAGE_SIZE)})
        except AuthError as exc:
            refused = f"a call with {what} was refused: {_err(exc)}"
            if exc.err_type == "access" and index + 1 < len(tokens):
                v.add(name, UNKNOWN, f"{refused}; the provider logs in with the username and password instead")
                continue
            v.add(name, FAIL if exc.err_type in ("access", "blocked") else UNKNOWN, refused)
            return v.stop("the API does not accept the session")
        except ZomroError as exc:
            v.add(name, UNKNOWN, f"cannot tell: {_err(exc)}")
            v.add("list envelope", FAIL, f"no usable answer to func=image: {_err(exc)}")
            return v.stop("the image list cannot be read")
        return v.add(name, OK, f"func=image with {what} was not an access error")
    v.stop("no session token")


def check_whoami(v: Visit) -> None:
    """`func=whoami`, with which the provider tries a token at preview."""
    try:
        doc = v.call(FUNC_WHOAMI)
    except AuthError as exc:
        v.add("whoami", FAIL, f"refused a session that func=image accepts ({_err(exc)}): a token "
              "check at preview would refuse a working token")
    except ApiError as exc:
        v.add("whoami", UNKNOWN, f"the API does not know func=whoami ({_err(exc)}): the provider "
              "cannot try a token before its first image call")
    except ZomroError as exc:
        v.add("whoami", UNKNOWN, f"no usable answer to func=whoami: {_err(exc)}")
    else:
        keys = sorted(k for k in doc if not k.startswith("$"))
        v.add("whoami", OK, f"func=whoami answers for the session (doc keys {keys[:8]})")


def check_list(v: Visit) -> None:
    """The envelope of the first page, and which paging fields it carries."""
    elem = v.first.get("elem")
    if elem is None:
        v.add("list envelope", OK, "doc is an object; doc.elem absent (no images)")
    elif isinstance(elem, dict):
        v.add("list envelope", OK, "doc is an object; doc.elem a single object (one image)")
    elif isinstance(elem, list):
        v.add("list envelope", OK, f"doc is an object; doc.elem a list of {len(elem)}")
    else:
        v.add("list envelope", FAIL, f"doc.elem is a {shape_of(elem)}")
        return v.stop("the image list cannot be read")
    keys = ("p_num", "p_cnt", "p_elems")
    seen = ", ".join(f"{k} {shape_of(v.first[k])} {_paging(v.first, k)}" for k in keys if k in v.first)
    missing = [k for k in keys if _paging(v.first, k) is None]
    if not missing:
        return v.add("list paging fields", OK, seen)
    v.add("list paging fields", UNKNOWN, f"{seen or 'none'}; missing or not a number: {', '.join(missing)}"
          + ("; the provider reads until an empty page" if "p_elems" in missing else ""))


def _walk(v: Visit) -> tuple[list[list[Any]], set[int], Optional[int]]:
    """The pages as the provider reads them: until they hold `p_elems` images, an
    empty page, or a page that adds nothing; (pages, totals stated, page repeated)."""
    pages, totals = [as_list(v.first.get("elem"))], {_paging(v.first, "p_elems")}
    ids, repeat = _ids(pages[0]), None
    while pages[-1] and len(pages) < MAX_PAGES and not any(t is not None and len(ids) >= t for t in totals):
        doc = v.call(FUNC_LIST, {"p_num": str(len(pages) + 1), "p_cnt": str(PAGE_SIZE)})
        pages.append(as_list(doc.get("elem")))
        totals.add(_paging(doc, "p_elems"))
        new = _ids(pages[-1]) - ids
        if pages[-1] and not new:
            repeat = len(pages)
            break
        ids |= new
    return pages, {t for t in totals if t is not None}, repeat


def check_pages(v: Visit) -> None:
    """Every page: the list must add up to what `p_elems` says, as the provider needs."""
    try:
        pages, stated, repeat = _walk(v)
    except ZomroError as exc:
        v.elems = as_list(v.first.get("elem"))
        return v.add("list pages", FAIL, f"a later page failed: {_err(exc)}")
    v.elems = [e for page in pages for e in page]
    walk = f"{len(pages)} page(s), {len(_ids(v.elems))} distinct image(s)"
    if len(stated) > 1:
        v.add("list pages", FAIL, f"{walk}; p_elems changed between pages ({sorted(stated)})")
    elif repeat:
        v.add("list pages", FAIL, f"{walk}; page {repeat} repeats earlier images: the end cannot be told")
    elif not stated:
        v.add("list pages", UNKNOWN, f"{walk}; no p_elems total: the provider reads until an empty page")
    elif len(_ids(v.elems)) != min(stated):
        v.add("list pages", FAIL, f"{walk} but p_elems says {min(stated)}: the provider refuses a list "
              "that does not add up")
    else:
        v.add("list pages", OK, f"{walk}, as p_elems says")


def check_small_pages(v: Visit) -> None:
    """Pages of one image each: does `p_num` move on and `p_cnt` limit the page?"""
    if len(v.elems) < 2:
        return v.add("list paging", UNKNOWN, "fewer than 2 images: p_cnt=1 paging not tried")
    try:
        first, second = (_ids(as_list(v.call(FUNC_LIST, {"p_num": p, "p_cnt": "1"}).get("elem")))
                         for p in "12")
    except ZomroError as exc:
        return v.add("list paging", FAIL, f"p_cnt=1 pages failed: {_err(exc)}")
    if len(first) == 1 and len(second) == 1 and first != second:
        v.add("list paging", OK, "p_cnt=1: pages 1 and 2 each carry one different image")
    elif len(first) > 1:
        v.add("list paging", UNKNOWN, f"p_cnt=1 ignored ({len(first)} images on page 1); the provider copes")
    elif first == second:
        v.add("list paging", FAIL, "p_num=2 repeats page 1: images beyond page 1 are missed")
    else:
        v.add("list paging", UNKNOWN, f"p_cnt=1 pages carried {len(first)} and {len(second)}")


def check_elements(v: Visit) -> None:
    """Every element an object with a usable id (else the list proves nothing), then
    every attribute the provider reads from the list."""
    dicts = [e for e in v.elems if isinstance(e, dict)]
    no_id = len(dicts) - len(_records(dicts))
    plain = [e for e in dicts if not isinstance(e.get("id"), dict)]
    if not v.elems:
        v.add("elem shape", UNKNOWN, NO_IMAGES)
    elif len(dicts) < len(v.elems):
        v.add("elem shape", FAIL, f"{len(v.elems) - len(dicts)} of {len(v.elems)} element(s) are not objects")
    elif no_id:
        bad = next(e for e in dicts if not _records([e]))
        v.add("elem shape", FAIL, f"{no_id} of {len(dicts)} element(s) have no usable id: keys {sorted(bad)[:12]}")
    elif plain:
        v.add("elem shape", UNKNOWN, f"id not wrapped in {len(plain)} of {len(dicts)} "
              f"({shape_of(plain[0].get('id'))}); the provider reads it")
    else:
        v.add("elem shape", OK, f"{len(dicts)} object(s), each with a wrapped id")
    v.checks += [field_check("list", d, dicts) for d in DECODE_TABLE if LIST in d.views]


def field_check(prefix: str, d: Decoded, elems: Sequence[Mapping[str, Any]]) -> Check:
    """How one attribute arrives across the elements: under which key, wrapped how,
    and whether it decodes as the provider decodes it."""
    name, total = f"{prefix} {d.attr}", len(elems)
    found = []  # (raw value, decoded value, key) of each element carrying one of the keys
    for elem in elems:
        key = next((k for k in d.keys if k in elem), None)
        found += [(elem[key], d.read(elem), key)] if key else []
    if not total:
        return Check(name, UNKNOWN, NO_IMAGES)
    if not found:
        return Check(name, UNKNOWN, f"absent from all {total} element(s) ({'/'.join(d.keys)})")
    keys = "/".join(dict.fromkeys(k for _, _, k in found))
    shapes = ", ".join(s for s, _ in Counter(shape_of(raw) for raw, _, _ in found).most_common())
    bad = [raw for raw, value, k in found if value is None and k == d.keys[0] and _bad(raw)]
    good = [(raw, value) for raw, value, _ in found if value is not None]
    if bad:
        return Check(name, FAIL, f"undecodable in {len(bad)} of {total}, e.g. {_short(json.dumps(bad[0]), 60)}")
    if len(found) < total:
        return Check(name, UNKNOWN, f"absent in {total - len(found)} of {total}; elsewhere {keys}: {shapes}")
    if not good:
        return Check(name, UNKNOWN, f"{keys}: nothing usable ({shapes}) in {total} element(s)")
    raw, value = good[0]
    both = isinstance(raw, dict) and "$orig" in raw
    sample = f"$orig {_short(unwrap(raw))} / $ {_short(unwrap(raw, raw=False))}" if both else _short(unwrap(raw))
    seen = f"{keys}: {shapes} in {total} of {total}, e.g. {sample}"
    if isinstance(value, bool) and (unwrap(raw) or "").strip().lower() not in ("on", "off"):
        seen += f" (a label, not on/off: read as {value})"
    return Check(name, OK, seen + (f"; empty in {total - len(good)}" if len(good) < total else ""))


def _bad(value: Any) -> bool:
    """Whether a value that did not decode carries something: text, or structure
    other than display attributes (`$color`); blanks, `{}` and `[]` are empty."""
    text = unwrap(value)
    if text is not None:
        return bool(text.strip())
    if isinstance(value, list):
        return any(_bad(item) for item in value)
    if isinstance(value, dict):
        return any(k in ("$", "$orig") or not k.startswith("$") for k in value)
    return value is not None and value != ""


def check_statuses(v: Visit) -> None:
    """Every status word and billing state seen; unknown ones are waited on, so `?`."""
    records = _records(v.elems)
    if not records:
        return v.add("status words", UNKNOWN, "no images in the account: no status seen")
    words = Counter(r.status.strip() for r in records if r.status)
    if not words:
        v.add("status words", UNKNOWN, "no fleio_status in the list: the provider goes by item_status alone")
    for word, count in words.most_common():
        billed = {ITEM_STATUSES.get((r.item_status or "").strip()) for r in records
                  if (r.status or "").strip() == word}
        if is_known(word):
            meaning = BY_WORD[word.lower().replace(" ", "_").replace("-", "_")].meaning
            v.add(f"status {word!r}", OK, f"known ({phase_of(word).value}: {meaning}); {count} image(s)")
        elif billed == {Phase.ACTIVE}:
            # A new image would be waited on until create_timeout, then deleted.
            v.add(f"status {word!r}", FAIL, f"unknown word {word!r} on {count} image(s) whose item_status "
                  "says active: it is most likely the word for Active, which the provider does not know, "
                  "so creates would wait until create_timeout")
        else:
            v.add(f"status {word!r}", UNKNOWN, f"unknown word {word!r}: the provider waits on it as still "
                  f"on its way until create_timeout; {count} image(s)")
    for item, count in Counter(r.item_status.strip() for r in records if r.item_status).most_common():
        phase = ITEM_STATUSES.get(item)
        seen = f"known ({phase.value})" if phase else f"unknown billing state {item!r}"
        v.add(f"item_status {item!r}", OK if phase else UNKNOWN, f"{seen}; {count} image(s)")


def check_view(v: Visit) -> None:
    """`image.edit` without `sok` of one listed image: the fields refresh reads, and
    whether they agree with the list."""
    records = _records(v.elems)
    if not records:
        return v.add("view", UNKNOWN, "no listed image to view")
    listed = next((r for r in records if r.phase is Phase.ACTIVE), records[0])
    try:
        doc = v.call(FUNC_EDIT, {"elid": listed.id})
    except ZomroError as exc:
        how = "answered as missing" if isinstance(exc, NotFoundError) else "failed"
        return v.add("view", FAIL, f"image.edit elid={listed.id} of a listed image {how}: {_err(exc)}")
    v.add("view", OK, f"image.edit elid={listed.id} without sok: {sum(k[:1] != '$' for k in doc)} field(s)")
    v.checks += [field_check("view", d, [doc]) for d in DECODE_TABLE if VIEW in d.views]
    view = _records([doc if any(k in doc for k in ID.keys) else {**doc, "elid": {"$": listed.id}}])
    pairs = [(n, getattr(listed, n), getattr(view[0], n) if view else None) for n in COMPARED]
    pairs = [(n, a, b) for n, a, b in pairs if a is not None and b is not None]
    diffs = [f"{n} (list {_short(str(a), 20)}, view {_short(str(b), 20)})"
             for n, a, b in pairs if str(a).strip().lower() != str(b).strip().lower()]
    if diffs:
        v.add("view matches list", UNKNOWN, "differs: " + "; ".join(diffs))
    else:
        seen = f"{len(pairs)} field(s) agree (letter case ignored)" if pairs else "nothing to compare"
        v.add("view matches list", OK if pairs else UNKNOWN, seen)


def check_missing_id(v: Visit) -> None:
    """How the API answers for an id that does not exist, and whether the client
    recognises that answer as "not found"."""
    name = f"missing id (elid {MISSING_ID})"
    try:
        doc = v.call(FUNC_EDIT, {"elid": MISSING_ID})
    except NotFoundError:
        v.add(name, OK, f"{_answer(v.last)}: recognised as not found")
    except AnswerTimeout:
        v.add(name, FAIL, f"no answer within {v.timeout:g} s: a call on a missing id hangs")
    except ZomroError:
        v.add(name, UNKNOWN, f"{_answer(v.last)}: {NOT_DIRECT}")
    else:
        keys = sorted(k for k in doc if not k.startswith("$"))
        v.add(name, FAIL, f"{_answer(v.last)}: looks like success (doc keys {keys[:10]}); "
              "the provider would take a missing image for an existing one")


def check_list_filter(v: Visit) -> None:
    """The image list's saved filter (`image.filter` without `sok`): a filter set
    in the panel hides images from every list the provider reads."""
    name = "image list filter"
    try:
        doc = v.call(FUNC_FILTER)
    except ZomroError as exc:
        return v.add(name, UNKNOWN, f"image.filter: {_err(exc)}: the saved filter cannot be read; "
                     f"if there is one, {FILTER_ADVICE}")
    saved = saved_filter(doc)
    if saved:
        shown = ", ".join(f"{k} {_short(val, 30)}" for k, val in sorted(saved.items()))
        return v.add(name, FAIL, f"a filter is saved for the image list ({shown}): {FILTER_ADVICE}")
    v.add(name, OK, "no filter saved for the image list")


#: Every check, in order; one that makes the rest pointless stops the visit.
CHECKS: tuple[Callable[[Visit], None], ...] = (
    check_login, check_session, check_whoami, check_list, check_pages, check_small_pages,
    check_elements, check_statuses, check_view, check_missing_id, check_list_filter,
)
