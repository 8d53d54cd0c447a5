"""What every encoder records about itself, and the shared loading guard."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from anyseek.engine.errors import AnyseekError, ModelUnavailableError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """Identifies the vectors a model produces: two encoders with equal fingerprints are interchangeable."""

    role: str  # joint | text | speech
    model: str
    source: str  # pretrained tag, resolved local path, or package that shipped it
    dim: int
    library: str  # e.g. "open_clip 3.3.0"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@contextlib.contextmanager
def loading(role: str, name: str, how_to_provide: str) -> Iterator[None]:
    """Turn whatever a model library raises while loading into one clear, actionable error."""
    try:
        yield
    except AnyseekError:
        raise
    except Exception as exc:  # noqa: BLE001 - model libraries raise anything; this is the boundary
        from anyseek.engine.encoders.resolve import hub_found_unreachable

        log.debug("loading %s model %s failed", role, name, exc_info=True)
        if hub_found_unreachable():  # the library's own words would be a page about failed downloads
            reason = "it is not downloaded here, and the model hub cannot be reached"
        else:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            reason = f"{type(exc).__name__}: {_shorten(first)}" if first else type(exc).__name__
        raise ModelUnavailableError(f"cannot load the {role} model {name!r} ({reason}). {how_to_provide}") from exc


def _shorten(reason: str, limit: int = 240) -> str:
    """A library's reason, cut at a word boundary (never mid-word) when it is long."""
    if len(reason) <= limit:
        return reason
    return reason[:limit].rsplit(" ", 1)[0] + " …"
