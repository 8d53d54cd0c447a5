"""Email through the standard library: a saved message (.eml) is one item; each message of an mbox file is
an item of its own (see parsed.Member), with the message's date as its capture date.

What is read: subject, sender, recipients and date as the first lines, then the plain-text body (or the
HTML body made plain when there is no plain one), then each attached document whose format anyseek reads.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import mailbox
import os
from collections.abc import Callable
from email.message import EmailMessage

from anyseek.engine.errors import ExtractionError
from anyseek.media.markup import html_to_text
from anyseek.media.parsed import Member, Parsed, TextWindow
from anyseek.media.text import decode_text

# (attachment bytes, its file name) -> its text, or None when its format is not one anyseek reads
AttachmentReader = Callable[[bytes, str], str | None]
HEADERS = (("Subject", "Subject"), ("From", "From"), ("To", "To"), ("Date", "Date"))


def eml_parsed(data: bytes, window: TextWindow, read_attachment: AttachmentReader) -> Parsed:
    message = email.message_from_bytes(data, policy=email.policy.default)
    if not any(message.get(name) for name, _ in HEADERS):
        raise ExtractionError("not an email message: no Subject, From, To or Date header")
    return Parsed(window.split(message_text(message, read_attachment)), message_date(message))


def mbox_parsed(path: bytes, window: TextWindow, read_attachment: AttachmentReader, max_chars: int) -> Parsed:
    box = mailbox.mbox(os.fsdecode(path), create=False)
    members, total = [], 0
    try:
        for number, key in enumerate(box.iterkeys(), 1):
            message = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            text = message_text(message, read_attachment)
            total += len(text)
            if total > max_chars:
                raise ExtractionError(f"mailbox text is over the {max_chars / 2**20:.0f} MB cap (max_text_bytes)")
            members.append(Member(str(number), window.split(text), message_date(message)))
    except (OSError, mailbox.Error) as exc:
        raise ExtractionError(f"cannot read this mbox file: {exc}") from None
    finally:
        box.close()
    if not members:
        raise ExtractionError("no message in this mbox file")
    return Parsed([], members=members)


def message_date(message: EmailMessage) -> float | None:
    try:
        stamp = email.utils.parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    return stamp.timestamp() if stamp.tzinfo else None


def message_text(message: EmailMessage, read_attachment: AttachmentReader) -> str:
    lines = [f"{label}: {_header(message, name)}" for name, label in HEADERS if message.get(name)]
    body = _body(message)
    parts = ["\n".join(lines), body] if body else ["\n".join(lines)]
    for attachment in message.iter_attachments() if message.is_multipart() else ():
        name = attachment.get_filename() or ""
        data = attachment.get_payload(decode=True)
        if not data or attachment.get_content_maintype() == "multipart":
            continue
        text = read_attachment(data, name)
        if text:
            parts.append(f"Attachment: {name}\n{text}")
    return "\n\n".join(part for part in parts if part.strip())


def _header(message: EmailMessage, name: str) -> str:
    try:
        return " ".join(str(message.get(name, "")).split())
    except (ValueError, IndexError):  # a malformed encoded word
        return ""


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown or lying charset: read the bytes ourselves
        content = decode_text(part.get_payload(decode=True) or b"")
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_subtype() == "html" else content.strip()
