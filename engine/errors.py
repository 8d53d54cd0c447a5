"""Domain errors. Every message is written for the person reading it: what happened and what to do."""

from __future__ import annotations


class AnyseekError(Exception):
    """Base of every error anyseek raises on purpose. The CLI prints these as one line."""


class ConfigError(AnyseekError):
    """A setting or configuration file is invalid."""


class ModelUnavailableError(AnyseekError):
    """A model cannot be loaded (offline with no local copy, bad path, bad name)."""


class ModelMismatchError(AnyseekError):
    """The index was built with other models than the ones requested."""


class IndexLockedError(AnyseekError):
    """Another process is writing to the index."""


class SchemaError(AnyseekError):
    """The index was written by a newer anyseek, or is damaged."""


class IndexNotFoundError(AnyseekError):
    """There is no index at the given location."""


class QueryError(AnyseekError):
    """The query cannot be understood or is empty."""


class ExtractionError(AnyseekError):
    """One file cannot be decoded. Caught at the file boundary, recorded, and the run goes on."""


class TrainingError(AnyseekError):
    """Training data or options are unusable."""


class StorageError(AnyseekError):
    """The disk refused a write (full, read-only, I/O error)."""


class RootUnavailableError(AnyseekError):
    """A folder given to `index` is missing, cannot be listed, or looks unmounted. Nothing was changed."""


class QueryFileNotFoundError(QueryError, FileNotFoundError):
    """A file given as a query (an image or a recording) does not exist or is not a file."""


class NoSpeechError(QueryError):
    """A query recording holds no recognisable speech."""


class ItemNotFoundError(AnyseekError):
    """No indexed item has the given id."""


class MediaGoneError(AnyseekError):
    """An indexed file was changed, replaced or deleted since it was indexed; it is not served."""


class UploadError(AnyseekError):
    """An uploaded query file is too large or of no supported type."""


class JobError(AnyseekError):
    """An index job cannot be started or found."""


class UploadTooLargeError(UploadError):
    """An uploaded query file is over the size limit."""


class JobNotFoundError(JobError):
    """No index job has the given id."""


class UnreadableQueryFileError(QueryError, ExtractionError):
    """A file given as a query (an image, a recording) cannot be decoded; the message names the file."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason

    def __reduce__(self):  # pickles (a decode process, a job thread's report) with both arguments
        return type(self), (self.path, self.reason)
