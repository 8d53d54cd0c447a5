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
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.debug("loading %s model %s failed", role, name, exc_info=True)
        raise ModelUnavailableError(
            f"cannot load the {role} model {name!r} ({type(exc).__name__}: {reason[:200]}). {how_to_provide}"
        ) from exc
