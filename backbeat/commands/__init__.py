"""Command groups of the `backbeat` command line, attached to the main group in `backbeat.cli`."""
