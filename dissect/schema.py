"""Records and tables: the one schema of every output.

A record is a frozen, slotted dataclass; one instance is one row of one table. Every field is
declared with :func:`col`, which carries the column's documentation and, where the Python
annotation is not enough, its table type. The table builders (:func:`to_frame`) and the schema
documentation (``python -m dissect.schema``, written to ``docs/tables.md``) are derived from
these declarations, so a column cannot exist without a meaning.

Column kinds (``kind=``):

* ``"time"``   float seconds since the epoch -> ``datetime64[ns, UTC]``
* ``"duration"`` float seconds -> ``float64`` (seconds; NaN when missing)
* ``"int"``    -> nullable ``Int64``
* ``"float"``  -> ``float64``
* ``"bool"``   -> nullable ``boolean``
* ``"str"``    -> pandas ``string`` (nullable)
* ``"list"``   a tuple of strings -> ``string`` joined with ``","`` in exports, kept as a
  tuple in memory (object column) so that code can use it.

When ``kind`` is omitted it is derived from the annotation (``int`` -> int, ``float`` -> float,
``bool`` -> bool, ``str`` -> str, ``tuple`` -> list); fields named ``ts`` or ending in ``_ts``
default to ``time``.

Tables are built column-wise (one list per column, never a list of dicts): the fast path.
"""

from __future__ import annotations

import dataclasses
import operator
import sys
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable

from dissect import gctune

__all__ = ["col", "record", "Record", "columns", "to_frame", "table_types", "register_table",
           "schema_markdown"]

_KINDS = {"time", "duration", "int", "float", "bool", "str", "list", "object"}


def col(doc: str, *, kind: str | None = None, default: Any = dataclasses.MISSING,
        secret: bool = False) -> Any:
    """Declare a column. ``doc`` is its meaning, as shown in docs/tables.md.

    ``secret=True`` marks a value that must be masked in terminal output, reports and exports
    unless the user asked for ``--show-secrets`` (communities, passwords).
    """
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"unknown column kind {kind!r}")
    md = {"doc": doc, "kind": kind, "secret": secret}
    if default is dataclasses.MISSING:
        return field(metadata=md)
    return field(default=default, metadata=md)


_TABLES: dict[str, type] = {}


def register_table(cls: type) -> type:
    name = getattr(cls, "__table__", None)
    if not name:
        raise TypeError(f"{cls.__name__} has no __table__ name")
    prev = _TABLES.get(name)
    if prev is not None and prev is not cls and prev.__qualname__ != cls.__qualname__:
        raise TypeError(f"table {name!r} declared twice ({prev.__qualname__}, {cls.__qualname__})")
    _TABLES[name] = cls
    return cls


def record(table: str, doc: str | None = None):
    """Class decorator: make a frozen slotted dataclass that is one row of ``table``."""

    def wrap(cls):
        cls.__table__ = table
        if doc is not None:
            cls.__doc__ = doc
        dc = dataclass(frozen=True, slots=True)(cls)
        dc.__table__ = table
        _fast_init(dc)
        return register_table(dc)

    return wrap


def _fast_init(dc: type) -> None:
    """Give a record class a faster ``__init__`` with the same signature and behaviour.

    A frozen dataclass's generated ``__init__`` stores each field through
    ``object.__setattr__`` looked up anew per field, which made record construction ~6% of a full
    run (py-spy, bench/profiles). Calling the slots' member descriptors directly, bound once,
    halves its cost; the instances are the same (slotted, frozen: assignment still raises
    ``FrozenInstanceError``). Classes with a ``__post_init__``, ``init=False``, keyword-only or
    default-factory fields keep the dataclass ``__init__``.
    """
    fs = dataclasses.fields(dc)
    if hasattr(dc, "__post_init__") or any(
            not f.init or f.kw_only or f.default_factory is not dataclasses.MISSING for f in fs):
        return
    ns: dict[str, Any] = {}
    params, body = [], []
    for i, f in enumerate(fs):
        if not f.name.isidentifier():     # pragma: no cover - dataclass fields are identifiers
            return
        ns[f"_s{i}"] = dc.__dict__[f.name].__set__
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            ns[f"_d{i}"] = f.default
            params.append(f"{f.name}=_d{i}")
        body.append(f"        _s{i}(self, {f.name})")
    src = (f"def _make({', '.join(ns)}):\n"
           f"    def __init__(self, {', '.join(params)}):\n" + "\n".join(body or ["        pass"]) +
           "\n    return __init__\n")
    scope: dict[str, Any] = {}
    exec(compile(src, f"<record {dc.__qualname__}>", "exec"), scope)   # noqa: S102 (our own source)
    init = scope["_make"](**ns)
    init.__qualname__ = f"{dc.__qualname__}.__init__"
    init.__doc__ = dc.__init__.__doc__
    init.__annotations__ = dict(getattr(dc.__init__, "__annotations__", {}))
    dc.__init__ = init


class Record:
    """Marker base class (optional) for typing; records are made with :func:`record`."""

    __table__: ClassVar[str]


def table_types() -> dict[str, type]:
    """Every registered table name -> record class (import the protocol modules first)."""
    return dict(_TABLES)


def _kind_of(f: dataclasses.Field, hints: dict[str, Any]) -> str:
    k = f.metadata.get("kind") if f.metadata else None
    if k:
        return k
    if f.name == "ts" or f.name.endswith("_ts"):
        return "time"
    t = hints.get(f.name, Any)
    args = [a for a in typing.get_args(t) if a is not type(None)]
    base = args[0] if args and typing.get_origin(t) in (typing.Union, getattr(__import__("types"), "UnionType", None)) else t
    base = typing.get_origin(base) or base
    if base is bool:
        return "bool"
    if base is int:
        return "int"
    if base is float:
        return "float"
    if base is str:
        return "str"
    if base in (tuple, list):
        return "list"
    return "object"


_COLS_CACHE: dict[type, list[tuple[str, str, str, bool]]] = {}


def columns(cls: type) -> list[tuple[str, str, str, bool]]:
    """[(name, kind, doc, secret)] for a record class, in declaration order."""
    got = _COLS_CACHE.get(cls)
    if got is None:
        mod = sys.modules.get(cls.__module__)
        hints = typing.get_type_hints(cls, vars(mod) if mod else None)
        got = []
        for f in dataclasses.fields(cls):
            md = f.metadata or {}
            got.append((f.name, _kind_of(f, hints), md.get("doc", ""), bool(md.get("secret"))))
        _COLS_CACHE[cls] = got
    return got


def mask_secret(value: Any) -> Any:
    """Partly mask a secret: keep the first and last character of long values (``pu***c``)."""
    if value is None or value == "":
        return value
    s = str(value)
    if len(s) <= 2:
        return "*" * len(s)
    if len(s) <= 5:
        return s[0] + "*" * (len(s) - 1)
    return s[0] + "*" * (len(s) - 2) + s[-1]


def to_frame(cls: type, rows: Iterable[Any], *, show_secrets: bool = True):
    """Build the typed DataFrame of one table from its records, column-wise."""
    import numpy as np
    import pandas as pd

    gc_saved = gctune.enter()
    try:
        return _to_frame(cls, rows, show_secrets, np, pd)
    finally:
        gctune.leave(gc_saved)


def _to_frame(cls, rows, show_secrets, np, pd):
    cols = columns(cls)
    names = [c[0] for c in cols]
    rows = list(rows)
    if rows:
        getter = operator.attrgetter(*names) if len(names) > 1 else (lambda r, n=names[0]: (getattr(r, n),))
        data = list(zip(*map(getter, rows)))
    else:
        data = [()] * len(names)
    out = {}
    for (name, kind, _doc, secret), values in zip(cols, data):
        values = list(values)
        if secret and not show_secrets:
            values = [mask_secret(v) for v in values]
        if kind == "time":
            arr = _floats(values, np)
            # nanosecond resolution as documented (pandas 3 would infer microseconds)
            out[name] = pd.to_datetime(arr, unit="s", utc=True).astype("datetime64[ns, UTC]")
        elif kind == "duration" or kind == "float":
            out[name] = pd.array(_floats(values, np), dtype="float64")
        elif kind == "int":
            out[name] = _ints(values, np, pd)
        elif kind == "bool":
            out[name] = pd.array(values, dtype="boolean")
        elif kind == "str":
            out[name] = _strings(values, pd)
        elif kind == "list":
            out[name] = pd.Series([tuple(v) if v is not None else () for v in values], dtype="object")
        else:
            out[name] = pd.Series(values, dtype="object")
    return pd.DataFrame(out, columns=names)


# Column builders: the common shapes (every value an int / a str / a number, or None) go straight to
# numpy or Arrow in C; anything else takes pandas' general conversion, which gives the same result.
_NONE = type(None)


def _floats(values: list, np):
    """float64 array, None as NaN."""
    if set(map(type, values)) <= {float, int, _NONE}:
        return np.array(values, dtype="float64")     # numpy turns None into NaN itself
    return np.array([np.nan if v is None else v for v in values], dtype="float64")


def _ints(values: list, np, pd):
    """Nullable Int64 array."""
    if values and set(map(type, values)) <= {int, _NONE}:
        obj = np.array(values, dtype=object)
        mask = np.equal(obj, None)
        if mask.any():
            obj[mask] = 0
        try:
            data = obj.astype(np.int64)
        except OverflowError:       # beyond int64: pandas raises the error users know
            return pd.array(values, dtype="Int64")
        return pd.arrays.IntegerArray(data, mask.astype(bool))
    return pd.array(values, dtype="Int64")


def _strings(values: list, pd):
    """Nullable string array (pandas' "string" dtype, Arrow storage)."""
    if set(map(type, values)) <= {str, _NONE}:
        dt = pd.StringDtype()
        if dt.storage == "pyarrow":
            import pyarrow as pa
            return pd.arrays.ArrowStringArray(pa.chunked_array([pa.array(values, type=pa.large_string())]))
        return pd.array(values, dtype=dt)
    return pd.array([None if v is None else str(v) for v in values], dtype="string")


def schema_markdown() -> str:
    """docs/tables.md: every table, column, type and meaning."""
    lines = ["# Tables", "",
             "Generated from the record classes by `python -m dissect.schema > docs/tables.md`;",
             "`tests/test_schema_docs.py` fails when this file is out of date.", "",
             "Types: `time` = UTC timestamp (pandas `datetime64[ns, UTC]`; ISO 8601 in CSV/JSON), "
             "`int` = nullable integer, `float`/`duration` = float (durations in seconds), "
             "`bool` = nullable boolean, `str` = string, `list` = list of strings (joined with `,` in CSV). "
             "Columns marked *secret* are masked unless `--show-secrets` is given.", ""]
    for name in sorted(_TABLES):
        cls = _TABLES[name]
        lines.append(f"## `{name}`")
        lines.append("")
        doc = (cls.__doc__ or "").strip()
        if doc and not doc.startswith(cls.__name__ + "("):
            lines.append(" ".join(doc.split()))
            lines.append("")
        lines.append("| column | type | meaning |")
        lines.append("|---|---|---|")
        for cname, kind, cdoc, secret in columns(cls):
            cdoc = " ".join(cdoc.split()).replace("|", "\\|")
            if secret:
                cdoc += " *(secret)*"
            lines.append(f"| `{cname}` | {kind} | {cdoc} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover - exercised by the docs test
    from dissect import analyzer  # noqa: F401  (imports every protocol's records)
    from dissect.pipeline import load_tables
    # the records registered in the imported module dissect.schema, not in this __main__ copy
    from dissect.schema import schema_markdown as _markdown

    analyzer.load_protocols()
    load_tables()
    sys.stdout.write(_markdown())
