"""Readable text out of HTML and XHTML: the words a reader sees, in reading order, without the markup
and without the boilerplate around them (navigation, headers, footers, scripts, styles, forms).

The standard library's tolerant parser is enough for this: a page is not rendered, only read, and a
readability-style scorer would pull in a dependency for little gain on saved pages and e-book chapters.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Elements whose whole content is dropped: code, styling, and the chrome around the article.
SKIPPED = frozenset(
    {"script", "style", "noscript", "template", "svg", "nav", "header", "footer", "aside", "form", "button",
     "select", "iframe", "object", "canvas", "head"}
)  # fmt: skip
# Void elements never get an end tag, so they must not open a skipped region.
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"})
# Elements that end a line or a paragraph in the text a reader sees.
BLOCKS = frozenset(
    {"p", "div", "section", "article", "main", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt",
     "dd", "table", "tr", "blockquote", "pre", "figure", "figcaption", "title", "body", "hr"}
)  # fmt: skip
BOILERPLATE_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary", "search"})
SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
BLANK_LINES = re.compile(r"\n\s*\n\s*")


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self._skip: list[str] = []  # the stack of open skipped elements
        self._in_title = False

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in VOID:
            if tag in ("br", "hr") and not self._skip:
                self.parts.append("\n")
            return
        role = dict(attrs).get("role") or ""
        if self._skip or tag in SKIPPED or role in BOILERPLATE_ROLES:
            self._skip.append(tag)
            self._in_title = self._in_title or tag == "title"
            return
        if tag == "title":
            self._in_title = True
        if tag in BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if self._skip:
            if tag in self._skip:  # close up to the matching tag: stray or missing end tags are common
                while self._skip and self._skip.pop() != tag:
                    pass
            return
        if tag in BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title.append(data)
        elif not self._skip:
            self.parts.append(data)


def html_to_text(markup: str, title: bool = True) -> str:
    """The visible text of a page: the title first (unless `title` is off), then the body's paragraphs
    separated by blank lines."""
    reader = _Reader()
    reader.feed(markup)
    reader.close()
    heading = " ".join("".join(reader.title).split()) if title else ""
    body = "".join(reader.parts)
    paragraphs = [SPACES.sub(" ", p).strip() for p in BLANK_LINES.split(body)]
    lines = [heading] if heading else []
    lines += ["\n".join(line.strip() for line in p.split("\n") if line.strip()) for p in paragraphs]
    return "\n\n".join(line for line in lines if line)
