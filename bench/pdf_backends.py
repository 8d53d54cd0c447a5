"""Which PDF text library to use: pypdfium2 against pypdf, side by side on the same files.

    .venv/bin/pip install pypdf   # not a dependency: only this comparison needs it
    .venv/bin/python -m bench.pdf_backends [extra.pdf ...]

Generated PDFs have known words, so quality is word recall and precision against the truth: a plain one
(one text show per line) and a kerned one, where words are placed by kerning offsets inside TJ arrays
and not separated by space characters, as many real typesetters write them. Real PDFs given on the
command line (there is no truth) report the words each library finds and how much the two agree.
Speed is pages per second, best of three.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

from tests.fixtures.make_document_fixtures import pdf

WORDS = re.compile(r"[A-Za-z]+")
SENTENCES = [
    "The quick brown fox jumps over the lazy dog near the riverbank",
    "Seventeen lighthouse keepers repaired the northern lamp before winter",
    "Financial statements were audited by an independent accounting firm",
]


def kerned_pdf(pages: int) -> tuple[bytes, list[str]]:
    """Each word a TJ string split in two with a small kern; words spaced by a -250 offset, no spaces."""
    truth, lines_of_pages = [], []
    for page in range(pages):
        lines = [SENTENCES[(page + i) % len(SENTENCES)] for i in range(30)]
        truth.append(" ".join(lines))
        lines_of_pages.append(lines)
    data = pdf([["" for _ in lines] for lines in lines_of_pages])
    for lines in lines_of_pages:
        for line in lines:
            parts = " -250 ".join(f"({w[: len(w) // 2]}) -12 ({w[len(w) // 2 :]})" for w in line.split())
            data = data.replace(b"() Tj", f"[{parts}] TJ".encode(), 1)
    return _fix_lengths(data), truth


def _fix_lengths(data: bytes) -> bytes:
    """Re-derive stream lengths and the xref after editing content streams in place."""
    body = re.sub(
        rb"<< /Length \d+ >>\nstream\n(.*?)\nendstream",
        lambda m: b"<< /Length %d >>\nstream\n" % len(m.group(1)) + m.group(1) + b"\nendstream",
        data,
        flags=re.S,
    )
    head, _, _ = body.partition(b"xref\n")
    offsets = [m.start() for m in re.finditer(rb"(?m)^\d+ 0 obj\n", head)]
    xref = b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    xref += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(offsets) + 1, len(head))
    return head + xref + trailer


def pdfium_pages(path: str) -> list[str]:
    import pypdfium2

    document = pypdfium2.PdfDocument(path)
    try:
        return [document[i].get_textpage().get_text_bounded() for i in range(len(document))]
    finally:
        document.close()


def pypdf_pages(path: str) -> list[str]:
    import pypdf

    return [page.extract_text() or "" for page in pypdf.PdfReader(path).pages]


BACKENDS = {"pypdfium2": pdfium_pages, "pypdf": pypdf_pages}


def timed(extract, path: str) -> tuple[float, list[str]]:
    best, pages = float("inf"), []
    for _ in range(3):
        started = time.perf_counter()
        pages = extract(path)
        best = min(best, time.perf_counter() - started)
    return len(pages) / best, pages


def recall_precision(found: str, truth: str) -> tuple[float, float]:
    got, want = WORDS.findall(found.lower()), WORDS.findall(truth.lower())
    common = sum(min(got.count(w), want.count(w)) for w in set(want))
    return common / max(len(want), 1), common / max(len(got), 1)


def main(extra: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plain_pages = [[s] * 30 for s in SENTENCES] * 10
        plain = Path(tmp, "plain.pdf")
        plain.write_bytes(pdf(plain_pages))
        kerned_data, kerned_truth = kerned_pdf(30)
        kerned = Path(tmp, "kerned.pdf")
        kerned.write_bytes(kerned_data)
        cases = [("generated plain, 30 pages", plain, [" ".join(p) for p in plain_pages])]
        cases += [("generated kerned, 30 pages", kerned, kerned_truth)]
        cases += [(Path(p).name, Path(p), None) for p in extra]
        print(f"{'file':34} {'library':10} {'pages/s':>9} {'words':>7} {'recall':>7} {'precision':>9}")
        for label, path, truth in cases:
            found = {}
            for name, extract in BACKENDS.items():
                rate, pages = timed(extract, str(path))
                found[name] = " ".join(pages)
                quality = ""
                if truth:
                    recall, precision = recall_precision(found[name], " ".join(truth))
                    quality = f"{recall:7.3f} {precision:9.3f}"
                print(f"{label:34} {name:10} {rate:9.0f} {len(WORDS.findall(found[name])):7d} {quality}")
            if truth is None:
                a, b = (set(WORDS.findall(found[n].lower())) for n in BACKENDS)
                print(f"{'':34} vocabulary agreement (Jaccard) {len(a & b) / max(len(a | b), 1):.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
