"""The command line: thin Typer commands over :mod:`broadcaster.ops`."""
