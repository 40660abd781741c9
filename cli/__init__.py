"""The `dissect` command line (typer). One module per command group; see main.py."""
