"""Shared CLI plumbing: user errors, safe terminal text, common options, running an analysis.

Every command builds its run through :func:`run_analysis` so that the capture options
(``--decode-as``, ``--cap``, ``--snmp-keys``, ``--show-secrets``...) mean the same everywhere.
"""

from __future__ import annotations

import contextvars
import re
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

console = Console(highlight=False, soft_wrap=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class UserError(Exception):
    """An error the user caused (bad path, bad keys file...): one line, non-zero exit."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: Any) -> str:
    """Neutralise control characters and ANSI escapes from captured data before printing.

    Also escapes rich markup (``[bold]``) so that capture text cannot style the terminal.
    """
    if text is None:
        return ""
    s = str(text)
    s = _CTRL.sub(lambda m: "\\x%02x" % ord(m.group()) if ord(m.group()) < 256 else "\\u%04x" % ord(m.group()), s)
    return s.replace("[", "\\[")


def _click_errors(name: str) -> tuple:
    """click's exception class ``name``, and typer's vendored copy of it (typer >= 0.2x raises
    ``typer._click.exceptions.*``, which are not click's: usage errors would escape as tracebacks)."""
    import importlib

    out = []
    for mod in ("click.exceptions", "typer._click.exceptions"):
        try:
            out.append(getattr(importlib.import_module(mod), name))
        except (ImportError, AttributeError):
            pass
    return tuple(out)


def run_app(app: typer.Typer) -> int:
    """Run the typer app, turning user errors into one line on stderr."""
    try:
        app(standalone_mode=False)
    except UserError as e:
        err_console.print(f"dissect: error: {safe(e)}", markup=False, highlight=False)
        return e.code
    except KeyboardInterrupt:
        err_console.print("dissect: interrupted")
        return 130
    except SystemExit as e:  # typer/click exit
        return int(e.code or 0)
    except Exception as e:  # click usage errors
        import click

        if isinstance(e, _click_errors("ClickException")):
            e.show()
            return e.exit_code
        if isinstance(e, _click_errors("Abort")):
            err_console.print("dissect: aborted")
            return 1
        raise
    return 0


# Reusable typer option declarations (use as default values in command signatures).
CAPTURES = typer.Argument(..., help="Capture files (pcap, pcapng, optionally .gz); '-' reads stdin.")


def decode_as_option() -> Any:
    return typer.Option(None, "--decode-as", help="Force a protocol on a port: PROTO:PORT (e.g. smtp:2526). Repeatable.")


def cap_option() -> Any:
    return typer.Option(None, "--cap", help="Set a resource cap: NAME=VALUE (see `dissect caps`). Repeatable.")


def parse_decode_as(values: Optional[list[str]]) -> dict[int, str]:
    out: dict[int, str] = {}
    for v in values or []:
        proto, _, port = v.partition(":")
        if not port.isdigit() or not proto or not (0 < int(port) < 65536):
            raise UserError(f"--decode-as expects PROTO:PORT, got {v!r}")
        out[int(port)] = proto.lower()
    if out:
        from dissect.analyzer import protocols

        known = set(protocols())
        bad = sorted({p for p in out.values() if p not in known})
        if bad:
            raise UserError(f"--decode-as: unknown protocol {bad[0]!r} (known: {', '.join(sorted(known))})")
    return out


def build_options(*, decode_as: Optional[list[str]] = None, caps: Optional[list[str]] = None,
                  **kw: Any):
    from dissect.options import Caps, Options

    c = Caps()
    for item in caps or []:
        name, _, value = item.partition("=")
        try:
            c.set(name.strip(), value.strip())
        except ValueError as e:
            raise UserError(f"--cap {item!r}: {e}") from None
    return Options(decode_as=parse_decode_as(decode_as), caps=c, **kw)


def check_paths(paths: list[str]) -> list[str]:
    """Fail early with one clear line for missing or unreadable files."""
    import os

    for p in paths:
        if p == "-":
            continue
        path = Path(p)
        if not path.exists():
            raise UserError(f"{p}: no such file")
        if path.is_dir():
            raise UserError(f"{p}: is a directory, not a capture file")
        if not os.access(path, os.R_OK):
            raise UserError(f"{p}: permission denied")
    return paths


# -- scale-out options (--jobs, --engine, --scheduler): added to every analysis command -------------
_SCALE: contextvars.ContextVar[dict] = contextvars.ContextVar("dissect_scale", default={})

#: commands (and sub-commands) that get --jobs/--engine/--scheduler (see apply_scale_options)
SCALE_COMMANDS = frozenset({"summary", "flows", "export", "report", "http", "smtp", "mail", "snmp",
                            "list", "audit"})


def jobs_option() -> Any:
    return typer.Option(None, "--jobs", "-j", min=1, help="Worker processes (default: every core when the "
                        "input is 64 MB or more, else 1). Results are identical to one process.")


def engine_option() -> Any:
    return typer.Option("local", "--engine", help="local (processes on this machine) or dask "
                        "(a dask.distributed LocalCluster of --jobs workers, or --scheduler).")


def scheduler_option() -> Any:
    return typer.Option(None, "--scheduler", help="A running dask.distributed scheduler, "
                        "tcp://HOST:PORT (implies --engine dask; workers must see the capture files).")


def with_scale_options(fn):
    """Add --jobs/--engine/--scheduler to a command; :func:`run_analysis` picks them up."""
    import functools
    import inspect

    sig = inspect.signature(fn)
    if "jobs" in sig.parameters:
        return fn
    kw = inspect.Parameter.KEYWORD_ONLY
    extra = [inspect.Parameter("jobs", kw, default=jobs_option(), annotation=Optional[int]),
             inspect.Parameter("engine", kw, default=engine_option(), annotation=str),
             inspect.Parameter("scheduler", kw, default=scheduler_option(), annotation=Optional[str])]

    @functools.wraps(fn)
    def wrapper(*args, jobs=None, engine="local", scheduler=None, **kwargs):
        token = _SCALE.set({"jobs": jobs, "engine": engine, "scheduler": scheduler})
        try:
            return fn(*args, **kwargs)
        finally:
            _SCALE.reset(token)

    params = list(sig.parameters.values())
    wrapper.__signature__ = sig.replace(parameters=params + extra)
    wrapper.__annotations__ = {**getattr(fn, "__annotations__", {}), "jobs": Optional[int],
                               "engine": str, "scheduler": Optional[str]}
    return wrapper


def scale_settings() -> dict:
    """The running command's --jobs/--engine/--scheduler (a dict; empty outside such a command)."""
    return _SCALE.get()


def apply_scale_options(app: typer.Typer, names=SCALE_COMMANDS) -> None:
    """Wrap the analysis commands of ``app`` (and of its sub-apps) with :func:`with_scale_options`."""
    for c in app.registered_commands:
        name = c.name or (c.callback.__name__ if c.callback else "")
        if c.callback is not None and name in names:
            c.callback = with_scale_options(c.callback)
    for g in app.registered_groups:
        if g.typer_instance is not None:
            if g.typer_instance.registered_callback is not None and g.name in names:
                cb = g.typer_instance.registered_callback
                if cb.callback is not None:
                    cb.callback = with_scale_options(cb.callback)
            apply_scale_options(g.typer_instance, names)


def run_analysis(paths: list[str], options: Any, *, jobs: Optional[int] = None,
                 engine: Optional[str] = None, scheduler: Optional[str] = None):
    """Analyse captures with a progress bar on stderr; capture errors become UserError.

    ``jobs``/``engine``/``scheduler`` default to the command's --jobs/--engine/--scheduler.
    """
    from dissect.errors import CaptureError, KeysFileError

    check_paths(paths)
    scale = _SCALE.get()
    jobs = scale.get("jobs") if jobs is None else jobs
    engine = (engine or scale.get("engine") or "local").lower()
    scheduler = scheduler or scale.get("scheduler")
    if scheduler:
        engine = "dask"
    if engine not in ("local", "dask"):
        raise UserError(f"--engine expects local or dask, got {engine!r}")
    progress = sys.stderr.isatty() or options.progress
    try:
        if engine == "dask":
            try:
                from dissect.dask_engine import analyze_dask
            except ImportError as e:
                raise UserError(f"--engine dask needs dask.distributed ({e}); pip install 'pcap-dissect[dask]'") \
                    from None
            a = analyze_dask(paths, options, jobs=jobs, scheduler=scheduler, progress=progress,
                             parquet_dir=scale.get("parquet_dir"))
            if scale.get("parquet_dir"):
                a.parquet_dirs = sorted(Path(scale["parquet_dir"]) / n for n in a.tables)
            return a
        from dissect.parallel import analyze_parallel
        return analyze_parallel(paths, options, jobs=jobs, progress=progress)
    except (CaptureError, KeysFileError) as e:  # KeysFileError: a bad --snmp-keys file
        raise UserError(str(e)) from None
    except OSError as e:
        if scheduler:
            raise UserError(f"--scheduler {scheduler}: {e}") from None
        raise
