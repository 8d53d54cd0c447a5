"""Validation: loss and retrieval recall of a model on a pool of pairs.

Each distinct image and caption is encoded once. A retrieved item counts as a hit when it belongs to the
query's group, so that a caption repeated on many images (or two phrasings given one group) is judged by
meaning, the same rule the multi-positive loss trains with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from anyseek.engine.training.data import ImageBank
from anyseek.engine.training.loss import contrastive_loss, positive_mask
from anyseek.engine.training.pairs import Pair
from anyseek.engine.training.records import Recall


@dataclass
class PairIndex:
    """Pairs as integer ids into de-duplicated lists of images, captions and groups."""

    images: list[Path]
    texts: list[str]
    pair_image: torch.Tensor  # [N] index into images
    pair_text: torch.Tensor  # [N] index into texts
    pair_group: torch.Tensor  # [N] group id
    text_group: torch.Tensor  # [T] group id of each distinct caption (its first pair's)
    image_groups: torch.Tensor  # [U, G] group ids of each image, padded with -1

    @staticmethod
    def build(pairs: Sequence[Pair]) -> PairIndex:
        images: dict[Path, int] = {}
        texts: dict[str, int] = {}
        groups: dict[str, int] = {}
        rows = [
            (
                images.setdefault(p.image, len(images)),
                texts.setdefault(p.text, len(texts)),
                groups.setdefault(p.key, len(groups)),
            )
            for p in pairs
        ]
        pair_image, pair_text, pair_group = (torch.tensor(col, dtype=torch.long) for col in zip(*rows, strict=True))
        text_group = torch.full((len(texts),), -1, dtype=torch.long)
        for t, g in zip(reversed(pair_text.tolist()), reversed(pair_group.tolist()), strict=True):
            text_group[t] = g  # reversed, so the first pair of a caption wins
        per_image: list[set[int]] = [set() for _ in images]
        for m, g in zip(pair_image.tolist(), pair_group.tolist(), strict=True):
            per_image[m].add(g)
        width = max(len(s) for s in per_image)
        image_groups = torch.full((len(images), width), -1, dtype=torch.long)
        for m, gs in enumerate(per_image):
            image_groups[m, : len(gs)] = torch.tensor(sorted(gs))
        return PairIndex(list(images), list(texts), pair_image, pair_text, pair_group, text_group, image_groups)


@torch.no_grad()
def encode_pool(
    model: torch.nn.Module,
    bank: ImageBank,
    tokens: torch.Tensor,
    device: torch.device,
    autocast: Callable[[], AbstractContextManager],
    batch_size: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised fp32 CPU features for every image of `bank` and every row of `tokens`."""
    model.eval()
    image_parts, text_parts = [], []
    for start in range(0, len(bank), batch_size):
        batch = bank.load(range(start, min(start + batch_size, len(bank)))).to(device)
        with autocast():
            image_parts.append(model.encode_image(batch).float().cpu())
    for start in range(0, len(tokens), batch_size):
        with autocast():
            text_parts.append(model.encode_text(tokens[start : start + batch_size].to(device)).float().cpu())
    return F.normalize(torch.cat(image_parts), dim=-1), F.normalize(torch.cat(text_parts), dim=-1)


def pooled_loss(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    index: PairIndex,
    logit_scale: torch.Tensor,
    batch_size: int,
) -> float:
    """The training loss over consecutive batches of the pool, averaged by pair."""
    total, count = 0.0, 0
    scale = logit_scale.detach().float().cpu()
    for start in range(0, len(index.pair_image), batch_size):
        rows = slice(start, start + batch_size)
        images, groups = index.pair_image[rows], index.pair_group[rows]
        mask = positive_mask(groups.tolist(), images.tolist())
        loss = contrastive_loss(image_features[images], text_features[index.pair_text[rows]], scale, mask)
        total += float(loss) * len(images)
        count += len(images)
    return total / count


def recall(
    image_features: torch.Tensor,
    text_features: torch.Tensor,
    index: PairIndex,
    query_pairs: torch.Tensor | None = None,
    chunk: int = 1024,
) -> Recall:
    """Recall@1/5 both ways. `query_pairs` (a bool mask over pairs) limits which captions and images ask;
    the gallery is always the whole pool, so distractors from other pairs still compete."""
    queries = torch.ones(len(index.pair_image), dtype=torch.bool) if query_pairs is None else query_pairs
    q_texts = index.pair_text[queries]
    q_groups = index.pair_group[queries]
    q_images = torch.unique(index.pair_image[queries])
    t2i = _hits(
        text_features[q_texts],
        image_features,
        lambda rows, top: (index.image_groups[top] == q_groups[rows][:, None, None]).any(-1),
        chunk,
    )
    i2t = _hits(
        image_features[q_images],
        text_features,
        lambda rows, top: (index.text_group[top][:, :, None] == index.image_groups[q_images[rows]][:, None, :]).any(-1),
        chunk,
    )
    return Recall(t2i[0], t2i[1], i2t[0], i2t[1], text_queries=len(q_texts), image_queries=len(q_images))


def _hits(
    queries: torch.Tensor,
    gallery: torch.Tensor,
    is_positive: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    chunk: int,
) -> tuple[float, float]:
    """Fractions of queries with a positive among the top 1 and top 5 of the gallery."""
    k = min(5, len(gallery))
    hits1 = hits5 = 0
    for start in range(0, len(queries), chunk):
        rows = torch.arange(start, min(start + chunk, len(queries)))
        top = (queries[rows] @ gallery.T).topk(k, dim=1).indices  # [q, k]
        positive = is_positive(rows, top)  # [q, k]
        hits1 += int(positive[:, 0].sum())
        hits5 += int(positive.any(dim=1).sum())
    n = max(len(queries), 1)
    return hits1 / n, hits5 / n
