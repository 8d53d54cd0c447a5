"""Classify and align records: read the input, embed it as indexing would (written nowhere), and hand the
vectors to zero-shot, few-shot or the alignment scores. The Engine's classify, align and
evaluate_classification (engine/classify/methods.py) call this; nothing here knows the CLI or HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from anyseek.engine.classify.align import DEFAULT_THRESHOLD, agreements
from anyseek.engine.classify.few_shot import FewShot
from anyseek.engine.classify.inputs import RecordSource, alignment_input, manifest_of, parse_labels
from anyseek.engine.classify.parts import RecordVectors, record_vectors
from anyseek.engine.classify.probability import ZERO_SHOT_TEMPERATURE, softmax
from anyseek.engine.classify.scale import Scale
from anyseek.engine.classify.zero_shot import embed_labels, zero_shot_logits
from anyseek.engine.errors import ClassifyError
from anyseek.engine.manifest import DEFAULT_LABEL_FIELD, Manifest, row_location
from anyseek.engine.predictions import AlignmentReport, Classification, Prediction
from anyseek.engine.records import IndexReport, Progress
from anyseek.engine.search.calibration import Calibration
from anyseek.engine.search.part_vectors import RecordFusion, record_fusion
from anyseek.engine.settings import Settings
from anyseek.engine.store.items import normalize_root
from anyseek.engine.store.store import Store

Embed = Callable[[Manifest, Callable[[Progress], None] | None], tuple[list[RecordVectors], IndexReport]]
OnProgress = Callable[[Progress], None] | None


@dataclass(slots=True)
class Embedded:
    """A manifest's records with their vectors, and what could not be read (one line each)."""

    records: list[RecordVectors]
    source: str
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class RecordTasks:
    def __init__(self, store: Store, encoders, calibration: Calibration, embed: Embed, settings: Settings) -> None:
        self.store, self.encoders, self.calibration, self._embed_manifest = store, encoders, calibration, embed
        self.settings = settings
        self.text_spaces = settings.text_spaces

    # --- classify -----------------------------------------------------------------------------------------
    def classify(
        self,
        records: RecordSource,
        *,
        labels: str | Iterable[str] | None = None,
        examples: RecordSource | None = None,
        fusion: str | None = None,
        join: str | None = None,
        weights: Mapping[str, float] | str | None = None,
        label_field: str = DEFAULT_LABEL_FIELD,
        top: int | None = None,
        on_progress: OnProgress = None,
    ) -> Classification:
        names = parse_labels(labels) if labels is not None else None  # bad labels fail before any model runs
        chosen = record_fusion(fusion, join, weights, self.settings)
        targets = self.embed(manifest_of(records, label_field), on_progress)
        if names is not None:
            logits = self.zero_shot(targets.records, names, chosen)
            temperature, method, fitted_on = ZERO_SHOT_TEMPERATURE[chosen.mode], "zero-shot", 0
        else:
            known = self.examples(examples, label_field, targets, records, on_progress)
            model = FewShot(chosen).fit(known.records)
            logits, temperature, names = model.logits(targets.records), model.temperature, model.labels
            method, fitted_on = "few-shot", len(known.records)
            targets.errors += known.errors
            targets.warnings += known.warnings
        predictions = self.predictions(targets, logits, temperature, names, top)
        return Classification(
            tuple(predictions),
            method,
            chosen.mode,
            tuple(names),
            fitted_on,
            tuple(targets.errors),
            tuple(targets.warnings),
        )

    def zero_shot(self, records: Sequence[RecordVectors], names: Sequence[str], fusion: RecordFusion) -> np.ndarray:
        spaces = {space for r in records for p in r.parts for space in p.spaces}
        labels = embed_labels(names, self.encoders, spaces)
        return zero_shot_logits(records, labels, fusion, self.text_spaces, Scale(self.calibration))

    def predictions(
        self, targets: Embedded, logits: np.ndarray, temperature: float, names: Sequence[str], top: int | None
    ) -> list[Prediction]:
        out = []
        scored = ~np.isnan(logits).any(axis=1) if len(logits) else np.zeros(0, bool)
        probabilities = softmax(np.nan_to_num(logits), temperature) if len(logits) else logits
        for record, ok, row in zip(targets.records, scored, probabilities, strict=True):
            if not ok:
                where = row_location(targets.source, record.row, record.id)
                targets.errors.append(f"{where}: none of its parts is in a space the labels are in; not classified")
                continue
            order = np.argsort(-row, kind="stable")
            shown = order[:top] if top else order
            scores = {names[i]: float(row[i]) for i in shown}
            best = int(order[0])
            out.append(Prediction(record.id, names[best], float(row[best]), scores, record.row, record.label))
        return out

    # --- examples -----------------------------------------------------------------------------------------
    def examples(
        self, examples: RecordSource | None, label_field: str, targets: Embedded, source: RecordSource, on_progress
    ) -> Embedded:
        """Labelled records to fit on: those of `examples`, else the index's own (never a record being
        classified: it is not its own example)."""
        if examples is not None:
            known = self.embed(manifest_of(examples, label_field), on_progress)
            unlabelled = [r for r in known.records if r.label is None]
            for record in unlabelled:
                where = row_location(known.source, record.row, record.id, label_field)
                known.errors.append(f"{where}: no label, so it is no example; give it one or leave the row out")
            known.records = [r for r in known.records if r.label is not None]
            if not known.records:
                raise ClassifyError(
                    f"{known.source} has no labelled row (field {label_field!r}) to learn from; "
                    f"give the label field (--label-field NAME) or labels to classify zero-shot (--labels)"
                )
        else:
            known = self._indexed_examples(targets, source)
        labels = sorted({r.label for r in known.records})
        if len(labels) < 2:
            raise ClassifyError(
                f"few-shot classification needs examples of two labels at least; {known.source} has only {labels[0]!r}"
            )
        return known

    def _indexed_examples(self, targets: Embedded, source: RecordSource) -> Embedded:
        collection = os.fsdecode(normalize_root(source)) if isinstance(source, (str, os.PathLike)) else None
        own = {r.id for r in targets.records}
        records = [
            record_vectors(r.record_id, r.label, r.parts, summary=r.record_id)
            for r in self.store.labelled_records()
            if not (r.collection == collection and r.record_id in own)
        ]
        if not records:
            raise ClassifyError(
                "the index holds no labelled records to learn from; index a labelled manifest first "
                '(`anyseek index --records FILE`), give examples (--examples FILE), or labels (--labels "a,b")'
            )
        return Embedded([r for r in records if r.parts], "the index")

    # --- align --------------------------------------------------------------------------------------------
    def align(
        self,
        source: RecordSource,
        *,
        threshold: float | None = None,
        label_field: str = DEFAULT_LABEL_FIELD,
        on_progress: OnProgress = None,
    ) -> AlignmentReport:
        threshold = DEFAULT_THRESHOLD if threshold is None else threshold
        if not 0.0 <= threshold <= 1.0:
            raise ClassifyError(f"the agreement threshold is between 0 and 1, got {threshold}")
        given = alignment_input(source, label_field)
        targets = self.embed(given.manifest, on_progress)
        groups = given.groups
        if groups is not None:  # records whose image failed are not in targets: keep their groups in step
            by_id = {r.id: g for r, g in zip(given.manifest.records, groups, strict=True)}
            groups = [by_id[r.id] for r in targets.records]
        found, warnings = agreements(targets.records, threshold, Scale(self.calibration), groups)
        return AlignmentReport(tuple(found), threshold, tuple(targets.errors), tuple(targets.warnings + warnings))

    # --- embedding ----------------------------------------------------------------------------------------
    def embed(self, manifest: Manifest, on_progress: OnProgress = None) -> Embedded:
        records, report = self._embed_manifest(manifest, on_progress)
        errors = [f"{e.path}: {e.reason}" for e in report.errors]
        warnings = [f"{w.path}: {w.reason}" for w in report.warnings]
        return Embedded([r for r in records if r.parts], manifest.source, errors, warnings)
