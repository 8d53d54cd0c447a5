"""Domain errors. Every message is written for the person reading it: what happened and what to do.

Each class declares, once, how every front end reports it: `code` (the stable name in the HTTP API's error
body), `http_status` and `exit_status` (the CLI's). A class that declares none of its own reports as its
parent does. The server (server/errors.py), the CLI (cli/app.py) and the CLI's client of a running server
(cli/client.py, which turns a code back into its class) all read these attributes; nothing maps them by
hand. Declared codes are distinct, so `by_code` can invert them.
"""

from __future__ import annotations


class AnyseekError(Exception):
    """Base of every error anyseek raises on purpose. The CLI prints these as one line."""

    code = "error"
    http_status = 400
    exit_status = 1


class ConfigError(AnyseekError):
    """A setting or configuration file is invalid."""


class ModelUnavailableError(AnyseekError):
    """A model cannot be loaded (offline with no local copy, bad path, bad name)."""


class ModelMismatchError(AnyseekError):
    """The index was built with other models than the ones requested."""


class IndexLockedError(AnyseekError):
    """Another process is writing to the index."""

    code, http_status = "locked", 409


class SchemaError(AnyseekError):
    """The index was written by a newer anyseek, or is damaged."""


class NotFoundError(AnyseekError):
    """Something the caller named (an index, an item, a job) does not exist. The HTTP API has always
    answered all three with one code, `not_found`, so they share this base rather than three codes."""

    code, http_status = "not_found", 404


class IndexNotFoundError(NotFoundError):
    """There is no index at the given location."""


class QueryError(AnyseekError):
    """The query cannot be understood or is empty."""

    # a bad value given (an empty query, a date that is not one, a query image that is not an image): for
    # the CLI a usage error like a bad option, with its status 2 and its `try … -h` hint
    code, http_status, exit_status = "bad_query", 400, 2


class ExtractionError(AnyseekError):
    """One file cannot be decoded. Caught at the file boundary, recorded, and the run goes on."""

    code, http_status = "undecodable", 422


class TrainingError(AnyseekError):
    """Training data or options are unusable."""


class EmbeddingLayoutError(AnyseekError):
    """A folder of embeddings (clip-retrieval's layout) is malformed or does not fit the index."""

    code = "bad_embeddings"


class StorageError(AnyseekError):
    """The disk refused a write (full, read-only, I/O error)."""

    code, http_status = "storage", 507


class RootUnavailableError(AnyseekError):
    """A folder given to `index` is missing, cannot be listed, or looks unmounted. Nothing was changed."""


class QueryFileNotFoundError(QueryError, FileNotFoundError):
    """A file given as a query (an image or a recording) does not exist or is not a file."""


class NoSpeechError(QueryError):
    """A query recording holds no recognisable speech."""

    code, http_status, exit_status = "no_speech", 422, 1  # silence is no bad value


class ItemNotFoundError(NotFoundError):
    """No indexed item has the given id."""


class MediaGoneError(AnyseekError):
    """An indexed file was changed, replaced or deleted since it was indexed; it is not served."""

    code, http_status = "gone", 410


class UploadError(AnyseekError):
    """An uploaded query file is too large or of no supported type."""

    code, http_status = "unsupported_media", 415


class JobError(AnyseekError):
    """An index job cannot be started or found."""

    code, http_status = "conflict", 409


class UploadTooLargeError(UploadError):
    """An uploaded query file is over the size limit."""

    code, http_status = "too_large", 413


class JobNotFoundError(NotFoundError, JobError):
    """No index job has the given id (reported as `not_found`: NotFoundError comes first in its bases)."""


class ManifestError(AnyseekError):
    """A record manifest cannot be read at all (missing, not text, no header, no records). A broken row is
    not this: it is reported, and the other rows are read."""


class ClassifyError(AnyseekError):
    """Classification or alignment cannot run: no labels and no labelled examples, one label only, records
    with nothing in a space the labels are in."""


class UnreadableQueryFileError(QueryError, ExtractionError):
    """A file given as a query (an image, a recording) cannot be decoded; the message names the file.
    Reported as `bad_query` (QueryError comes first in its bases)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason

    def __reduce__(self):  # pickles (a decode process, a job thread's report) with both arguments
        return type(self), (self.path, self.reason)


def declared() -> dict[str, type[AnyseekError]]:
    """Each code and the class that declares it (the most general class that answers with it)."""
    found: dict[str, type[AnyseekError]] = {}
    pending: list[type[AnyseekError]] = [AnyseekError]
    while pending:
        kind = pending.pop(0)
        if "code" in vars(kind):
            found.setdefault(kind.code, kind)
        pending.extend(kind.__subclasses__())
    return found


def by_code(code: object) -> type[AnyseekError]:
    """The class a front end's error code stands for (AnyseekError for a code it does not know)."""
    return declared().get(code, AnyseekError) if isinstance(code, str) else AnyseekError
