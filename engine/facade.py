"""Engine: the facade that apps, the CLI and the server call: open, index, remove, search, items, status,
and classify and align records (their methods in engine/classify/methods.py).

It is handed its parts (engine/bootstrap.py wires them) and builds none of them. Other apps embed anyseek
through this class:

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

from anyseek.engine import bootstrap, item_files, privacy, uploads
from anyseek.engine.classify.methods import ClassifyMethods
from anyseek.engine.contracts import Encoders
from anyseek.engine.dates import to_epoch
from anyseek.engine.duplicates.methods import DuplicateMethods
from anyseek.engine.embedding_methods import EmbeddingMethods
from anyseek.engine.encoders.joint import pretrained_applies
from anyseek.engine.errors import (
    AnyseekError,
    ExtractionError,
    IndexNotFoundError,
    QueryError,
    RootUnavailableError,
    StorageError,
    UnreadableQueryFileError,
)
from anyseek.engine.index_models import SPACE_OF_ROLE, stored_dims
from anyseek.engine.paths import default_home
from anyseek.engine.record_indexing import RecordIndexing
from anyseek.engine.records import (
    FileError,
    Filters,
    IndexReport,
    IndexStatus,
    ItemInfo,
    ItemStatus,
    Progress,
    Query,
    QueryPart,
    SearchResults,
    Sort,
)
from anyseek.engine.request import (
    SearchRequest,
    check_query_file,
    missing_file_warnings,
    search_request,
)
from anyseek.engine.search import collapse, ordering
from anyseek.engine.search.syntax import parse_query, split_terms
from anyseek.engine.store.items import normalize_root
from anyseek.engine.store.lock import WriterLock
from anyseek.engine.store.upgrade import SchemaUpgrade, upgrade_index

log = logging.getLogger(__name__)


class Engine(RecordIndexing, ClassifyMethods, DuplicateMethods, EmbeddingMethods):
    def __init__(self, parts: bootstrap.Parts) -> None:
        """Engines are made by Engine.open (or twin); `parts` come from engine/bootstrap.py."""
        self._parts = parts
        self.home, self.settings, self.specs = parts.home, parts.settings, parts.specs
        self.store, self.catalog, self.writer = parts.store, parts.catalog, parts.writer
        self.encoders, self.decoder, self._searcher = parts.encoders, parts.decoder, parts.searcher

    @classmethod
    def open(
        cls,
        path: str | os.PathLike | None = None,
        *,
        create: bool = True,
        encoders: Encoders | None = None,
        config_file: str | os.PathLike | None = None,
        **overrides,
    ) -> Engine:
        """Open (or create) the index at `path` (default: ANYSEEK_HOME, else the user's data folder).
        Keyword overrides are settings, e.g. joint_model="ViT-B-32", device="cpu". `encoders` lets several
        indexes (or tests) share models that are already loaded. `config_file` is a TOML file of settings."""
        return cls(
            bootstrap.open_index(path, create=create, encoders=encoders, config_file=config_file, overrides=overrides)
        )

    @staticmethod
    def upgrade(path: str | os.PathLike | None = None) -> SchemaUpgrade:
        """Bring the schema of the index at `path` up to this anyseek's, loading no model (any open with write
        access does so too): for an index its readers may not write, which they refuse while it is older
        than they can read as it is."""
        return upgrade_index(Path(path).expanduser() if path else default_home())

    def twin(self) -> Engine:
        """Another Engine on this index that shares this one's loaded models but has its own store
        connection and vector catalog: an index job writes through it while searches read through this one."""
        twin = Engine(bootstrap.reopen(self._parts))
        twin._lender = self
        return twin

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        new_folder = self._parts.new_folder
        discard = new_folder is not None and new_folder.first_run_failed and self._holds_nothing()
        self.store.close()
        if discard:
            new_folder.discard()  # a new index whose first run failed: nothing to keep (store/new_folder.py)
        if lender := getattr(self, "_lender", None):
            self.encoders.attach(lender._parts.on_model_load)  # models loaded from now on report to the lender

    # --- indexing -------------------------------------------------------------------------------
    def index(
        self,
        paths: Iterable[str | os.PathLike],
        on_progress: Callable[[Progress], None] | None = None,
        *,
        prune: bool = False,
        retry_failed: bool = False,
        ray: str | None = None,
    ) -> IndexReport:
        """Add, update, move and delete to mirror the given folders or files. Safe to re-run at any time;
        an interrupted run keeps what it committed and the next one resumes.

        A root that is missing or cannot be listed raises RootUnavailableError and changes nothing. So does
        a root that lists no files while the index holds items under it (an unmounted drive), unless
        `prune=True` says the files really are gone.

        A file that failed before and has not changed since is not decoded again (it stays in the report's
        errors and in `status`), unless `retry_failed=True` or anyseek or its decoders changed since.
        No model is loaded until a file has decoded and needs one.

        `ray="local"` (a cluster started on this machine) or a Ray address decodes and embeds on Ray (the
        `ray` extra); planning and writing stay in this process, so the index is the same."""
        paths = list(paths)
        run = self._parts.indexer.run
        return self._write_run(
            "index", lambda: run(paths, on_progress, prune=prune, retry_failed=retry_failed, ray=ray)
        )

    def _write_run(self, command: str, run: Callable[[], IndexReport]) -> IndexReport:
        """A writing run under the writer lock, logged in the runs table whatever its end."""
        self._check_writable()
        with WriterLock(self.home):
            run_id = self.store.start_run(command)
            status, report, reason = "failed", IndexReport(), None
            try:
                self.writer.load()
                report = run()
                status = "interrupted" if report.interrupted else "completed"
            except KeyboardInterrupt:
                status = "interrupted"
                raise
            except AnyseekError as exc:  # `status` shows why, beside the last completed run
                status, reason = ("refused" if isinstance(exc, RootUnavailableError) else "failed"), str(exc)
                raise
            except OperationalError as exc:
                reason = f"the index database refused a write: {exc.orig}; what was committed before is intact"
                raise StorageError(reason) from exc
            finally:
                self.store.finish_run(run_id, status, report.to_dict(), reason)
                if status in ("failed", "refused") and self._parts.new_folder is not None:
                    self._parts.new_folder.first_run_failed = True
        if status == "completed":  # the models are loaded now: their score calibration costs seconds here
            self._searcher.calibration.references.prepare({f.role for f in self.encoders.loaded()})
        return report

    def _holds_nothing(self) -> bool:
        """No searchable item and no completed run: a new index whose first run failed."""
        return not self.store.counts()["items"] and self.store.last_run("completed") is None

    def _check_writable(self) -> None:
        if self.store.read_only:
            raise StorageError(
                f"the index at {self.home} is read-only here (its folder or database cannot be written); "
                f"searching works, indexing needs write access"
            )

    def remove(self, paths: Iterable[str | os.PathLike]) -> int:
        """Forget the given files, everything under the given folders, and the records of the given
        manifests. Returns the number of items."""
        self._check_writable()
        with WriterLock(self.home):
            self.writer.load()
            roots = [normalize_root(p) for p in paths]
            ids = [item.id for item in self.store.items_under(roots).values()]
            for root in roots:  # a manifest's path names its records
                ids += [record.item_id for record in self.store.collection_records(os.fsdecode(root)).values()]
            if ids:
                self.writer.delete_items(ids)
                self.writer.save()
        return len(ids)

    # --- searching ------------------------------------------------------------------------------
    def parse(self, expression: str) -> list[QueryPart]:
        """The CLI's query syntax (`dog + ./beach.jpg - cartoon`, `2:dog`) as query parts."""
        return parse_query(expression, self.decoder.file_kind, self._indexed_item)

    def search(self, request: SearchRequest | str | None = None, /, **options) -> SearchResults:
        """Search with a SearchRequest (engine/request.py), or with its fields as keywords: `text`, an
        `image` (path, bytes or PIL image), an `audio` recording, `like` an indexed item (id or path:
        "more like this"), weighted `parts` or a `query` in the CLI's syntax; all given inputs are combined.
        `k` results after the first `offset`; `mode`: hybrid (default: the search_mode setting), dense or
        lexical; `min_score` drops hits below that calibrated score (0-1), `min_similarity` below that raw
        cosine; `spaces` limits the dense search to those spaces (to measure one route alone, see
        engine/evaluation.py); `after` (inclusive) and `before` (exclusive) keep items captured in that
        span (`"2024-05-01"`, a date, a datetime or UTC epoch seconds; items without a capture date drop
        out); `modalities`: "image", "text", "audio", "video", "record" or several; `path`: only files under it;
        records (docs/record-collections.md): `fusion` "early" or "late", `join` of late-fused part scores
        "sum", "max" or "mean", `weights` per field ({"caption": 0.3} or "caption=0.3"), None: the settings';
        `sort`: "relevance" (default) or "date" (the hits above `min_score`, else the k most relevant, newest
        capture first, undated last: engine/search/ordering.py); `collapse_duplicates`: one hit per group of
        duplicate files, the best-ranked one, carrying the others (engine/search/collapse.py). A
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
        wanted = request.k + request.offset
        pool = ordering.pool_size(request.sort, wanted, request.min_score)
        query = Query(
            tuple(parts),
            pool,
            filters,
            request.mode,
            request.spaces,
            request.fusion,
            request.join,
            tuple((request.weights or {}).items()),
        )
        if request.collapse_duplicates:  # one hit per duplicate group: engine/search/collapse.py
            ask = lambda size: self._searcher.search(dataclasses.replace(query, k=size))  # noqa: E731
            results = collapse.collapsed(ask, self._duplicates().members(), pool)
        else:
            results = self._searcher.search(query)
        if request.sort is Sort.DATE:
            results = ordering.by_date(results, wanted)
        warnings = results.warnings + missing_file_warnings(parts, self.decoder.known_extensions)
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
        if request.vector is not None:  # checked against the index's space by the searcher
            parts.append(QueryPart(vector=request.vector, space=request.space))
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
        try:
            with uploads.upload_part(data, self.decoder, max_bytes) as part:
                words = self.parse_text(request.query) if request.query else []
                parts = self._searcher.hear([*words, *request.parts, part])
                with exclusive or contextlib.nullcontext():
                    return self.search(dataclasses.replace(request, query=None, parts=tuple(parts)))
        except UnreadableQueryFileError as exc:  # an upload is no file of the client's: its temporary name
            raise ExtractionError(exc.reason) from None  # means nothing, and it is the bytes that are bad

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

    # --- items and their files (engine/item_files.py) -------------------------------------------
    def item(self, item_id: int) -> ItemInfo:
        """An indexed item's metadata and chunks; ItemNotFoundError for an unknown id."""
        return item_files.item_info(self.store, item_id)

    def open_media(self, item_id: int, part: str | None = None) -> item_files.MediaFile:
        """The indexed file (or a record's file `part`, by its field), opened and verified unchanged
        (MediaGoneError otherwise). Close it after use."""
        return item_files.open_media(self.store, item_id, self.decoder, part)

    def thumbnail(self, item_id: int, size: int = 256, part: str | None = None) -> Path:
        """A cached JPEG thumbnail of an indexed image or a record's picture `part` (EXIF orientation
        applied), made on first request."""
        return item_files.thumbnail(self.store, self.home, item_id, size, self.decoder, part)

    def _learn_dims(self) -> None:
        for space, dim in stored_dims(self.store).items():
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

    # --- reporting ------------------------------------------------------------------------------
    def status(self) -> IndexStatus:
        counts = self.store.counts()
        disk = sum(f.stat().st_size for f in self.home.rglob("*") if f.is_file())
        models = dataclasses.asdict(self.specs)
        if not pretrained_applies(self.specs.joint_model):
            del models["joint_pretrained"]  # its weights come with the model (a folder, an hf-hub: repo)
        return IndexStatus(
            home=str(self.home),
            schema_version=self.store.schema_version(),  # a reader's index may be older (still readable)
            models=models,
            fingerprints=self.store.get_meta("fingerprints", {}),
            items=counts["items"],
            chunks=counts["chunks"],
            vectors=counts["vectors"],
            errors=counts["status"].get("error", 0),
            ignored=counts["status"].get("ignored", 0),
            disk_bytes=disk,
            last_run=self.store.last_run(),
            last_completed_run=self.store.last_run("completed"),
            first_errors=[FileError(i.display_path, i.error or "", i.path) for i in self.store.errors(10)],
            settings=self.settings.as_dict(),
            warnings=[w for w in [privacy.exposure_warning(self.home)] if w],
            vector_indexes=self.catalog.describe(),
        )
