"""Readers search while a writer indexes: every answer is consistent, never an error or a dangling hit."""

from __future__ import annotations

import subprocess
import time

from tests.crash_helpers import index_command, run_env


def test_search_while_indexing_sees_consistent_growing_results(tmp_path, encoders):
    from anyseek.engine import Engine
    from anyseek.engine.errors import IndexNotFoundError

    media = tmp_path / "notes"
    media.mkdir()
    topics = ["sailing boats", "mountain hiking", "bread baking", "chess openings", "jazz piano"]
    for i in range(60):
        (media / f"note-{i:03d}.txt").write_text(f"Note {i} is about {topics[i % 5]} and nothing else.")
    index_dir = tmp_path / "index"
    batches = {"ANYSEEK_TEXT_BATCH": "6", "ANYSEEK_QUEUE_SIZE": "6", "ANYSEEK_SAVE_INTERVAL_S": "5"}
    writer = subprocess.Popen(
        index_command(media, index_dir),
        env=run_env(**batches),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen_counts, searches = [], 0
    try:
        reader = None
        while reader is None and writer.poll() is None:
            try:  # a reader polls until the writer has created the index
                reader = Engine.open(index_dir, create=False, encoders=encoders)
            except IndexNotFoundError:
                time.sleep(0.1)
        reader = reader or Engine.open(index_dir, create=False, encoders=encoders)  # the writer was quicker
        with reader:
            while writer.poll() is None or searches < 3:
                hits = reader.search(text="bread baking", k=200, modalities=["text"])
                searches += 1
                for hit in hits:  # every hit carries its metadata, and that metadata is real
                    item = reader.store.find_item(item_id=hit.item_id)
                    assert item is not None and item.status == "ok" and hit.path.startswith(str(media))
                assert len({h.item_id for h in hits}) == len(hits)
                seen_counts.append(len(hits))
                time.sleep(0.2)
            writer.wait(timeout=600)
            # one more look once the writer is done: its last commit may land after the loop's last search
            final = reader.search(text="bread baking", k=200, modalities=["text"])
            seen_counts.append(len(final))
            assert final.hits[0].path.endswith(".txt")
    finally:
        writer.wait(timeout=600)
    assert writer.returncode == 0, writer.stderr.read()[-2000:]
    assert seen_counts == sorted(seen_counts) and seen_counts[-1] == 60
    assert searches >= 3
