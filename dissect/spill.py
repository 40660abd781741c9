"""Tables streamed to files while the capture is read: memory stays flat however long it is.

With ``Options.stream_dir`` set, the pipeline hands its finished rows (flows that ended,
transactions, PDUs...) to a :class:`TableSpiller` every ``min_rows`` rows; the spiller appends
them to one file per table (Parquet row groups, CSV or JSON lines, the same schema and columns as
``dissect export``) and drops them from memory. Before a batch is dropped, the protocols that
aggregate a table (``Protocol.observe``: the SNMP audit observes ``snmp_pdus``) see its rows, once;
rows that a protocol's ``finalize`` reads at the end (``Protocol.finalize_reads``; none today) are
set aside until then instead.

Used by ``dissect export --stream`` and ``dissect live --stream-tables``. Rows come out in the order
they were produced, not in the canonical order of an in-memory run, and keep the row ids they were
produced with (``snmp_pdus.pdu_index``: unique, in the order the PDUs were decoded).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dissect.export import FORMATS, SUFFIX, _csv, _jsonl, to_arrow
from dissect.schema import table_types, to_frame

__all__ = ["TableSpiller"]


class TableSpiller:
    def __init__(self, out_dir: Path, fmt: str = "parquet", *, show_secrets: bool = False,
                 min_rows: int = 20_000):
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.fmt = fmt
        self.show_secrets = show_secrets
        self.min_rows = min_rows
        self.writers: dict[str, Any] = {}       # parquet writers
        self.started: set[str] = set()          # tables with a file begun
        self.counts: dict[str, int] = {}
        self.kept: dict[str, list] = {}

    def path(self, table: str) -> Path:
        return self.dir / f"{table}{SUFFIX[self.fmt]}"

    def write(self, table: str, rows: list) -> None:
        cls = table_types().get(table) or type(rows[0])
        df = to_frame(cls, rows, show_secrets=self.show_secrets)
        append = table in self.started
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            at = to_arrow(cls, df)
            w = self.writers.get(table)
            if w is None:
                w = self.writers[table] = pq.ParquetWriter(str(self.path(table)), at.schema)
            w.write_table(at)
        elif self.fmt == "csv":
            _csv(cls, df, self.path(table), append=append)
        else:
            _jsonl(cls, df, self.path(table), append=append)
        self.started.add(table)
        self.counts[table] = self.counts.get(table, 0) + len(rows)

    @staticmethod
    def kept_tables(pipeline) -> set[str]:
        keep: set[str] = set()
        for proto in pipeline.detector.protos.values():
            if proto.finalize is not None:
                keep.update(getattr(proto, "finalize_reads", ()) or ())
        return keep

    def drain(self, pipeline, final: bool = False) -> None:
        """Write what the pipeline produced since the last call (each row is handled once)."""
        if not final and len(pipeline.sink) < self.min_rows:
            return
        keep = self.kept_tables(pipeline)
        taken = pipeline.take_records()
        # the rows that leave for good are observed now (kept ones when finish() gets them back)
        pipeline.observe({t: rows for t, rows in taken.items() if t not in keep})
        for table, rows in taken.items():
            if table in keep:
                self.kept.setdefault(table, []).extend(rows)
            elif rows:
                self.write(table, rows)

    def restore(self, pipeline) -> None:
        """Give the set-aside rows back to the pipeline before ``finalize`` runs."""
        for rows in self.kept.values():
            pipeline.sink.extend(rows)
        self.kept.clear()

    def write_records(self, records: dict[str, list]) -> None:
        """The rest at the end (after finalize); the records are emptied as they are written."""
        step = max(1, self.min_rows)
        for table, rows in list(records.items()):
            records[table] = []
            for i in range(0, len(rows), step):     # in row groups: no whole-table frame at the end
                self.write(table, rows[i:i + step])

    def close(self) -> list[Path]:
        """Close the files; every registered table gets one (empty tables too). Returns them."""
        for w in self.writers.values():
            w.close()
        self.writers.clear()
        from dissect.export import export as _export
        from dissect.pipeline import load_tables

        missing = [t for t in load_tables() if t not in self.started]
        if missing:
            class _Empty:
                records: dict = {}
                options = None
            _export(_Empty(), self.dir, self.fmt, show_secrets=self.show_secrets, tables=missing)
            self.started.update(missing)
        return sorted(self.path(t) for t in self.started)

    def reload(self, analysis):
        """Read the written tables back into ``analysis.records`` (e.g. to build a report)."""
        import pandas as pd

        from dissect.schema import columns

        types = table_types()
        for table in self.started:
            cls = types.get(table)
            if cls is None or self.fmt != "parquet":
                continue
            df = pd.read_parquet(self.path(table))
            data = {}
            for name, kind, _doc, _secret in columns(cls):
                col = df[name]
                if kind == "time":
                    vals = [None if pd.isna(v) else v.timestamp() for v in col]
                elif kind == "list":
                    vals = [tuple(v) if v is not None else () for v in col]
                else:
                    vals = [None if (v is None or (not isinstance(v, (list, tuple, str, bytes)) and pd.isna(v)))
                            else v for v in col]
                data[name] = vals
            names = list(data)
            analysis.records[table] = [cls(**dict(zip(names, row))) for row in zip(*data.values())]
        return analysis
