"""The Engine's classify, align and evaluate_classification (the facade's methods that are not search or
indexing, kept here so engine/facade.py stays one screenful per concern). Records given here are embedded
as `index --records` would embed them, and nothing is written to the index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from anyseek.engine.classify.inputs import RecordSource
from anyseek.engine.manifest import DEFAULT_LABEL_FIELD
from anyseek.engine.predictions import AlignmentReport, Classification, ClassifyEvaluation
from anyseek.engine.records import Progress

OnProgress = Callable[[Progress], None] | None


class ClassifyMethods:
    def _record_tasks(self):
        from anyseek.engine.classify.service import RecordTasks

        parts = self._parts  # type: ignore[attr-defined]
        self._learn_dims()  # type: ignore[attr-defined]  # a writer may have stored a space since this opened
        parts.catalog.refresh()
        parts.searcher.calibration.refresh(parts.store.revision())
        return RecordTasks(
            parts.store, parts.encoders, parts.searcher.calibration, parts.indexer.embed_records, parts.settings
        )

    def classify(
        self,
        records: RecordSource,
        labels: str | Iterable[str] | None = None,
        examples: RecordSource | None = None,
        fusion: str | None = None,
        *,
        join: str | None = None,
        weights: Mapping[str, float] | str | None = None,
        label_field: str = DEFAULT_LABEL_FIELD,
        top: int | None = None,
        on_progress: OnProgress = None,
    ) -> Classification:
        """Classify records (a JSONL or CSV manifest, or dicts, as `index_records` takes them).

        With `labels` ("a,b,c" or a list), zero-shot: each label is embedded in every space and scored
        against each record's parts, joined as `fusion` says ("early" or "late"; default: the
        record_fusion setting). Without, few-shot from `examples` (another labelled manifest), else from
        the labelled records in the index (never a record being classified). `weights` per field as in
        search; `top` keeps that many labels in each prediction's scores. Probabilities are calibrated
        (docs/record-collections.md). Rows that cannot be read are in the result's errors; nothing is indexed."""
        return self._record_tasks().classify(
            records,
            labels=labels,
            examples=examples,
            fusion=fusion,
            join=join,
            weights=weights,
            label_field=label_field,
            top=top,
            on_progress=on_progress,
        )

    def align(
        self,
        records: RecordSource,
        threshold: float | None = None,
        *,
        label_field: str = DEFAULT_LABEL_FIELD,
        on_progress: OnProgress = None,
    ) -> AlignmentReport:
        """How well each record's parts agree (a manifest, dicts, or `anyseek train`'s pairs: a CSV or JSONL
        of image,text rows, or a folder of name.jpg + name.txt): agreement in [0, 1], calibrated against
        mismatched parts of the same file; a record under `threshold` (default 0.1) is flagged."""
        return self._record_tasks().align(
            records, threshold=threshold, label_field=label_field, on_progress=on_progress
        )

    def evaluate_classification(
        self,
        test: RecordSource,
        examples: RecordSource | None = None,
        *,
        fusion: str | None = None,
        join: str | None = None,
        weights: Mapping[str, float] | str | None = None,
        label_field: str = DEFAULT_LABEL_FIELD,
        on_progress: OnProgress = None,
    ) -> ClassifyEvaluation:
        """Accuracy, macro-F1, confusion matrix and an ablation (early and late fusion, each part alone,
        zero-shot and few-shot) of classifying the labelled records of `test` from `examples` (default: the
        index's labelled records)."""
        from anyseek.engine.classify.evaluate import evaluate

        return evaluate(
            self._record_tasks(),
            test,
            examples,
            fusion=fusion,
            join=join,
            weights=weights,
            label_field=label_field,
            on_progress=on_progress,
        )
