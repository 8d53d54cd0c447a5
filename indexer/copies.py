"""Copies of one file met in the same run.

A file whose content is already indexed reuses its vectors (prepare.copy_source). Two copies that are
both new arrive together on a first run, though: each is decoded in parallel before either is committed,
so without this both went through the models and the report counted no copy. Here the second one waits
until its original's batch is committed, then reuses its vectors like any copy of an indexed file. If the
original failed, the copy is embedded after all, from what it had decoded itself.
"""

from __future__ import annotations

from anyseek.indexer.prepare import Outcome, Prepared, copy_source


class RunCopies:
    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._waiting: list[Prepared] = []

    def wait_for_original(self, prepared: Prepared) -> bool:
        """True when `prepared` has the content of a file extracted earlier in this run: it is kept here
        until `released` (its decoded content with it, so at most a batch's worth)."""
        if prepared.outcome is not Outcome.EXTRACTED or not prepared.content_hash:
            return False
        if prepared.content_hash in self._seen:
            self._waiting.append(prepared)
            return True
        self._seen.add(prepared.content_hash)
        return False

    def released(self, store) -> list[Prepared]:
        """Call when every original is committed: the waiting copies, each a copy of its committed
        original, or still to embed when the original failed."""
        waiting, self._waiting = self._waiting, []
        for prepared in waiting:
            if source := copy_source(store, prepared.content_hash, prepared.previous):
                prepared.outcome, prepared.source, prepared.extracted = Outcome.COPIED, source, None
        return waiting
