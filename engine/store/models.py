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


class VectorRow(Base):
    """Each chunk's vector per space, as float16: half the bytes of float32, and enough to rebuild any
    index (or change its type, or move it to a GPU) without running a model again."""

    __tablename__ = "vectors"
    __table_args__ = (Index("ix_vectors_chunk", "chunk_id"),)  # deleting a chunk finds its vectors
    space: Mapped[str] = mapped_column(String, primary_key=True)
    chunk_id: Mapped[int] = mapped_column(ForeignKey("chunks.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    command: Mapped[str] = mapped_column(String)
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str] = mapped_column(String)  # running | completed | interrupted | failed
    stats: Mapped[str] = mapped_column(Text, default="{}")
