"""The contract every emulated system implements, plus the record store they share.

A sandbox system is a pure request → response function over a small in-memory record store. The
HTTP plumbing (sockets, threads, fault injection, control endpoints) lives in ``server.py`` so a
system can be tested without a socket and hosted the same way whether it is Invoiced's REST API or
Wave's GraphQL endpoint.

State is kept per resource as an ordered ``{key: record}`` mapping. When a ``state_dir`` is given,
each resource is persisted under ``state_dir/<system_id>/``: a snapshot ``<resource>.json``
(written atomically: temp file + ``os.replace``) plus a ``<resource>.journal`` of JSON lines
appended on each API write and folded into the snapshot when it grows. A restarted server - or a
server in another process - therefore sees the same data, and a write costs one appended line,
not a rewrite of the whole resource.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

_MAX_VIEWS = 16
"""Memoised list views per system (one per resource and filter a client is paging through)."""

__all__ = [
    "Field",
    "FieldError",
    "Request",
    "Response",
    "SandboxSystem",
    "iso_z",
    "validate_fields",
    "wave_id",
]


@dataclass
class Request:
    """One HTTP request as a system sees it; ``headers`` keys are lower case."""

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        """The body parsed as JSON (``None`` for an empty body); raises ``ValueError`` if invalid."""
        if not self.body.strip():
            return None
        return json.loads(self.body.decode("utf-8"))

    def param(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter, as most REST APIs read them."""
        values = self.query.get(name)
        return values[0] if values else default


@dataclass
class Response:
    """A reply: ``body`` is JSON-serialisable, or raw ``bytes``/``str`` sent as is."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FieldError(ValueError):
    """A request field failed validation; each system renders it in its own error shape."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Field:
    """One writable or read-only field of an emulated resource.

    ``kind`` is one of ``str int num money bool dict list any currency country date``; ``num``
    and ``money`` accept ints, floats and decimal strings (``"12.50"``) because some systems
    answer money as decimal strings.
    """

    kind: str = "str"
    default: Any = None
    required: bool = False
    read_only: bool = False
    choices: tuple[str, ...] = ()


def _check_kind(name: str, spec: Field, value: Any) -> None:
    kind = spec.kind
    ok = True
    if kind in ("str", "date"):
        ok = isinstance(value, str)
        if ok and kind == "date":
            try:
                datetime.strptime(value, "%Y-%m-%d")
            except ValueError:
                raise FieldError(name, f"{name} must be a date YYYY-MM-DD") from None
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind in ("num", "money"):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if isinstance(value, str):
            try:
                float(value)
                ok = True
            except ValueError:
                ok = False
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "dict":
        ok = isinstance(value, dict)
    elif kind == "list":
        ok = isinstance(value, list)
    elif kind == "currency":
        ok = isinstance(value, str) and len(value) == 3 and value.isalpha()
    elif kind == "country":
        ok = isinstance(value, str) and len(value) == 2 and value.isalpha()
    if not ok:
        raise FieldError(name, f"Invalid value for {name}: {value!r} (expected {kind})")
    if spec.choices and value not in spec.choices:
        raise FieldError(name, f"{name} must be one of {', '.join(spec.choices)}")


def validate_fields(
    fields: dict[str, Field],
    body: dict[str, Any],
    current: dict[str, Any],
    *,
    create: bool,
    create_only: tuple[str, ...] = (),
    same: Callable[[str, Any, Any], bool] | None = None,
) -> dict[str, Any]:
    """Check ``body`` against ``fields``; return the accepted values (read-only ones dropped).

    Unknown names are rejected: a strict API catches connector mapping bugs early. Read-only
    names are ignored so a client may send back what it read. A ``create_only`` field may be sent
    on update only with its current value (``same`` compares, e.g. ignoring currency case).
    """
    out: dict[str, Any] = {}
    for name, value in body.items():
        spec = fields.get(name)
        if spec is None:
            raise FieldError(name, f"Received unknown parameter: {name}")
        if spec.read_only:
            continue
        if not create and name in create_only:
            equal = same(name, value, current.get(name)) if same else value == current.get(name)
            if not equal:
                raise FieldError(name, f"{name} cannot be changed after creation")
            continue
        if value is None:
            if spec.required:
                raise FieldError(name, f"{name} is required")
        else:
            _check_kind(name, spec, value)
        out[name] = value
    if create:
        for name, spec in fields.items():
            if spec.required and body.get(name) is None:
                raise FieldError(name, f"{name} is required")
    return out


def wave_id(kind: str, n: int, business: int = 1) -> str:
    """An opaque Wave-style id: base64 of ``"Business:1;Customer:123"``.

    Wave's public ids are base64 strings of this shape; clients must treat them as opaque, and the
    emulator keeps them so that a client that assumes integers breaks here as it would in reality.
    Businesses themselves are ``base64("Business:1")``.
    """
    raw = f"Business:{business}" if kind == "Business" else f"Business:{business};{kind}:{n}"
    return base64.b64encode(raw.encode("ascii")).decode("ascii")


def iso_z(moment: datetime) -> str:
    """ISO-8601 UTC with a ``Z`` suffix and microseconds only when present."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


class SandboxSystem(ABC):
    """Base class of the five emulated systems.

    Subclasses set ``system_id`` and ``resources``, implement :meth:`handle` and
    :meth:`credentials`, and may override :meth:`id_key` (e.g. ``"Id"`` for the CRM) and
    :meth:`complete_loaded` (how seeding fills ids/timestamps that are missing).
    """

    system_id: ClassVar[str] = ""
    resources: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self, state_dir: Path | None, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.state_dir = Path(state_dir) / self.system_id if state_dir is not None else None
        self._clock = clock or (lambda: datetime.now(UTC))
        self.lock = threading.RLock()
        self._data: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in self.resources}
        self._next_id: dict[str, int] = {r: 1 for r in self.resources}
        self._last_tick: datetime | None = None
        self._journal_lines: dict[str, int] = {}
        # memoised list views (see view()): (resource, key) -> (version, rows)
        self._versions: dict[str, int] = {}
        self._views: dict[tuple[str, Any], tuple[int, list[dict[str, Any]]]] = {}
        self._load_state()

    # ---- the API a host calls -------------------------------------------------------------

    @abstractmethod
    def handle(self, req: Request) -> Response:
        """Answer one API request (control endpoints never reach here)."""

    @abstractmethod
    def credentials(self) -> dict[str, Any]:
        """What a client needs to talk to this system, e.g. ``{"api_key": ...}``."""

    def load_records(self, resource: str, records: list[dict[str, Any]]) -> None:
        """Store seed records as given; only missing ids/timestamps are filled in."""
        with self.lock:
            store = self._resource(resource)
            key = self.id_key(resource)
            for rec in records:
                rec = copy.deepcopy(rec)
                if rec.get(key) is None and self.auto_id(resource):
                    rec[key] = self.new_id(resource)
                rec = self.complete_loaded(resource, rec)
                self._bump_counter(resource, rec[key])
                store[str(rec[key])] = rec
            self._changed(resource)
            self._save(resource)

    def records(self, resource: str) -> list[dict[str, Any]]:
        """A deep copy of every stored record of ``resource``, in insertion order."""
        with self.lock:
            return copy.deepcopy(list(self._resource(resource).values()))

    def count(self, resource: str) -> int:
        """How many records ``resource`` holds (cheap: no copies)."""
        with self.lock:
            return len(self._resource(resource))

    def reset(self) -> None:
        """Forget every record and id counter (and the persisted files)."""
        with self.lock:
            self._next_id.clear()
            for resource in self.resources:
                self._data[resource] = {}
                self._next_id[resource] = 1
                self._changed(resource)
                self._save(resource)

    # ---- hooks for subclasses -------------------------------------------------------------

    def error_body(self, status: int, message: str) -> Any:
        """The body of an injected fault (500/503/429/...), in this API's error shape.

        Clients parse error bodies (the official Invoiced client reads ``message``), so an injected
        fault must look like the system's own errors, not like a generic proxy page.
        """
        return {"error": message, "message": message}

    def id_key(self, resource: str) -> str:
        """The name of the primary-key field of ``resource``."""
        return "id"

    def auto_id(self, resource: str) -> bool:
        """Whether seeding assigns a missing id before :meth:`complete_loaded` (integer ids)."""
        return True

    def complete_loaded(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        """Fill fields a seed record may omit; the default leaves it as given."""
        return record

    # ---- helpers for subclasses -----------------------------------------------------------

    def now(self) -> datetime:
        """The system clock (injectable for tests)."""
        return self._clock()

    def tick(self) -> datetime:
        """A write timestamp strictly greater than the previous one (by at least 1 µs).

        ``updated_at`` is the hub's change cursor, so two writes in the same second (or under a
        frozen test clock) must still be ordered.
        """
        with self.lock:
            moment = self._clock()
            if self._last_tick is not None and moment <= self._last_tick:
                moment = self._last_tick + timedelta(microseconds=1)
            self._last_tick = moment
            return moment

    def new_id(self, resource: str) -> int:
        """The next integer id of ``resource`` (never reused, also across restarts).

        Counters named ``"<resource>.<sub>"`` (e.g. order lines) are persisted with the resource.
        """
        with self.lock:
            n = self._next_id.get(resource, 1)
            self._next_id[resource] = n + 1
            return n

    def get(self, resource: str, key: Any) -> dict[str, Any] | None:
        """The live stored record (not a copy) or ``None``; callers hold ``self.lock``."""
        return self._resource(resource).get(str(key))

    def put(self, resource: str, record: dict[str, Any]) -> None:
        """Insert or replace a record (keyed by its id field) and persist the resource."""
        with self.lock:
            key = record[self.id_key(resource)]
            self._bump_counter(resource, key)
            self._resource(resource)[str(key)] = record
            self._changed(resource)
            self._journal(resource, {"put": record})

    def remove(self, resource: str, key: Any) -> dict[str, Any] | None:
        """Delete a record; returns it, or ``None`` if there was none."""
        with self.lock:
            rec = self._resource(resource).pop(str(key), None)
            if rec is not None:
                self._changed(resource)
                self._journal(resource, {"del": str(key)})
            return rec

    def all(self, resource: str) -> list[dict[str, Any]]:
        """The live records (not copies) in insertion order; callers hold ``self.lock``."""
        return list(self._resource(resource).values())

    def view(
        self,
        resource: str,
        key: Any,
        compute: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """``compute(self.all(resource))``, memoised until ``resource`` changes.

        Why: a client pages through a listing with the same filter and order, and recomputing
        the filtered, sorted list for every page made a full listing cost pages × records
        (15,000 pages × 1.5M orders at TPC-H SF 1). ``key`` names the filter and order (any
        hashable); the rows are the live records, so callers copy what they hand out. A few
        views per system are kept; any write to ``resource`` retires its views.
        """
        with self.lock:
            version = self._versions.get(resource, 0)
            cached = self._views.get((resource, key))
            if cached is not None and cached[0] == version:
                return cached[1]
            rows = compute(self.all(resource))
            if len(self._views) >= _MAX_VIEWS:
                self._views.clear()
            self._views[(resource, key)] = (version, rows)
            return rows

    def _changed(self, resource: str) -> None:
        self._versions[resource] = self._versions.get(resource, 0) + 1

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the lock across several operations that must look atomic to other threads."""
        with self.lock:
            yield

    # ---- persistence ----------------------------------------------------------------------

    def _resource(self, resource: str) -> dict[str, dict[str, Any]]:
        try:
            return self._data[resource]
        except KeyError:
            raise KeyError(
                f"{self.system_id} has no resource {resource!r}; known: {sorted(self._data)}"
            ) from None

    def _bump_counter(self, resource: str, key: Any) -> None:
        if isinstance(key, int) and not isinstance(key, bool):
            self._next_id[resource] = max(self._next_id.get(resource, 1), key + 1)

    def _file(self, resource: str, suffix: str = ".json") -> Path | None:
        return None if self.state_dir is None else self.state_dir / f"{resource}{suffix}"

    def _counters(self, resource: str) -> dict[str, int]:
        return {
            k: v for k, v in self._next_id.items() if k == resource or k.startswith(resource + ".")
        }

    def _journal(self, resource: str, entry: dict[str, Any]) -> None:
        """Append one change to ``<resource>.journal`` (JSON lines); compact when it grows.

        Rewriting a large snapshot on every API write would make writes O(size of the data);
        appending keeps them O(record). The snapshot is rewritten when the journal holds more
        lines than a quarter of the records (at least 200), so replay stays cheap.
        """
        path, snapshot = self._file(resource, ".journal"), self._file(resource)
        if path is None or snapshot is None:
            return
        if not snapshot.exists():
            self._save(resource)  # the first write makes the snapshot, so the file always exists
            return
        entry["counters"] = self._counters(resource)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n")
        lines = self._journal_lines.get(resource, 0) + 1
        self._journal_lines[resource] = lines
        if lines > max(200, len(self._data[resource]) // 4):
            self._save(resource)

    def _save(self, resource: str) -> None:
        path = self._file(resource)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "next_id": self._next_id.get(resource, 1),
            "counters": self._counters(resource),
            "records": list(self._data[resource].values()),
        }
        fd, tmp = tempfile.mkstemp(prefix=f".{resource}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, ensure_ascii=False, separators=(",", ":"))
            os.replace(tmp, path)
        except OSError:
            Path(tmp).unlink(missing_ok=True)
            raise
        # the snapshot now holds every journalled change; replaying them again is harmless
        # (puts and deletes are idempotent), so a crash between these two steps loses nothing
        journal = self._file(resource, ".journal")
        if journal is not None:
            journal.unlink(missing_ok=True)
        self._journal_lines[resource] = 0

    def _load_state(self) -> None:
        """Snapshot, then the journal on top (a torn last line from a crash is skipped)."""
        for resource in self.resources:
            path = self._file(resource)
            key = self.id_key(resource)
            if path is not None and path.exists():
                doc = json.loads(path.read_text(encoding="utf-8"))
                self._data[resource] = {str(r[key]): r for r in doc.get("records", [])}
                self._next_id[resource] = int(doc.get("next_id", 1))
                self._set_counters(doc.get("counters"))
            journal = self._file(resource, ".journal")
            if journal is None or not journal.exists():
                continue
            store = self._data[resource]
            for line in journal.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if "put" in entry:
                    store[str(entry["put"][key])] = entry["put"]
                elif "del" in entry:
                    store.pop(str(entry["del"]), None)
                self._set_counters(entry.get("counters"))
                self._journal_lines[resource] = self._journal_lines.get(resource, 0) + 1

    def _set_counters(self, counters: Any) -> None:
        for name, value in (counters or {}).items():
            self._next_id[name] = max(self._next_id.get(name, 1), int(value))
