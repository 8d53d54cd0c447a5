"""Engine: the one place that wires settings, store, encoders, vector indexes, indexer and search.

Other apps embed anyseek through this class:

    with Engine.open("~/.local/share/anyseek/default") as eng:
        eng.index(["~/media"])
        for hit in eng.search(text="red bicycle", k=5):
            print(hit.score, hit.modality, hit.path, hit.start, hit.end, hit.snippet)
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.exc import OperationalError

from anyseek.engine import media, uploads
from anyseek.engine.encoders import EncoderSet, Fingerprint
from anyseek.engine.errors import IndexNotFoundError, ModelMismatchError, QueryError, StorageError
from anyseek.engine.records import (
    FileError,
    Filters,
    IndexReport,
    IndexStatus,
    Modality,
    Progress,
    Query,
    QueryPart,
    SearchResults,
    Space,
)
from anyseek.engine.search.searcher import Searcher
from anyseek.engine.search.syntax import parse_query, split_terms
from anyseek.engine.settings import (
    DEFAULT_TEXT_SPACES,
    MODEL_FIELDS,
    ModelSpecs,
    Settings,
    default_home,
    load_settings,
    normalize_text_spaces,
)
from anyseek.engine.store.database import DB_FILE
from anyseek.engine.store.lock import WriterLock
from anyseek.engine.store.migrations import SCHEMA_VERSION
from anyseek.engine.store.store import Store
from anyseek.engine.vectors.catalog import VectorCatalog
from anyseek.indexer.extract.audio import decode_audio
from anyseek.indexer.extract.image import open_image
from anyseek.indexer.pipeline import Indexer
from anyseek.indexer.scan import normalize_root
from anyseek.indexer.sniff import sniff_bytes, sniff_file

log = logging.getLogger(__name__)

SPACE_OF_ROLE = {"joint": Space.JOINT, "text": Space.TEXT}


def canonical_model(name: str) -> str:
    """A model given as a local path is stored absolute, so the index works from any directory."""
    path = Path(name).expanduser()
    return str(path.resolve()) if name and path.exists() else name


def _stored_dims(fingerprints: dict) -> dict[Space, int]:
    """The vector size of each space whose model has written to the index."""
    return {SPACE_OF_ROLE[r]: int(f["dim"]) for r, f in fingerprints.items() if r in SPACE_OF_ROLE}


def _sniff_format(head: bytes, ext: str) -> str:
    return sniff_bytes(head, ext).format


class Engine:
    def __init__(self, home: Path, settings: Settings, store: Store, encoders: EncoderSet | None = None) -> None:
        self.home, self.store = home, store
        self.settings = settings
        self.specs = self._resolve_specs()
        self.settings = dataclasses.replace(settings, text_spaces=self._resolve_text_spaces())
        settings = self.settings
        fingerprints = store.get_meta("fingerprints", {})
        self.catalog = VectorCatalog(home, store, _stored_dims(fingerprints))
        if encoders is None:
            encoders = EncoderSet(self.specs, settings, on_load=self._check_fingerprint)
        elif encoders.specs != self.specs:
            raise ModelMismatchError(f"the given encoders use {encoders.specs}, the index at {home} uses {self.specs}")
        else:
            encoders.attach(self._check_fingerprint)
        self.encoders = encoders
        self._searcher = Searcher(
            store, self.catalog, self.encoders, settings, self._decode_query_audio, self._open_query_image
        )

    @classmethod
    def open(
        cls,
        path: str | os.PathLike | None = None,
        *,
        create: bool = True,
        encoders: EncoderSet | None = None,
        config_file: str | os.PathLike | None = None,
        **overrides,
    ) -> Engine:
        """Open (or create) the index at `path` (default: ANYSEEK_HOME, else the XDG data dir).
        Keyword overrides are settings, e.g. joint_model="ViT-B-32", device="cpu". `encoders` lets several
        indexes (or tests) share models that are already loaded. `config_file` is a TOML file of settings."""
        home = Path(path).expanduser() if path else default_home()
        settings = load_settings(home, overrides, Path(config_file).expanduser() if config_file else None)
        if not (home / DB_FILE).exists():
            if not create:
                raise IndexNotFoundError(f"no index at {home}; create one with `anyseek index FOLDER`")
            home.mkdir(parents=True, exist_ok=True)
        store = Store(home / DB_FILE)
        try:
            store.initialize()
            if not create and store.get_meta("models") is None:
                # a writer created the file a moment ago and has not recorded its models yet; opening now
                # would record the defaults in its place
                raise IndexNotFoundError(f"the index at {home} is still being created; try again in a moment")
            return cls(home, settings, store, encoders)
        except BaseException:
            store.close()
            raise

    def twin(self) -> Engine:
        """Another Engine on this index that shares this one's loaded models but has its own store
        connection and vector catalog: an index job writes through it while searches read through this one."""
        store = Store(self.home / DB_FILE)
        try:
            twin = Engine(self.home, self.settings, store, self.encoders)
        except BaseException:
            store.close()
            raise
        twin._lender = self
        return twin

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()
        if lender := getattr(self, "_lender", None):
            self.encoders.attach(lender._check_fingerprint)  # models loaded from now on report to the lender

    # --- models ---------------------------------------------------------------------------------
    def _resolve_specs(self) -> ModelSpecs:
        stored = self.store.get_meta("models")
        requested = {name: canonical_model(value) for name, value in self.settings.requested_models().items()}
        if stored is None:
            specs = dataclasses.replace(ModelSpecs(), **requested)
            self.store.set_meta("models", dataclasses.asdict(specs))
            return specs
        for name, value in requested.items():
            if stored.get(name) != value:
                raise ModelMismatchError(
                    f"the index at {self.home} was built with {name}={stored.get(name)!r}, not {value!r}; "
                    f"leave {name} unset to use the index's model, or build a new index with "
                    f"`anyseek --index NEW_DIR index ...` (or delete {self.home} to rebuild it)"
                )
        return ModelSpecs(**{name: stored[name] for name in MODEL_FIELDS})

    def _resolve_text_spaces(self) -> str:
        """Stored with the index like the models: passages embedded in one set of spaces cannot be searched
        as if they were in another. Indexes from before the setting existed hold text in both spaces."""
        stored = self.store.get_meta("text_spaces")
        requested = normalize_text_spaces(self.settings.text_spaces) if self.settings.text_spaces else None
        if stored is None:
            if self.store.counts()["vectors"]:
                stored = DEFAULT_TEXT_SPACES
            else:
                stored = requested or DEFAULT_TEXT_SPACES
                self.store.set_meta("text_spaces", stored)
        if requested and requested != stored:
            raise ModelMismatchError(
                f"the index at {self.home} holds text in text_spaces={stored!r}, not {requested!r}; "
                f"leave text_spaces unset to use the index's, or build a new index with "
                f"`anyseek --index NEW_DIR index ...`"
            )
        return stored

    def _check_fingerprint(self, fingerprint: Fingerprint) -> None:
        fingerprints = self.store.get_meta("fingerprints", {})
        known = fingerprints.get(fingerprint.role)
        if known and (known["model"], known["dim"]) != (fingerprint.model, fingerprint.dim):
            raise ModelMismatchError(
                f"the {fingerprint.role} model now gives {fingerprint.dim}-d vectors but the index holds "
                f"{known['dim']}-d vectors from {known['model']}; rebuild the index in a new directory"
            )
        if known != fingerprint.as_dict():
            fingerprints[fingerprint.role] = fingerprint.as_dict()
            self.store.set_meta("fingerprints", fingerprints)
        if space := SPACE_OF_ROLE.get(fingerprint.role):
            self.catalog.dims[space] = fingerprint.dim

    # --- indexing -------------------------------------------------------------------------------
    def index(
        self, paths: Iterable[str | os.PathLike], on_progress: Callable[[Progress], None] | None = None
    ) -> IndexReport:
        """Add, update, move and delete to mirror the given folders or files. Safe to re-run at any time;
        an interrupted run keeps what it committed and the next one resumes."""
        with WriterLock(self.home):
            run_id = self.store.start_run("index")
            status, report = "failed", IndexReport()
            try:
                self.catalog.load_all()
                indexer = Indexer(self.store, self.catalog, self.encoders, self.settings, self.home)
                report = indexer.run(list(paths), on_progress)
                status = "interrupted" if report.interrupted else "completed"
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            except OperationalError as exc:
                raise StorageError(
                    f"the index database refused a write: {exc.orig}; what was committed before is intact"
                ) from exc
            finally:
                self.store.finish_run(run_id, status, report.as_dict())
        return report

    def remove(self, paths: Iterable[str | os.PathLike]) -> int:
        """Forget the given files or everything under the given folders. Returns the number of items."""
        with WriterLock(self.home):
            self.catalog.load_all()
            items = self.store.items_under([normalize_root(p) for p in paths])
            if items:
                self.catalog.apply(self.store.delete_items([item.id for item in items.values()]))
                self.catalog.save()
        return len(items)

    # --- searching ------------------------------------------------------------------------------
    def parse(self, expression: str) -> list[QueryPart]:
        """The CLI's query syntax (`dog + ./beach.jpg - cartoon`, `2:dog`) as query parts."""
        return parse_query(expression, self._sniff, self._indexed_item)

    def search(
        self,
        text: str | None = None,
        *,
        image=None,
        audio: str | os.PathLike | None = None,
        like: int | str | os.PathLike | None = None,
        parts: Iterable[QueryPart] = (),
        k: int = 10,
        modalities: Iterable[Modality | str] = (),
        path_prefix: str | os.PathLike | None = None,
        min_similarity: float | None = None,
    ) -> SearchResults:
        """Search everything with text, an image (path, bytes or PIL image), a recording, an indexed item
        (id or path: "more like this") or weighted `parts`; all given inputs are combined."""
        parts = list(parts)
        if text is not None:
            parts.append(QueryPart(text=text))
        if image is not None:
            parts.append(QueryPart(image=image))
        if audio is not None:
            parts.append(QueryPart(audio=Path(audio)))
        if like is not None:
            parts.append(QueryPart(item_id=self._resolve_item(like)))
        filters = Filters(tuple(Modality(m) for m in modalities), self._prefix(path_prefix), min_similarity)
        if len(self.catalog.dims) < len(SPACE_OF_ROLE):
            self._learn_dims()  # a writer may have stored a space's first vectors since this index opened
        self.catalog.refresh()
        return self._searcher.search(Query(tuple(parts), k, filters))

    def search_upload(self, data: bytes, text: str | None = None, *, max_bytes: int = uploads.MAX_UPLOAD_BYTES, **kw):
        """Search with an uploaded image or recording (type sniffed from the content), plus optional text
        in the query syntax with every term taken as text (an upload never names files on this machine)."""
        with uploads.upload_part(data, lambda head: sniff_bytes(head, "").modality, max_bytes) as part:
            parts = self.parse_text(text) if text else []
            return self.search(parts=[*parts, part], **kw)

    def parse_text(self, expression: str) -> list[QueryPart]:
        """The query syntax with every term as text: for queries from clients that may not name files."""
        parts = [QueryPart(weight, text=term) for weight, term in split_terms(expression)]
        if not any(part.weight > 0 for part in parts):
            raise QueryError("a query needs at least one positive term")
        return parts

    # --- items and their files (engine/media.py) ------------------------------------------------
    def item(self, item_id: int) -> media.ItemInfo:
        """An indexed item's metadata and chunks; ItemNotFoundError for an unknown id."""
        return media.item_info(self.store, item_id)

    def open_media(self, item_id: int) -> media.MediaFile:
        """The indexed file, opened and verified unchanged (MediaGoneError otherwise). Close it after use."""
        return media.open_media(self.store, item_id, _sniff_format)

    def thumbnail(self, item_id: int, size: int = 256) -> Path:
        """A cached JPEG thumbnail of an indexed image (EXIF orientation applied), made on first request."""
        return media.thumbnail(
            self.store, self.home, item_id, size, _sniff_format, open_image, self.settings.max_image_pixels
        )

    def _learn_dims(self) -> None:
        for space, dim in _stored_dims(self.store.get_meta("fingerprints", {})).items():
            self.catalog.dims.setdefault(space, dim)

    def _resolve_item(self, like: int | str | os.PathLike) -> int:
        if isinstance(like, int):
            return like
        item_id = self._indexed_item(Path(like))
        if item_id is None:
            raise IndexNotFoundError(f"{like} is not in the index; index it first or search by its content")
        return item_id

    def _indexed_item(self, path: Path) -> int | None:
        item = self.store.find_item(path=normalize_root(path))
        return item.id if item and item.status == "ok" else None

    @staticmethod
    def _prefix(path_prefix) -> bytes | None:
        if path_prefix is None:
            return None
        prefix = normalize_root(path_prefix)
        return prefix.rstrip(b"/") + b"/" if os.path.isdir(prefix) else prefix

    @staticmethod
    def _sniff(path: Path) -> Modality | None:
        return sniff_file(os.fsencode(path)).modality

    def _decode_query_audio(self, path: Path):
        return decode_audio(os.fsencode(path), self.settings.max_audio_seconds)

    def _open_query_image(self, source):
        if isinstance(source, (str, os.PathLike)):
            source = os.fsencode(source)
        return open_image(source, self.settings.max_image_pixels)

    # --- reporting ------------------------------------------------------------------------------
    def status(self) -> IndexStatus:
        counts = self.store.counts()
        disk = sum(f.stat().st_size for f in self.home.rglob("*") if f.is_file())
        return IndexStatus(
            home=str(self.home),
            schema_version=SCHEMA_VERSION,
            models=dataclasses.asdict(self.specs),
            fingerprints=self.store.get_meta("fingerprints", {}),
            items=counts["items"],
            chunks=counts["chunks"],
            vectors=counts["vectors"],
            errors=counts["status"].get("error", 0),
            ignored=counts["status"].get("ignored", 0),
            disk_bytes=disk,
            last_run=self.store.last_run(),
            first_errors=[FileError(i.display_path, i.error or "") for i in self.store.errors(10)],
            settings=self.settings.as_dict(),
        )
