"""Capture dates from EXIF, as UTC epoch seconds.

DateTimeOriginal (when the shutter fired) is preferred over DateTime (when the file was last written).
EXIF times are the camera's wall clock; OffsetTimeOriginal gives its zone where the camera recorded one.
Without it the wall-clock time is stored as if it were UTC: the photo taken at 10:30 on holiday then
shows as 10:30 and is matched by date filters on the day the camera said, wherever it is searched from.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from PIL import Image

EXIF_IFD = 0x8769
DATETIME, DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 306, 36867, 36881
EARLIEST_YEAR = 1900  # unset camera clocks write 0000:00:00 or 1970; the former fails parsing anyway


def exif_time(stamp: object, offset: object = None) -> float | None:
    """`2024:05:01 10:30:00` (+ `+02:00`) as UTC epoch seconds; None when absent or malformed."""
    if not isinstance(stamp, str):
        return None
    try:
        taken = datetime.strptime(stamp.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    if taken.year < EARLIEST_YEAR:
        return None
    return taken.replace(tzinfo=_zone(offset)).timestamp()


def _zone(offset: object) -> timezone:
    if isinstance(offset, str) and len(offset.strip()) == 6 and offset.strip()[0] in "+-":
        text = offset.strip()
        try:
            hours, minutes = int(text[1:3]), int(text[4:6])
        except ValueError:
            return UTC
        sign = -1 if text[0] == "-" else 1
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    return UTC


def image_capture_time(image: Image.Image) -> float | None:
    """The capture time recorded in an open image's EXIF (JPEG, TIFF, HEIC, WebP, PNG eXIf)."""
    try:
        exif = image.getexif()
        details = exif.get_ifd(EXIF_IFD)
    except (OSError, SyntaxError, ValueError, TypeError, KeyError):
        return None  # unreadable metadata never fails a readable picture
    taken = exif_time(details.get(DATETIME_ORIGINAL), details.get(OFFSET_TIME_ORIGINAL))
    return taken if taken is not None else exif_time(exif.get(DATETIME))
