"""The command line: thin Typer commands over :mod:`broadcaster.app`, the application layer."""
