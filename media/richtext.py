"""Text formats with markup in the way of the words: RTF (striprtf), LaTeX (pylatexenc), Org and man pages
(line-based, so a few rules read them). What is left is what a person reads: section titles stay, control
words, commands, keywords, drawers and macros go. The libraries are imported only when such a file is met.
"""

from __future__ import annotations

import re

from anyseek.engine.errors import ExtractionError
from anyseek.media.text import decode_text

# LaTeX commands whose argument is a reference, a file or metadata, not prose: dropped with it.
TEX_DROPPED = (
    "maketitle", "cite", "citep", "citet", "nocite", "ref", "eqref", "pageref", "autoref", "cref", "label",
    "includegraphics", "author", "date", "url", "footnotemark", "bibliographystyle", "bibliography", "input",
    "include", "newcommand", "renewcommand", "hypersetup", "tableofcontents", "vspace", "hspace",
)  # fmt: skip
TEX_SECTIONS = ("part", "chapter", "section", "subsection", "subsubsection", "paragraph", "subparagraph")

ORG_KEYWORD = re.compile(r"^\s*#\+(\w+):\s*(.*)$")
ORG_BLOCK_FENCE = re.compile(r"^\s*#\+(?:begin|end)_\w+.*$", re.I)
ORG_DRAWER = re.compile(r"^\s*:[\w-]+:\s*\n(?:.*\n)*?\s*:end:\s*$", re.I | re.M)
ORG_HEADING = re.compile(r"^\*+\s+(?:(?:TODO|DONE|NEXT|WAITING|CANCELLED|CANCELED)\s+)?(?:\[#[A-Z]\]\s+)?(.*?)$")
ORG_TAGS = re.compile(r"\s+:[\w@#%:]+:\s*$")
ORG_PLANNING = re.compile(r"^\s*(?:SCHEDULED|DEADLINE|CLOSED):.*$")
ORG_LINK = re.compile(r"\[\[([^\]]*)\](?:\[([^\]]*)\])?\]")
ORG_EMPHASIS = re.compile(r"(?<![\w*/=~+])([*/=~+_])(\S(?:.*?\S)?)\1(?![\w*/=~+])")
ORG_TITLE_KEYWORDS = {"title", "subtitle", "caption", "description"}

ROFF_ESCAPE = re.compile(
    r"\\f[BIRPC0-9]|\\f\(..|\\f\[[^]]*\]|\\\(..|\\\[[^]]*\]|\\[&|^%:ecd]|\\s[-+]?\d|\\\*\(..|\\\*."
)
ROFF_TEXT_MACROS = {"SH", "SS", "B", "I", "BR", "IR", "RB", "RI", "BI", "IB", "SM", "SB", "TP", "IP", "Nm", "Nd", "Sh"}
ROFF_TEXT_MACROS |= {"Ss", "Ar", "Fl", "Cm", "Pa", "Op", "It", "Xr", "Dq", "Sq", "Em", "Li", "Ql", "Va", "Ev"}


def rtf_text(data: bytes) -> str:
    """RTF is 7-bit: accents are `\\'e9` escapes in the document's code page (`\\ansicpg`), which striprtf
    decodes; a few bytes above 127 that editors leave raw are read as Windows-1252."""
    from striprtf.striprtf import rtf_to_text

    source = data.decode("cp1252", errors="replace")
    page = re.search(r"\\ansicpg(\d+)", source[:2048])
    encoding = f"cp{page.group(1)}" if page else "cp1252"
    try:
        text = rtf_to_text(source, encoding=encoding, errors="replace")
    except LookupError:  # a code page Python does not know
        text = rtf_to_text(source, errors="replace")
    except (ValueError, IndexError) as exc:
        raise ExtractionError(f"corrupt RTF document: {exc}") from None
    return text.strip()


def tex_text(data: bytes) -> str:
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    context = get_default_latex_context_db()
    macros = [MacroTextSpec(name, "") for name in TEX_DROPPED]
    macros += [MacroTextSpec(name, "\n\n%(3)s\n\n") for name in TEX_SECTIONS]  # args: * [short] {title}
    macros.append(MacroTextSpec("title", "%(1)s\n\n"))
    context.add_context_category("anyseek", prepend=True, macros=macros, environments=[], specials=[])
    converter = LatexNodes2Text(latex_context=context, math_mode="text", strict_latex_spaces=True)
    try:
        text = converter.latex_to_text(decode_text(data))
    except (ValueError, IndexError, KeyError) as exc:
        raise ExtractionError(f"cannot read this LaTeX document: {exc}") from None
    return _tidy(text)


def org_text(data: bytes) -> str:
    """Org mode: headings without stars, TODO keywords, priorities and tags; #+TITLE and other titles kept,
    other #+KEYWORD lines, block fences, property drawers and planning lines dropped; links shown by their
    description; emphasis markers removed."""
    text = ORG_DRAWER.sub("", decode_text(data))
    lines = []
    for line in text.splitlines():
        if keyword := ORG_KEYWORD.match(line):
            if keyword.group(1).lower() in ORG_TITLE_KEYWORDS:
                lines.append(keyword.group(2))
            continue
        if ORG_BLOCK_FENCE.match(line) or ORG_PLANNING.match(line) or line.lstrip().startswith("# "):
            continue
        if heading := ORG_HEADING.match(line):
            line = "\n" + ORG_TAGS.sub("", heading.group(1))
        line = ORG_LINK.sub(lambda m: m.group(2) or m.group(1), line)
        lines.append(ORG_EMPHASIS.sub(r"\2", line))
    return _tidy("\n".join(lines))


def roff_text(data: bytes) -> str:
    """A man page: the words of its text lines and of its section and font macros; other requests,
    comments and escapes go."""
    lines = []
    for line in decode_text(data).splitlines():
        if line.startswith((".", "'")):
            macro, _, rest = line[1:].strip().partition(" ")
            if macro in ("SH", "Sh", "SS", "Ss"):
                lines.append("\n" + _roff_plain(rest))
            elif macro in ROFF_TEXT_MACROS and rest:
                lines.append(_roff_plain(rest))
            elif macro in ("PP", "LP", "P", "Pp", "sp", "br"):
                lines.append("")
            continue
        lines.append(_roff_plain(line))
    return _tidy("\n".join(lines))


def _roff_plain(line: str) -> str:
    return ROFF_ESCAPE.sub("", line).replace("\\-", "-").replace("\\e", "\\").replace("\\", "").replace('"', "")


def _tidy(text: str) -> str:
    """At most one blank line in a row, no trailing spaces."""
    lines = [line.rstrip() for line in text.replace("\xa0", " ").splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
