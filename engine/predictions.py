"""Typed records of classification and alignment (engine/classify/), as they cross into the CLI, the HTTP
API and apps: predictions, agreements and their evaluation. A leaf like engine/records.py: standard library
only, so a client that only prints them imports no numpy.

Every probability here is calibrated (docs/record-collections.md says how): of the records given probability 0.8,
about 8 in 10 have that label. An agreement is on the engine's calibrated score scale
(engine/search/calibration.py): near 0 is "no better than mismatched parts of the same file"; the flag is
under 0.1 by default (engine/classify/align.py says why).
"""

from __future__ import annotations

from dataclasses import dataclass, field

JSON_VERSION = 1


@dataclass(frozen=True, slots=True)
class Prediction:
    """One record's class: the best label, its probability, and every label's probability, best first."""

    id: str
    label: str
    probability: float
    scores: dict[str, float]  # label -> probability; all labels (or the top N asked for), best first
    row: int = 0  # where the record came from in its manifest
    truth: str | None = None  # the record's own label, when it has one (evaluation)

    @property
    def runner_up(self) -> tuple[str, float] | None:
        rest = [(label, p) for label, p in self.scores.items() if label != self.label]
        return rest[0] if rest else None

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "probability": round(self.probability, 6),
            "scores": {label: round(p, 6) for label, p in self.scores.items()},
        }


@dataclass(frozen=True, slots=True)
class Classification:
    """The predictions for one manifest, and how they were made."""

    predictions: tuple[Prediction, ...]
    method: str  # "zero-shot" (labels given) or "few-shot" (fitted on labelled examples)
    fusion: str  # "early" or "late"
    labels: tuple[str, ...]
    examples: int = 0  # labelled records the few-shot model was fitted on
    errors: tuple[str, ...] = ()  # rows left out, and parts that could not be read (one line each)
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {"version": JSON_VERSION, "predictions": [p.to_dict() for p in self.predictions]}


@dataclass(frozen=True, slots=True)
class PairAgreement:
    """How well two parts of one record agree: their cosine in a space both are in, and that cosine on the
    calibrated scale against the same two fields of mismatched records of the same file."""

    fields: tuple[str, str]
    space: str
    cosine: float
    agreement: float


@dataclass(frozen=True, slots=True)
class Agreement:
    """One record's agreement: its weakest pair of parts (one part that does not belong is enough)."""

    id: str
    agreement: float | None  # None: fewer than two parts that share a space
    flagged: bool
    pairs: tuple[PairAgreement, ...] = ()
    row: int = 0
    summary: str = ""  # the parts in a few words, for a person reading the table or a warning

    def to_dict(self) -> dict[str, object]:
        agreement = None if self.agreement is None else round(self.agreement, 6)
        return {"id": self.id, "agreement": agreement, "flagged": self.flagged}


@dataclass(frozen=True, slots=True)
class AlignmentReport:
    records: tuple[Agreement, ...]
    threshold: float
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def flagged(self) -> tuple[Agreement, ...]:
        return tuple(r for r in self.records if r.flagged)

    def to_dict(self) -> dict[str, object]:
        return {"version": JSON_VERSION, "records": [r.to_dict() for r in self.records]}


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One configuration of a classification evaluation."""

    name: str  # "few-shot, late fusion", "zero-shot, picture alone" ...
    accuracy: float
    macro_f1: float
    log_loss: float | None = None
    calibration_error: float | None = None  # expected calibration error of the top label's probability

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"name": self.name, "accuracy": round(self.accuracy, 6)}
        out["macro_f1"] = round(self.macro_f1, 6)
        if self.log_loss is not None:
            out["log_loss"] = round(self.log_loss, 6)
        if self.calibration_error is not None:
            out["calibration_error"] = round(self.calibration_error, 6)
        return out


@dataclass(frozen=True, slots=True)
class ClassifyEvaluation:
    """`anyseek eval --classify TEST --examples TRAIN`: the default configuration's figures, its confusion
    matrix (rows: true labels, columns: predicted, in `labels` order) and the ablation."""

    main: ScoreRow
    labels: tuple[str, ...]
    confusion: tuple[tuple[int, ...], ...]
    ablation: tuple[ScoreRow, ...]
    test: int
    examples: int
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, object]:
        return {
            "version": JSON_VERSION,
            **self.main.to_dict(),
            "labels": list(self.labels),
            "confusion": [list(row) for row in self.confusion],
            "ablation": [row.to_dict() for row in self.ablation],
            "test": self.test,
            "examples": self.examples,
        }
