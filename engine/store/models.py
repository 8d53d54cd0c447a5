"""SQLAlchemy ORM models: the source of truth for items, chunks and their vectors.

The schema itself is written down in migrations.py, one step per change; these models must describe what
those steps build (tests/test_migrations.py compares them), so a change here comes with a migration."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class MetaRow(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ItemRow(Base):
    __tablename__ = "items"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Raw os.fsencode bytes: non-UTF-8 names round-trip exactly, and prefix filters compare bytes.
    path: Mapped[bytes] = mapped_column(LargeBinary, unique=True, index=True)
    modality: Mapped[str | None] = mapped_column(String, nullable=True)
    size: Mapped[int] = mapped_column(Integer)
    mtime_ns: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String, index=True)
    status: Mapped[str] = mapped_column(String, index=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    indexed_at: Mapped[float] = mapped_column(Float)
    # When the photo or video was taken (EXIF, container metadata): UTC epoch seconds, for date filters.
    captured_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    # The OCR reader that read the item's pictures, "off" when they were not read, NULL when it has none to
    # read; a run with another reader reads them again (indexer/pipeline.py). Added by migration m006.
    ocr: Mapped[str | None] = mapped_column(String, nullable=True)


class ChunkRow(Base):
    __tablename__ = "chunks"
    # AUTOINCREMENT: a chunk id is never reused, so a stale vector can never point at a new chunk.
    __table_args__ = {"sqlite_autoincrement": True}
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    char_start: Mapped[int | None] = mapped_column(Integer, nullable=True)
    char_end: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    end_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    page: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 1-based page of a paginated document
    # where in a deck or a table (see records.Chunk); added by migration m005
    slide: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sheet: Mapped[str | None] = mapped_column(Text, nullable=True)
    row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    row_end: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # text read in a picture (kind "ocr"): its box in the upright picture's pixels, the picture's size, and
    # the recogniser's confidence; added by migration m006
    box_x: Mapped[int | None] = mapped_column(Integer, nullable=True)
    box_y: Mapped[int | None] = mapped_column(Integer, nullable=True)
    box_w: Mapped[int | None] = mapped_column(Integer, nullable=True)
    box_h: Mapped[int | None] = mapped_column(Integer, nullable=True)
    picture_w: Mapped[int | None] = mapped_column(Integer, nullable=True)
    picture_h: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    field: Mapped[str | None] = mapped_column(String, nullable=True)  # a record's chunk: its manifest field


class VectorRow(Base):
    """Each chunk's vector per space, as float16: half the bytes of float32, and enough to rebuild any
    index (or change its type, or move it to a GPU) without running a model again."""

    __tablename__ = "vectors"
    __table_args__ = (Index("ix_vectors_chunk", "chunk_id"),)  # deleting a chunk finds its vectors
    space: Mapped[str] = mapped_column(String, primary_key=True)
    chunk_id: Mapped[int] = mapped_column(ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RecordRow(Base):
    """An item that is a row of a record manifest: which collection (the manifest) and id, its label and
    metadata (JSON). Its parts are record_parts; its chunks are tagged with their part's field."""

    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_key", "collection", "record_id", unique=True),
        Index("ix_records_label", "label"),
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    collection: Mapped[str] = mapped_column(String)
    record_id: Mapped[str] = mapped_column(String)
    label: Mapped[str | None] = mapped_column(String, nullable=True)
    metadata_json: Mapped[str] = mapped_column("metadata", Text)


class RecordPartRow(Base):
    """One part of a record as it was indexed: what the next run compares to know what changed."""

    __tablename__ = "record_parts"
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    field: Mapped[str] = mapped_column(String, primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String)  # text | file
    path: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # a file part's file
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mtime_ns: Mapped[int | None] = mapped_column(Integer, nullable=True)
    content_hash: Mapped[str] = mapped_column(String)  # of the text, or of the file's bytes
    modality: Mapped[str | None] = mapped_column(String, nullable=True)  # a file part's content
    error: Mapped[str | None] = mapped_column(Text, nullable=True)  # the part could not be decoded


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command: Mapped[str] = mapped_column(String)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String)  # running | completed | interrupted | failed
    stats: Mapped[str] = mapped_column(Text, default="{}")
