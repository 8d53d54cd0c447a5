"""`python -m anyseek` runs the command-line interface."""

from anyseek.cli.app import run

run()
