"""The `dissect` command: a typer app; each command lives in its own module of this package.

Each command module exposes ``register(app)``; ``COMMAND_MODULES`` lists them in help order.
User-caused errors raise :class:`dissect.cli.common.UserError` and become one line on stderr
with a non-zero exit, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

COMMAND_MODULES = (
    "summary", "flows", "follow", "export",      # foundation
    "smtp", "extract",                           # mail (smtp + mail commands) / extraction
    "http",                                      # http
    "snmp",                                      # snmp (+ snmp audit)
    "report",                                    # HTML report
    "live",                                      # live capture
)

app = typer.Typer(
    name="dissect",
    help="Packet-capture analyzer: flows, SMTP/MIME, HTTP and SNMP into tables and HTML reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _name in COMMAND_MODULES:
    try:
        _mod = importlib.import_module(f"dissect.cli.cmd_{_name}")
    except ModuleNotFoundError as e:  # a command not written yet
        if e.name != f"dissect.cli.cmd_{_name}":
            raise
        continue
    _mod.register(app)

# --jobs / --engine / --scheduler on every analysis command (dissect.parallel, dissect.dask_engine)
from dissect.cli.common import apply_scale_options  # noqa: E402

apply_scale_options(app)


def main() -> None:
    from dissect.cli.common import run_app

    sys.exit(run_app(app))


if __name__ == "__main__":
    main()
