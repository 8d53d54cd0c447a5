"""Features of a record for the few-shot model: its dense vectors in each space, plus its words as TF-IDF.

- Early fusion: one row per record, its fused vector in each space (the weighted mean of its parts'
  vectors there, as indexed) side by side, then the TF-IDF of the words of its weighted parts.
- Late fusion (and each part alone): one row per record and field, that part's vector in each space and
  its own words.

Dense vectors are unit length and a TF-IDF row is too; LEXICAL_WEIGHT sets how much the words count
against one space's vector (1: as much as one space; not re-measured, docs/record-collections.md). The vocabulary is the
examples': a word no example has tells the model nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

from anyseek.engine.classify.parts import PartVectors, RecordVectors
from anyseek.engine.records import Space
from anyseek.engine.search.part_vectors import RecordFusion, fuse

LEXICAL_WEIGHT = 1.0
MAX_FEATURES = 50_000


@dataclass(slots=True)
class Featurizer:
    """The feature layout the examples define: which spaces (in order, with their sizes) and which words."""

    spaces: tuple[tuple[Space, int], ...]
    words: TfidfVectorizer | None
    lexical_weight: float = LEXICAL_WEIGHT

    @classmethod
    def fit(cls, rows: Sequence[Sequence[PartVectors]], lexical_weight: float = LEXICAL_WEIGHT) -> Featurizer:
        """From the examples, one sequence of parts per row of features."""
        dims: dict[Space, int] = {}
        for parts in rows:
            for part in parts:
                for space, vector in part.spaces.items():
                    dims.setdefault(space, len(vector))
        texts = [_words(parts) for parts in rows]
        words = None
        if lexical_weight > 0 and any(t.strip() for t in texts):
            words = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), max_features=MAX_FEATURES)
            try:
                words.fit(texts)
            except ValueError:  # no word characters at all: nothing to learn from
                words = None
        return cls(tuple(sorted(dims.items(), key=lambda item: item[0].value)), words, lexical_weight)

    def rows(self, rows: Sequence[Sequence[PartVectors]], fusion: RecordFusion) -> sparse.csr_matrix:
        dense = np.zeros((len(rows), sum(dim for _, dim in self.spaces)), np.float32)
        for i, parts in enumerate(rows):
            offset = 0
            for space, dim in self.spaces:
                vectors = {p.field: p.spaces[space] for p in parts if space in p.spaces}
                fused = fuse(vectors, fusion) if vectors else None
                if fused is not None and len(fused) == dim:
                    dense[i, offset : offset + dim] = fused
                offset += dim
        blocks = [sparse.csr_matrix(dense)]
        if self.words is not None:
            blocks.append(self.lexical_weight * self.words.transform([_words(parts) for parts in rows]))
        return sparse.hstack(blocks, format="csr")


def record_rows(records: Sequence[RecordVectors], fusion: RecordFusion) -> list[list[PartVectors]]:
    """Early fusion: a record's weighted parts make one row."""
    return [[p for p in r.parts if fusion.weight(p.field) > 0] for r in records]


def _words(parts: Sequence[PartVectors]) -> str:
    return " ".join(p.words for p in parts if p.words)
