"""Files that make one item together, or one file that makes several: a subtitle file paired with its video
(indexer/companions.py) and a mailbox whose messages are items of their own. Each change on disk is
followed on the next run, and nothing stale stays behind."""

from __future__ import annotations

import email.message
import mailbox
import os
import shutil
from pathlib import Path

from anyseek.engine.records import ChunkKind
from anyseek.indexer.companions import MediaByName, pair_subtitles
from anyseek.indexer.scan import FileEntry
from tests.conftest import FIXTURES
from tests.fixtures.make_everyday_fixtures import srt


def _entry(path: str) -> FileEntry:
    return FileEntry(os.fsencode(path), 1, 1)


def test_subtitles_pair_with_the_video_of_the_longest_matching_name():
    files = [_entry(p) for p in ("/m/film.mkv", "/m/film.part2.mkv", "/m/film.en.srt", "/m/film.part2.fr.vtt",
                                 "/m/Film.ASS", "/m/other.srt", "/n/film.srt", "/m/notes.txt")]  # fmt: skip
    paired = {os.fsdecode(e.path): e for e in pair_subtitles(files)}
    assert paired["/m/film.mkv"].companions == (b"/m/Film.ASS", b"/m/film.en.srt")
    assert paired["/m/film.part2.mkv"].companions == (b"/m/film.part2.fr.vtt",)
    assert paired["/m/other.srt"].attached_to is None and paired["/n/film.srt"].attached_to is None
    assert MediaByName([b"/m/song.mp3"]).owner(b"/m/song.en.srt") == b"/m/song.mp3"  # a recording takes them too


def _cues(engine, path: Path) -> list[str]:
    item = engine.store.find_item(path=os.fsencode(path))
    return [c.text for c in engine.item(item.id).chunks if c.kind is ChunkKind.CUE]


def test_a_subtitle_change_on_disk_reindexes_its_video(tmp_path, open_engine):
    folder = tmp_path / "films"
    folder.mkdir()
    shutil.copyfile(FIXTURES / "video" / "scenes.mp4", folder / "film.mp4")
    subtitle = folder / "film.en.srt"
    subtitle.write_text(srt([(1.0, 2.0, "The first version of the line.")]))
    engine = open_engine()
    first = engine.index([folder])
    assert first.added == 1 and _cues(engine, folder / "film.mp4") == ["The first version of the line."]

    subtitle.write_text(srt([(1.0, 2.0, "A lighthouse appears on the horizon.")]))
    os.utime(subtitle, ns=(1, 1))  # an older time than before: a change is a change, whichever way the clock moved
    second = engine.index([folder])
    assert second.updated == 1 and _cues(engine, folder / "film.mp4") == ["A lighthouse appears on the horizon."]

    subtitle.unlink()  # the video alone now: no cue is left, and its sound (none here) would go to Whisper
    third = engine.index([folder])
    assert third.updated == 1 and _cues(engine, folder / "film.mp4") == []

    subtitle.write_text(srt([(1.0, 2.0, "Subtitles without their film.")]))
    (folder / "film.mp4").unlink()
    fourth = engine.index([folder])  # a subtitle file whose video went is a timed text of its own
    item = engine.store.find_item(path=os.fsencode(subtitle))
    assert fourth.added == 1 and item.status == "ok" and _cues(engine, subtitle) == ["Subtitles without their film."]
    hit = engine.search("subtitles without their film", k=1)[0]
    assert hit.path.endswith("film.en.srt") and hit.start == 1.0


def test_whisper_runs_beside_the_subtitles_when_the_setting_says_so(tmp_path, open_engine):
    folder = tmp_path / "talk"
    folder.mkdir()
    shutil.copyfile(FIXTURES / "video" / "talk.mp4", folder / "talk.mp4")
    (folder / "talk.srt").write_text(srt([(0.5, 2.5, "Good morning everyone.")]))
    engine = open_engine(subtitles_replace_speech=False)
    engine.index([folder])
    item = engine.store.find_item(path=os.fsencode(folder / "talk.mp4"))
    kinds = [c.kind for c in engine.item(item.id).chunks]
    assert ChunkKind.CUE in kinds and ChunkKind.SPEECH in kinds


def _mbox(path: Path, bodies: list[str]) -> None:
    box = mailbox.mbox(str(path))
    box.lock()
    for number, body in enumerate(bodies, 1):
        message = email.message.EmailMessage()
        message["Subject"], message["From"] = f"Note {number}", "a@example.org"
        message["Date"] = f"Mon, 0{number} Feb 2021 08:00:00 +0000"
        message.set_content(body)
        box.add(message)
    box.flush()
    box.unlock()
    box.close()


def _messages(engine, root: Path) -> list[str]:
    return sorted(
        os.fsdecode(item.path)[len(str(root)) + 1 :]
        for item in engine.store.items_under([os.fsencode(root)]).values()
        if item.status == "ok"
    )


def test_mailbox_messages_follow_their_mailbox(tmp_path, open_engine):
    root = tmp_path / "mail"
    root.mkdir()
    _mbox(root / "inbox", ["The otter borrowed a canoe.", "Quarterly kiln report."])  # no extension: by content
    engine = open_engine()
    assert engine.index([root]).added == 1
    assert _messages(engine, root) == ["inbox", "inbox/1", "inbox/2"]

    _mbox(root / "inbox", ["A third message about tulips."])  # the mail client appends
    assert engine.index([root]).updated == 1
    assert _messages(engine, root) == ["inbox", "inbox/1", "inbox/2", "inbox/3"]
    assert engine.search("otter canoe", k=1)[0].path.endswith("inbox/1")

    shutil.copyfile(root / "inbox", root / "copy")
    (root / "inbox").rename(root / "renamed")
    report = engine.index([root])
    assert report.moved == 1 and report.copied == 1
    assert _messages(engine, root) == ["copy", "copy/1", "copy/2", "copy/3", "renamed", "renamed/1", "renamed/2",
                                       "renamed/3"]  # fmt: skip
    found = {Path(h.path).parent.name for h in engine.search("otter canoe", k=5) if "otter" in (h.snippet or "")}
    assert found == {"copy", "renamed"}

    (root / "renamed").unlink()
    (root / "copy").write_text("not a mailbox any more, only a note about otters\n")
    engine.index([root])
    assert _messages(engine, root) == ["copy"]


def test_files_ignored_by_older_decoders_are_looked_at_again(tmp_path, open_engine):
    from anyseek.engine.store.store import ItemWrite

    folder = tmp_path / "doc"
    folder.mkdir()
    readme = folder / "README"
    readme.write_text("The harbour ferry leaves at seven.\n")
    engine = open_engine()
    engine.index([folder])
    info = readme.stat()
    # as an anyseek from before text by content left it: ignored, under other decoders' versions
    engine.store.write_items([ItemWrite(os.fsencode(readme), info.st_size, info.st_mtime_ns, "x", None, ignored=True)])
    engine.store.set_meta("decoders", "anyseek 0.1.0, pillow 9.0.0, av 10.0.0")
    report = engine.index([folder])
    assert report.updated == 1 and engine.store.find_item(path=os.fsencode(readme)).status == "ok"
    assert engine.index([folder]).unchanged == 1  # and once looked at, it is left alone
