"""Engine: the one place that wires settings, store, encoders, vector indexes, indexer and search.

Other apps embed anyseek through this class:

    with Engine.open("~/.local/share/anyseek/default") as eng:
        eng.index(["~/media"])
        for hit in eng.search("red bicycle", k=5):  # or eng.search(SearchRequest(text="red bicycle", k=5))
            print(hit.score, hit.modality, hit.path, hit.start, hit.end, hit.snippet)
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import warnings
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path

from sqlalchemy.exc import OperationalError

from anyseek.engine import media, uploads
from anyseek.engine.dates import to_epoch
from anyseek.engine.encoders import EncoderSet, Fingerprint
from anyseek.engine.errors import IndexNotFoundError, ModelMismatchError, QueryError, StorageError
from anyseek.engine.records import (
    FileError,
    Filters,
    IndexReport,
    IndexStatus,
    ItemStatus,
    Modality,
    Progress,
    Query,
    QueryPart,
    SearchResults,
    Space,
)
from anyseek.engine.request import SearchRequest, check_query_file, missing_file_warnings, search_request
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
from anyseek.engine.store.database import DB_FILE, is_writable
from anyseek.engine.store.lock import WriterLock
from anyseek.engine.store.migrations import SCHEMA_VERSION
from anyseek.engine.store.store import Store
from anyseek.engine.vectors.catalog import VectorCatalog
from anyseek.indexer.extract.audio import decode_audio
from anyseek.indexer.extract.image import open_image, open_raw
from anyseek.indexer.extract.video import sound_only
from anyseek.indexer.pipeline import Indexer
from anyseek.indexer.scan import normalize_root
from anyseek.indexer.sniff import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, TEXT_EXTENSIONS, sniff_bytes, sniff_file

log = logging.getLogger(__name__)

SPACE_OF_ROLE = {"joint": Space.JOINT, "text": Space.TEXT}
KNOWN_EXTENSIONS = IMAGE_EXTENSIONS | AUDIO_EXTENSIONS | TEXT_EXTENSIONS


def canonical_model(name: str) -> str:
    """A model given as a local path is stored absolute, so the index works from any directory."""
    path = Path(name).expanduser()
    return str(path.resolve()) if name and path.exists() else name


def _stored_dims(fingerprints: dict) -> dict[Space, int]:
    """The vector size of each space whose model has written to the index."""
    return {SPACE_OF_ROLE[r]: int(f["dim"]) for r, f in fingerprints.items() if r in SPACE_OF_ROLE}


def _make_home(home: Path) -> None:
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the index at {home}: {exc.strerror or exc}; choose another place with --index "
            f"or ANYSEEK_HOME"
        ) from None


def _open_store(home: Path) -> Store:
    """A database this process cannot write (a read-only share, a mounted backup) opens for reading."""
    path = home / DB_FILE
    store = Store(path, read_only=path.exists() and not is_writable(path))
    if not store.read_only:
        try:
            with store.engine.connect():
                pass
        except OperationalError as exc:
            store.close()
            raise StorageError(f"cannot open the index at {home}: {exc.orig}") from None
    return store


def _sniff_upload(head: bytes) -> Modality | None:
    return sniff_bytes(head, "").modality


def _sound_only(path: Path) -> bool:
    return sound_only(os.fsencode(path))


def _sniff_format(head: bytes, ext: str) -> str:
    return sniff_bytes(head, ext).format


class Engine:
    def __init__(self, home: Path, settings: Settings, store: Store, encoders: EncoderSet | None = None) -> None:
        self.home, self.store = home, store
        self.settings = settings
        self.specs = self._resolve_specs(encoders.specs if encoders is not None else ModelSpecs())
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
            _make_home(home)
        store = _open_store(home)
        try:
            store.initialize()
            if not create and store.get_meta("models") is None:
                # a writer created the file a moment ago and has not loaded a model yet (or its first run
                # could not load one): nothing is searchable, and this reader must not pick the models
                raise IndexNotFoundError(
                    f"the index at {home} holds nothing searchable yet (being created, or its first run could "
                    f"not load a model); try again in a moment, or run `anyseek index FOLDER`"
                )
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
    def _resolve_specs(self, unrecorded: ModelSpecs) -> ModelSpecs:
        """The index's models where it has recorded them, else the requested ones, else `unrecorded` (the
        given encoders' models, or the defaults). A model is recorded once it has loaded (see
        _check_fingerprint): a first run that could not load the default model (offline) leaves the index
        free to be retried with another, and a reader opening an index whose writer has loaded only some
        models so far takes its own for the others."""
        stored = self.store.get_meta("models") or {}
        requested = {name: canonical_model(value) for name, value in self.settings.requested_models().items()}
        for name, value in requested.items():
            if name in stored and stored[name] != value:
                raise ModelMismatchError(
                    f"the index at {self.home} was built with {name}={stored.get(name)!r}, not {value!r}; "
                    f"leave {name} unset to use the index's model, or build a new index with "
                    f"`anyseek --index NEW_DIR index ...` (or delete {self.home} to rebuild it)"
                )
        recorded = {name: value for name, value in stored.items() if name in MODEL_FIELDS}
        return dataclasses.replace(unrecorded, **{**requested, **recorded})

    def _record_model(self, role: str) -> None:
        stored = self.store.get_meta("models") or {}
        fields = {name: getattr(self.specs, name) for name in MODEL_FIELDS if name.startswith(f"{role}_")}
        if any(name not in stored for name in fields):
            self.store.set_meta("models", {**stored, **fields})

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
        self._record_model(fingerprint.role)
        if space := SPACE_OF_ROLE.get(fingerprint.role):
            self.catalog.dims[space] = fingerprint.dim

    # --- indexing -------------------------------------------------------------------------------
    def index(
        self,
        paths: Iterable[str | os.PathLike],
        on_progress: Callable[[Progress], None] | None = None,
        *,
        prune: bool = False,
        retry_failed: bool = False,
    ) -> IndexReport:
        """Add, update, move and delete to mirror the given folders or files. Safe to re-run at any time;
        an interrupted run keeps what it committed and the next one resumes.

        A root that is missing or cannot be listed raises RootUnavailableError and changes nothing. So does
        a root that lists no files while the index holds items under it (an unmounted drive), unless
        `prune=True` says the files really are gone.

        A file that failed before and has not changed since is not decoded again (it stays in the report's
        errors and in `status`), unless `retry_failed=True` or anyseek or its decoders changed since.
        No model is loaded until a file has decoded and needs one."""
        self._check_writable()
        with WriterLock(self.home):
            run_id = self.store.start_run("index")
            status, report = "failed", IndexReport()
            try:
                self.catalog.load_all()
                indexer = Indexer(self.store, self.catalog, self.encoders, self.settings, self.home)
                report = indexer.run(list(paths), on_progress, prune=prune, retry_failed=retry_failed)
                status = "interrupted" if report.interrupted else "completed"
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            except OperationalError as exc:
                raise StorageError(
                    f"the index database refused a write: {exc.orig}; what was committed before is intact"
                ) from exc
            finally:
                self.store.finish_run(run_id, status, report.to_dict())
        return report

    def _check_writable(self) -> None:
        if self.store.read_only:
            raise StorageError(
                f"the index at {self.home} is read-only here (its folder or database cannot be written); "
                f"searching works, indexing needs write access"
            )

    def remove(self, paths: Iterable[str | os.PathLike]) -> int:
        """Forget the given files or everything under the given folders. Returns the number of items."""
        self._check_writable()
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

    def search(self, request: SearchRequest | str | None = None, /, **options) -> SearchResults:
        """Search with a SearchRequest (engine/request.py), or with its fields as keywords: `text`, an
        `image` (path, bytes or PIL image), an `audio` recording, `like` an indexed item (id or path:
        "more like this"), weighted `parts` or a `query` in the CLI's syntax; all given inputs are combined.
        `k` results after the first `offset`; `mode`: hybrid (default: the search_mode setting), dense or
        lexical; `min_score` drops hits below that calibrated score (0-1), `min_similarity` below that raw
        cosine; `spaces` limits the dense search to those spaces (to measure one route alone, see
        engine/evaluation.py); `after` (inclusive) and `before` (exclusive) keep items captured in that
        span (`"2024-05-01"`, a date, a datetime or UTC epoch seconds; items without a capture date drop
        out); `modalities`: "image", "text", "audio", "video" or several; `path`: only files under it. A
        text alone may come first: `search("red bicycle", k=5)`. Bad arguments raise QueryError (a missing
        file: QueryFileNotFoundError) with the message the CLI prints."""
        request = search_request(request, **options)
        parts = self._query_parts(request)
        filters = Filters(
            request.modalities,
            self._prefix(request.path),
            request.min_similarity,
            captured_after=to_epoch(request.after, "after"),
            captured_before=to_epoch(request.before, "before"),
            min_score=request.min_score,
        )
        if len(self.catalog.dims) < len(SPACE_OF_ROLE):
            self._learn_dims()  # a writer may have stored a space's first vectors since this index opened
        self.catalog.refresh()
        query = Query(tuple(parts), request.k + request.offset, filters, request.mode, request.spaces)
        results = self._searcher.search(query)
        warnings = results.warnings + missing_file_warnings(parts, KNOWN_EXTENSIONS)
        return dataclasses.replace(results, hits=results.hits[request.offset :], warnings=warnings)

    def _query_parts(self, request: SearchRequest) -> list[QueryPart]:
        parts = []
        if request.query:
            parts += self.parse(request.query) if request.query_files else self.parse_text(request.query)
        parts += request.parts
        if request.text is not None:
            parts.append(QueryPart(text=request.text))
        if request.image is not None:
            parts.append(QueryPart(image=request.image))
        if request.audio is not None:
            parts.append(QueryPart(audio=Path(request.audio)))
        if request.like is not None:
            parts.append(QueryPart(item_id=self._resolve_item(request.like)))
        for part in parts:
            if isinstance(part.image, (str, os.PathLike)):
                check_query_file(part.image, "image")
            if part.audio is not None:
                check_query_file(part.audio, "recording")
        return parts

    def search_upload(
        self,
        data: bytes,
        request: SearchRequest | str | None = None,
        /,
        *,
        max_bytes: int = uploads.MAX_UPLOAD_BYTES,
        exclusive: AbstractContextManager | None = None,
        **options,
    ) -> SearchResults:
        """Search with an uploaded image or recording (type sniffed from the content), plus optional words
        in the query syntax with every term taken as text (an upload never names files on this machine):
        the request's `query`, or a string in its place. The other options are Engine.search's.
        `exclusive` is held around the search itself but not while a recording is transcribed (seconds):
        a server passes the lock that takes its searches in turn, and the others go on meanwhile."""
        if "text" in options:  # its name before 0.2, when it meant what `query` means here
            warnings.warn("search_upload(text=...) is deprecated; use query=", DeprecationWarning, stacklevel=2)
            options["query"] = options.pop("text")
        if isinstance(request, str):
            request, options = None, {"query": request, **options}
        request = search_request(request, **options)
        with uploads.upload_part(data, _sniff_upload, _sound_only, max_bytes) as part:
            words = self.parse_text(request.query) if request.query else []
            parts = self._searcher.hear([*words, *request.parts, part])
            with exclusive or contextlib.nullcontext():
                return self.search(dataclasses.replace(request, query=None, parts=tuple(parts)))

    def warm(self) -> None:
        """For a long-lived process (a server, an app): load the models a text search needs now, and answer
        text queries with them rather than with their exported text towers (see
        engine/encoders/query_runtime.py). The models run a query's text tower only up to its length, ~2.5x
        faster per query for ViT-B-32 than the export's full context; the export is what a one-shot search
        wants, since it spares the seconds of loading."""
        self.encoders.prefer_models()
        self.search(text="warm up", k=1)

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
        return item.id if item and item.status == ItemStatus.OK else None

    @staticmethod
    def _prefix(path_prefix) -> bytes | None:
        if path_prefix is None:
            return None
        prefix = normalize_root(path_prefix)
        return prefix.rstrip(b"/") + b"/" if os.path.isdir(prefix) else prefix

    @staticmethod
    def _sniff(path: Path) -> Modality | None:
        """A query file's kind; a voice memo in a video container (sound, no picture) is a recording."""
        modality = sniff_file(os.fsencode(path)).modality
        return Modality.AUDIO if modality is Modality.VIDEO and _sound_only(path) else modality

    def _decode_query_audio(self, path: Path):
        return decode_audio(os.fsencode(path), self.settings.max_audio_seconds)

    def _open_query_image(self, source):
        if isinstance(source, (str, os.PathLike)):
            source = os.fsencode(source)
        if isinstance(source, bytes) and sniff_file(source).format == "raw":
            return open_raw(source, self.settings.max_image_pixels).image  # its preview, as when indexed
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
            first_errors=[FileError(i.display_path, i.error or "", i.path) for i in self.store.errors(10)],
            settings=self.settings.as_dict(),
        )
