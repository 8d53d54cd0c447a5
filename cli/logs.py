"""What the CLI logs: anyseek's own warnings as `warning: ...` lines, model libraries quiet unless -v."""

from __future__ import annotations

import logging
import os


class _LogLines(logging.Formatter):
    """anyseek's own warnings read like the CLI's other warnings (`warning: ...`); the rest as before."""

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno == logging.WARNING and record.name.startswith("anyseek"):
            return f"warning: {record.getMessage()}"
        return super().format(record)


def quiet_libraries(verbose: bool) -> None:
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_LogLines("%(levelname)s %(name)s: %(message)s"))
    if not verbose:
        # Model libraries log through the root logger (open_clip logs a failed download as an ERROR that
        # our own one-line error already explains); anyseek's own warnings still show.
        for handler in logging.getLogger().handlers:
            handler.addFilter(lambda record: record.name.startswith("anyseek"))
        logging.getLogger("faiss.loader").setLevel(logging.ERROR)
