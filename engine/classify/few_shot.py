"""Few-shot classification: a logistic regression fitted on the labelled examples' features
(classify/features.py), its probabilities calibrated by temperature scaling on held-out folds
(classify/probability.py).

- Early fusion: one model on each record's fused vectors and words.
- Late fusion: one model per field, on that part alone; a record's label probabilities are its parts'
  joined by the fusion's join in the log domain (classify/joins.py: the weighted product of the parts'
  probabilities, renormalised). A record lacking a field is judged by the parts it has.

The session that wrote this compared nearest centroid, k nearest neighbours, a linear SVM and logistic
regression with and without words; its figures were not kept. What is measured now is the chosen method's
ablation on bench/records.py (docs/record-collections.md), not the alternatives again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from anyseek.engine.classify.features import LEXICAL_WEIGHT, Featurizer, record_rows
from anyseek.engine.classify.joins import join_log_scores
from anyseek.engine.classify.parts import RecordVectors, fields_of
from anyseek.engine.classify.probability import fit_temperature
from anyseek.engine.classify.scale import MAX_LOGIT
from anyseek.engine.search.part_vectors import RecordFusion

REGULARISATION_C = 10.0  # sklearn's C: inverse strength of the L2 penalty (not re-measured; see the docstring)
FOLDS = 5  # held-out folds that fit the temperature


@dataclass(slots=True)
class _Model:
    featurizer: Featurizer
    regression: LogisticRegression
    columns: np.ndarray  # the regression's classes as columns of the label list


class FewShot:
    def __init__(
        self, fusion: RecordFusion, c: float = REGULARISATION_C, lexical_weight: float = LEXICAL_WEIGHT
    ) -> None:
        self.fusion, self.c, self.lexical_weight = fusion, c, lexical_weight
        self.labels: tuple[str, ...] = ()
        self.temperature = 1.0
        self._models: dict[str | None, _Model] = {}  # None: the early-fusion model; else one per field

    def fit(self, examples: Sequence[RecordVectors]) -> FewShot:
        """Fit on labelled records (two labels at least: the caller checks, with a message for people)."""
        self.labels = tuple(sorted({r.label for r in examples if r.label is not None}))
        examples = [r for r in examples if r.label is not None]
        truth = np.asarray([self.labels.index(r.label) for r in examples])
        self.temperature = self._held_out_temperature(examples, truth)
        self._models = self._fit_models(examples, truth)
        return self

    def logits(self, records: Sequence[RecordVectors]) -> np.ndarray:
        """Log-probabilities before the temperature: one row per record (NaN where no model reaches it)."""
        return self._logits(self._models, records)

    # --- fitting ------------------------------------------------------------------------------------------
    def _fit_models(self, examples: Sequence[RecordVectors], truth: np.ndarray) -> dict[str | None, _Model]:
        if self.fusion.mode == "early":
            model = self._fit(record_rows(examples, self.fusion), truth)
            return {None: model} if model else {}
        models = {}
        for name in fields_of(examples):
            if self.fusion.weight(name) <= 0:
                continue
            having = [i for i, r in enumerate(examples) if r.part(name) is not None]
            model = self._fit([[examples[i].part(name)] for i in having], truth[having])
            if model is not None:
                models[name] = model
        return models

    def _fit(self, rows, truth: np.ndarray) -> _Model | None:
        if len(set(truth.tolist())) < 2:
            return None  # a part only one label's examples have says nothing about the others
        featurizer = Featurizer.fit(rows, self.lexical_weight)
        regression = LogisticRegression(C=self.c, max_iter=2000)
        regression.fit(featurizer.rows(rows, self.fusion), truth)
        return _Model(featurizer, regression, regression.classes_)

    def _held_out_temperature(self, examples: Sequence[RecordVectors], truth: np.ndarray) -> float:
        counts = np.bincount(truth, minlength=len(self.labels))
        folds = min(FOLDS, int(counts.min()))
        if folds < 2:
            return 1.0  # a label with one example leaves no fold to hold out
        held_out = np.full((len(examples), len(self.labels)), np.nan)
        splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
        for train, test in splitter.split(np.zeros(len(truth)), truth):
            models = self._fit_models([examples[i] for i in train], truth[train])
            held_out[test] = self._logits(models, [examples[i] for i in test])
        scored = ~np.isnan(held_out).any(axis=1)
        return fit_temperature(held_out[scored], truth[scored])

    # --- scoring ------------------------------------------------------------------------------------------
    def _logits(self, models: dict[str | None, _Model], records: Sequence[RecordVectors]) -> np.ndarray:
        if self.fusion.mode == "early":
            model = models.get(None)
            if model is None:
                return np.full((len(records), len(self.labels)), np.nan)
            out = self._log_probabilities(model, record_rows(records, self.fusion))
            empty = [i for i, parts in enumerate(record_rows(records, self.fusion)) if not parts]
            out[empty] = np.nan
            return out
        per_field: dict[str, dict[int, np.ndarray]] = {}
        for name, model in models.items():
            having = [i for i, r in enumerate(records) if r.part(name) is not None]
            if having:
                logs = self._log_probabilities(model, [[records[i].part(name)] for i in having])
                per_field[name] = dict(zip(having, logs, strict=True))
        out = np.full((len(records), len(self.labels)), np.nan)
        for row in range(len(records)):
            joined = join_log_scores([(n, rows[row]) for n, rows in per_field.items() if row in rows], self.fusion)
            if joined is not None:
                out[row] = joined - np.logaddexp.reduce(joined)  # renormalised: log-probabilities again
        return out

    def _log_probabilities(self, model: _Model, rows) -> np.ndarray:
        out = np.full((len(rows), len(self.labels)), -MAX_LOGIT)
        out[:, model.columns] = np.maximum(
            model.regression.predict_log_proba(model.featurizer.rows(rows, self.fusion)), -MAX_LOGIT
        )
        return out
