"""``python -m zarrlake`` runs the CLI."""

from zarrlake.cli import entry

entry()
