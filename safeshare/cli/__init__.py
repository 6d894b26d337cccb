"""The `safeshare` command line: one module for each group of commands, gathered in app.py."""

from safeshare.cli.app import main

__all__ = ["main"]
