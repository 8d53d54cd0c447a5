"""`anyseek eval --classify TEST --examples TRAIN`: how well the records of TEST are classified from the
examples, and how much each ingredient adds (the seeds' question of how much multimodal beats unimodal, on
the user's own data).

The main figures are few-shot with the configured fusion; the ablation repeats the measure with early and
with late fusion, with each part alone (the others weighted 0), and zero-shot with the examples' label
names as the labels. Each configuration reports accuracy, macro-F1, log-loss and the expected calibration
error of its probabilities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score

from anyseek.engine.classify.few_shot import FewShot
from anyseek.engine.classify.inputs import RecordSource, manifest_of
from anyseek.engine.classify.parts import RecordVectors, fields_of
from anyseek.engine.classify.probability import ZERO_SHOT_TEMPERATURE, calibration_error, log_loss, softmax
from anyseek.engine.classify.service import RecordTasks
from anyseek.engine.errors import ClassifyError
from anyseek.engine.manifest import DEFAULT_LABEL_FIELD, row_location
from anyseek.engine.predictions import ClassifyEvaluation, ScoreRow
from anyseek.engine.search.part_vectors import RecordFusion, record_fusion


def evaluate(
    tasks: RecordTasks,
    test: RecordSource,
    examples: RecordSource | None,
    *,
    fusion: str | None = None,
    join: str | None = None,
    weights: Mapping[str, float] | str | None = None,
    label_field: str = DEFAULT_LABEL_FIELD,
    on_progress=None,
) -> ClassifyEvaluation:
    chosen = record_fusion(fusion, join, weights, tasks.settings)
    targets = tasks.embed(manifest_of(test, label_field), on_progress)
    for record in (r for r in targets.records if r.label is None):
        where = row_location(targets.source, record.row, record.id, label_field)
        targets.errors.append(f"{where}: no label, so it cannot be scored; left out of the evaluation")
    targets.records = [r for r in targets.records if r.label is not None]
    if not targets.records:
        raise ClassifyError(f"{targets.source} has no labelled record to evaluate on (field {label_field!r})")
    known = tasks.examples(examples, label_field, targets, test, on_progress)
    names = tuple(sorted({r.label for r in known.records} | {r.label for r in targets.records}))
    truth = np.asarray([names.index(r.label) for r in targets.records])
    scorer = _Scorer(tasks, known.records, targets.records, names, truth)
    main_name = f"few-shot, {chosen.mode} fusion"
    main, predicted = scorer.few_shot(main_name, chosen)
    ablation = [main]
    for mode in ("early", "late"):
        if mode != chosen.mode:
            ablation.append(scorer.few_shot(f"few-shot, {mode} fusion", dataclasses.replace(chosen, mode=mode))[0])
    fields = fields_of(targets.records)
    for name in fields if len(fields) > 1 else ():
        alone = RecordFusion("late", chosen.join, {f: (1.0 if f == name else 0.0) for f in fields})
        ablation.append(scorer.few_shot(f"few-shot, {name} alone", alone)[0])
    for mode in ("early", "late"):
        ablation.append(scorer.zero_shot(f"zero-shot, {mode} fusion", dataclasses.replace(chosen, mode=mode)))
    for name in fields if len(fields) > 1 else ():
        alone = RecordFusion("late", chosen.join, {f: (1.0 if f == name else 0.0) for f in fields})
        ablation.append(scorer.zero_shot(f"zero-shot, {name} alone", alone))
    confusion = confusion_matrix(truth, predicted, labels=list(range(len(names))))
    return ClassifyEvaluation(
        main,
        names,
        tuple(tuple(int(v) for v in row) for row in confusion),
        tuple(ablation),
        len(targets.records),
        len(known.records),
        tuple(targets.errors + known.errors),
        tuple(targets.warnings + known.warnings),
    )


class _Scorer:
    def __init__(self, tasks: RecordTasks, examples, records: list[RecordVectors], names, truth) -> None:
        self.tasks, self.examples, self.records, self.names, self.truth = tasks, examples, records, names, truth

    def few_shot(self, name: str, fusion: RecordFusion) -> tuple[ScoreRow, np.ndarray]:
        model = FewShot(fusion).fit(self.examples)
        logits = np.full((len(self.records), len(self.names)), -np.inf)
        columns = [self.names.index(label) for label in model.labels]
        logits[:, columns] = model.logits(self.records) / model.temperature
        return self._row(name, logits)

    def zero_shot(self, name: str, fusion: RecordFusion) -> ScoreRow:
        logits = self.tasks.zero_shot(self.records, self.names, fusion) / ZERO_SHOT_TEMPERATURE[fusion.mode]
        return self._row(name, logits)[0]

    def _row(self, name: str, logits: np.ndarray) -> tuple[ScoreRow, np.ndarray]:
        """A record no configuration reaches (NaN) counts as wrong, with every label equally likely."""
        unreached = np.isnan(logits).any(axis=1)
        logits = np.where(unreached[:, None], 0.0, np.where(np.isinf(logits), -1e9, logits))
        probabilities = softmax(logits)
        predicted = np.where(unreached, -1, probabilities.argmax(axis=1))
        accuracy = float(np.mean(predicted == self.truth))
        macro = float(
            f1_score(self.truth, predicted, labels=sorted(set(self.truth.tolist())), average="macro", zero_division=0)
        )
        row = ScoreRow(
            name, accuracy, macro, log_loss(probabilities, self.truth), calibration_error(probabilities, self.truth)
        )
        return row, predicted
