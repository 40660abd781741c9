"""The distributed engine (``--engine dask``, ``--scheduler tcp://HOST:PORT``): dask.distributed.

The work is split exactly as for ``--jobs`` (:mod:`dissect.parallel`): task ``k`` of ``n`` is
:func:`dissect.parallel.run_shard` on the host-pair shard ``k`` of the whole input (one file or
several merged in time order), so every flow and every fragmented datagram is in one task; the
tasks' results (records, protocols' shared state, counters) are gathered and merged by
:func:`dissect.parallel.merge_results` (canonical order, ``merge_shared``, ``finalize`` once). The
tables are therefore identical to a single-process run.

* ``--engine dask`` without a scheduler starts a ``LocalCluster`` of ``--jobs`` worker processes
  (default: every core; one thread each: the analysis is pure Python and holds the GIL);
* ``--scheduler tcp://HOST:PORT`` uses a running cluster: ``n`` = the number of worker threads
  it has (or ``--jobs``). The workers open the capture files themselves, by absolute path: they
  must see the same files (a shared file system) and have pcap-dissect installed.

Tables come back as pandas DataFrames (``Analysis.tables``); :func:`to_dask` gives Dask DataFrames
and :func:`write_parquet` writes one directory of Parquet partitions per table, the partitions
written by the cluster's workers (``dissect export ... --engine dask --format parquet``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dissect.options import Options

__all__ = ["analyze_dask", "to_dask", "write_parquet", "dask_client"]


def dask_client(jobs: int | None = None, scheduler: str | None = None):
    """A ``distributed.Client``: to ``scheduler`` or to a new LocalCluster of ``jobs`` processes.

    The caller closes it (``client.close()``; a LocalCluster it started closes with it).
    """
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="10s")
    n = jobs or os.cpu_count() or 1
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    client = Client(cluster)
    client._dissect_cluster = cluster   # closed with the client (see _close)
    return client


def _close(client) -> None:
    cluster = getattr(client, "_dissect_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _nthreads(client) -> int:
    try:
        return max(1, sum(client.nthreads().values()))
    except Exception:  # pragma: no cover - scheduler without workers yet
        return 1


def analyze_dask(paths, options: Options | None = None, jobs: int | None = None,
                 scheduler: str | None = None, progress: bool = False, *, client=None,
                 parquet_dir: str | os.PathLike | None = None, **opts: Any):
    """Analyse ``paths`` on a Dask cluster; returns the same :class:`~dissect.pipeline.Analysis`
    as :func:`dissect.analyze`. ``client``: an existing ``distributed.Client`` (kept open).
    ``parquet_dir``: also write every table as partitioned Parquet through the cluster."""
    from dissect.errors import CaptureError
    from dissect.io import read_frames
    from dissect.parallel import merge_results, run_shard
    from dissect.pipeline import make_options

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = [os.path.abspath(os.fspath(p)) for p in paths]
    if any(os.path.basename(p) == "-" for p in paths):
        raise CaptureError("--engine dask reads capture files, not standard input")
    options = make_options(options, **opts)
    if getattr(options, "extract_dir", None):
        raise CaptureError("--extract runs in one process (use --engine local)")
    try:     # user errors once, here, with the single-process wording
        it = read_frames(paths)
    except FileNotFoundError as e:
        raise CaptureError(f"{e.filename or paths[0]}: no such file") from None
    except PermissionError as e:
        raise CaptureError(f"{e.filename or paths[0]}: permission denied") from None
    close = getattr(it, "close", None)
    if close is not None:
        close()
    own = client is None
    if own:
        client = dask_client(jobs, scheduler)
    try:
        n = jobs or _nthreads(client)
        futures = [client.submit(run_shard, paths, options, k, n, key=f"dissect-shard-{k}-of-{n}-{id(paths)}",
                                 pure=False) for k in range(n)]
        if progress:
            _progress(futures)
        results = client.gather(futures)
        analysis = merge_results(results, options)
        if parquet_dir is not None:
            write_parquet(analysis, parquet_dir, npartitions=n)
        return analysis
    finally:
        if own:
            _close(client)


def _progress(futures) -> None:
    """A rich bar over the finished tasks (the workers are not on this machine's terminal)."""
    from distributed import as_completed
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]dask shards"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=True) as p:
        t = p.add_task("shards", total=len(futures))
        for _f in as_completed(futures):
            p.advance(t)


def to_dask(analysis, npartitions: int | None = None) -> dict[str, Any]:
    """Every table of ``analysis`` as a ``dask.dataframe.DataFrame`` (name -> frame)."""
    import dask.dataframe as dd

    out = {}
    for name in analysis.tables:
        df = analysis.tables[name]
        k = npartitions or max(1, min(os.cpu_count() or 1, len(df) // 100_000 + 1))
        out[name] = dd.from_pandas(df, npartitions=max(1, min(k, len(df) or 1)), sort=False)
    return out


def write_parquet(analysis, out_dir: str | os.PathLike, npartitions: int | None = None,
                  show_secrets: bool | None = None) -> list[Path]:
    """One directory per table under ``out_dir`` (``flows/part.0.parquet``...), written by Dask
    (on the cluster's workers when a distributed client is active). Returns the directories."""
    import dask.dataframe as dd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dirs = []
    for name in analysis.tables:
        df = analysis.table(name, show_secrets=show_secrets)
        k = npartitions or 1
        ddf = dd.from_pandas(df, npartitions=max(1, min(k, len(df) or 1)), sort=False)
        target = out / name
        ddf.to_parquet(str(target), write_index=False, overwrite=True)
        dirs.append(target)
    return dirs
