"""Finding duplicates across an index: per kind of file, the exact tier from content hashes, the duplicate
tier from each kind's own comparison, and (on request) the similar tier of bursts, all merged with
union-find. Nothing here touches a user's file except to read it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from anyseek.engine.duplicates.embeddings import Embeddings
from anyseek.engine.duplicates.fingerprints import PictureFingerprint
from anyseek.engine.duplicates.grouping import Candidate, UnionFind, build_groups, link_same_bytes, same_bytes
from anyseek.engine.duplicates.pictures import PictureRules, link_bursts, link_duplicates
from anyseek.engine.duplicates.records import DuplicateGroup, DuplicateReport, Tier
from anyseek.engine.duplicates.signatures import FingerprintCache
from anyseek.engine.duplicates.texts import TextRules, link_documents, link_recordings
from anyseek.engine.duplicates.videos import VideoRules, link_videos
from anyseek.engine.records import ChunkKind, Item, Modality, Progress
from anyseek.engine.store.store import Store
from anyseek.engine.vectors.catalog import VectorCatalog

PROGRESS_PHASE = "fingerprinting"
TIER_ORDER = (Tier.EXACT, Tier.DUPLICATE, Tier.SIMILAR)  # what is safe to act on first


@dataclass(frozen=True, slots=True)
class DuplicateRules:
    pictures: PictureRules = field(default_factory=PictureRules)
    texts: TextRules = field(default_factory=TextRules)
    videos: VideoRules = field(default_factory=VideoRules)
    use_embeddings: bool = True  # False: pictures by hash and colour alone (the benchmark's model-free row)


class DuplicateFinder:
    def __init__(self, store: Store, catalog: VectorCatalog, home: Path, max_pixels: int) -> None:
        self.store, self.catalog, self.home, self.max_pixels = store, catalog, home, max_pixels

    def find(
        self,
        *,
        similar: bool = False,
        modalities: tuple[Modality, ...] = tuple(Modality),
        rules: DuplicateRules | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> DuplicateReport:
        """Every group, largest savings first. `similar` adds the burst tier (pictures)."""
        started, rules = time.monotonic(), rules or DuplicateRules()
        items = {m: self.store.files_of(m) for m in modalities}
        cache = FingerprintCache(self.home, self.max_pixels)
        tick, problems = _ticker(on_progress, len(items.get(Modality.IMAGE, ())) + len(items.get(Modality.VIDEO, ())))
        groups: list[DuplicateGroup] = []
        try:
            for modality, found in items.items():
                if modality is Modality.IMAGE:
                    groups += self._pictures(found, cache, rules, similar, tick, problems)
                elif modality is Modality.VIDEO:
                    groups += self._videos(found, cache, rules.videos, tick, problems)
                else:
                    groups += self._texts(found, modality, rules.texts)
        finally:
            cache.save()  # what was fingerprinted before an interruption is not done again
        groups.sort(key=lambda g: (TIER_ORDER.index(g.tier), -g.bytes_freed, g.items[0].item_id))
        compared = sum(len(found) for found in items.values())
        seconds = time.monotonic() - started
        return DuplicateReport(tuple(groups), len(groups), 0, compared, seconds, tuple(problems))

    def _pictures(self, items, cache, rules, similar, tick, problems) -> list[DuplicateGroup]:
        prints = cache.pictures_of(items, tick, problems)
        embeddings = None
        if rules.use_embeddings:
            chunks = {c.item.id: c.chunk_id for c in self.store.item_contents(items, (ChunkKind.IMAGE,)) if c.chunk_id}
            embeddings = Embeddings.available(self.catalog, chunks)
        links = UnionFind()
        link_same_bytes(links, items)
        link_duplicates(links, prints, embeddings, rules.pictures)
        candidates = {item.id: _picture_candidate(item, prints.get(item.id)) for item in items}
        groups = build_groups(links, candidates, Modality.IMAGE, same_bytes)
        if not similar:
            return groups
        grouped = {member.item_id for group in groups for member in group.others}
        shots = [item for item in items if item.id not in grouped]  # one per picture: its keeper
        bursts = UnionFind()
        link_bursts(bursts, shots, prints, embeddings, rules.pictures)
        return groups + build_groups(bursts, candidates, Modality.IMAGE, lambda _items: Tier.SIMILAR)

    def _videos(self, items, cache, rules, tick, problems) -> list[DuplicateGroup]:
        videos = cache.videos_of(items, tick, problems)
        links = UnionFind()
        link_same_bytes(links, items)
        link_videos(links, videos, rules)
        candidates = {
            item.id: _picture_candidate(item, videos[item.id][1][0] if item.id in videos else None) for item in items
        }
        return build_groups(links, candidates, Modality.VIDEO, same_bytes)

    def _texts(self, items: list[Item], modality: Modality, rules: TextRules) -> list[DuplicateGroup]:
        links = UnionFind()
        link_same_bytes(links, items)
        if modality is Modality.TEXT:
            link_documents(links, self.store.item_contents(items, (ChunkKind.PASSAGE,)), rules)
        elif modality is Modality.AUDIO:
            link_recordings(links, self.store.item_contents(items, (ChunkKind.SPEECH,)), rules)
        candidates = {item.id: Candidate(item) for item in items}
        return build_groups(links, candidates, modality, same_bytes)


def _picture_candidate(item: Item, fingerprint: PictureFingerprint | None) -> Candidate:
    if fingerprint is None:
        return Candidate(item)
    metadata = fingerprint.metadata + (item.captured_at is not None)
    pixels = fingerprint.width * fingerprint.height
    return Candidate(item, pixels, metadata, fingerprint.width or None, fingerprint.height or None)


def _ticker(on_progress: Callable[[Progress], None] | None, total: int):
    problems: list[str] = []
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        if on_progress is not None and (done % 50 == 0 or done == total):
            on_progress(Progress(PROGRESS_PHASE, total, done, len(problems)))

    return tick, problems
