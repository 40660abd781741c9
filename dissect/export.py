"""Write every table of an :class:`~dissect.pipeline.Analysis` to files: CSV, Parquet or JSON lines.

One file per table (``flows``, ``weirds`` and every protocol table, empty ones included so that
a consumer always finds the same files), with the column names of ``docs/tables.md``.

* **Parquet** (pyarrow) keeps the schema: timestamps as ``timestamp[ns, tz=UTC]``, integers as
  nullable ``int64``, booleans as nullable ``bool``, lists as ``list<string>``, strings as
  ``string``, floats as ``double``. The column documentation goes into the field metadata.
* **CSV**: ISO 8601 timestamps (UTC, ``Z``), lists joined with ``,``, missing values empty; text
  cells that would start a spreadsheet formula (``=``, ``+``, ``-``, ``@``, tab, CR) are prefixed
  with ``'`` so that captured strings never run in the analyst's spreadsheet.
* **JSON**: JSON lines (one object per row), ISO timestamps, lists as arrays, missing as null.

Secrets (``col(..., secret=True)``) are masked unless ``show_secrets``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dissect.schema import columns, table_types, to_frame

__all__ = ["export", "to_arrow", "FORMATS", "SUFFIX"]

FORMATS = ("csv", "parquet", "json")
SUFFIX = {"csv": ".csv", "parquet": ".parquet", "json": ".jsonl"}


def export(analysis, out_dir: str | Path, fmt: str = "csv", *, show_secrets: bool | None = None,
           tables: list[str] | None = None) -> list[Path]:
    """Write the tables; returns the files written (one per table, sorted by table name)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")
    if show_secrets is None:
        show_secrets = bool(getattr(analysis.options, "show_secrets", False))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    types = table_types()
    names = sorted(types) if tables is None else list(tables)
    written = []
    for name in names:
        cls = types[name]
        df = to_frame(cls, analysis.records.get(name, ()), show_secrets=show_secrets)
        path = out / f"{name}{SUFFIX[fmt]}"
        if fmt == "csv":
            _csv(cls, df, path)
        elif fmt == "parquet":
            _parquet(cls, df, path)
        else:
            _jsonl(cls, df, path)
        written.append(path)
    return written


def _iso(series):
    """datetime64[ns, UTC] -> ISO 8601 strings with a Z (microsecond precision or finer)."""
    s = series.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return s.where(series.notna(), None)


#: a CSV cell starting with one of these runs as a formula when the file is opened in a spreadsheet
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _defuse(v):
    """Captured text must not run in the analyst's spreadsheet (CSV injection): a cell that would
    start a formula gets a leading apostrophe, the convention spreadsheets show as text."""
    if isinstance(v, str) and v.startswith(_FORMULA_START):
        return "'" + v
    return v


def _csv(cls, df, path: Path, append: bool = False) -> None:
    df = df.copy()
    for name, kind, _doc, _secret in columns(cls):
        if kind == "time":
            df[name] = _iso(df[name])
        elif kind == "list":
            df[name] = df[name].map(lambda v: _defuse(",".join(str(x) for x in v)) if v else "")
        elif kind == "object":
            df[name] = df[name].map(lambda v: "" if v is None else _defuse(str(v)))
        elif kind == "str":
            df[name] = df[name].map(_defuse, na_action="ignore")
    df.to_csv(path, index=False, mode="a" if append else "w", header=not append)


def _arrow_schema(cls):
    import pyarrow as pa

    fields = []
    for name, kind, doc, secret in columns(cls):
        t = {"time": pa.timestamp("ns", tz="UTC"), "duration": pa.float64(), "float": pa.float64(),
             "int": pa.int64(), "bool": pa.bool_(), "str": pa.string(), "list": pa.list_(pa.string()),
             "object": pa.string()}[kind]
        fields.append(pa.field(name, t, nullable=True,
                               metadata={"doc": doc, "kind": kind, "secret": str(secret).lower()}))
    return pa.schema(fields, metadata={"table": cls.__table__, "doc": " ".join((cls.__doc__ or "").split())})


def _parquet(cls, df, path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(to_arrow(cls, df), path)


def to_arrow(cls, df):
    """The typed pyarrow Table of one table's DataFrame (the Parquet schema; live streaming uses it)."""
    import pyarrow as pa

    schema = _arrow_schema(cls)
    arrays = []
    for f, (name, kind, _doc, _secret) in zip(schema, columns(cls)):
        col = df[name]
        if kind == "list":
            arrays.append(pa.array([[str(x) for x in v] if v is not None else None for v in col],
                                   type=f.type))
        elif kind == "object":
            arrays.append(pa.array([None if v is None else str(v) for v in col], type=f.type))
        else:
            arrays.append(pa.Array.from_pandas(col, type=f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _json_value(v: Any, kind: str):
    if v is None:
        return None
    if kind == "time":
        try:
            if v != v:  # NaT
                return None
        except (TypeError, ValueError):
            pass
        return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if kind == "list":
        return [str(x) for x in v]
    if kind in ("float", "duration"):
        f = float(v)
        return None if math.isnan(f) else f
    if kind == "int":
        return int(v)
    if kind == "bool":
        return bool(v)
    if kind == "str":
        return str(v)
    return str(v)


def _jsonl(cls, df, path: Path, append: bool = False) -> None:
    import pandas as pd

    cols = columns(cls)
    data = {name: df[name].tolist() for name, *_ in cols}
    n = len(df)
    with open(path, "a" if append else "w", encoding="utf-8") as fh:
        for i in range(n):
            row = {}
            for name, kind, _d, _s in cols:
                v = data[name][i]
                if v is pd.NA or v is pd.NaT:
                    v = None
                row[name] = _json_value(v, kind)
            fh.write(json.dumps(row, ensure_ascii=False))
            fh.write("\n")
