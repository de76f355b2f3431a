"""Text helpers every ranker and reader of the grounding layer shares: words for ranking, HTML to text.

:func:`tokenize` is the one word splitter of lexical ranking (web search and document stores rank
with the same words); :func:`html_to_text` drops tags, scripts and styles and keeps paragraphs apart.

Example:
    >>> html_to_text("<html><head><title>Tea</title></head>"
    ...              "<body><p>Green <b>tea</b></p><script>x()</script></body></html>")
    ('Tea', 'Green tea')
    >>> tokenize("The cats and THE dog's bowl")
    ['cats', 'dog', 'bowl']
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# Words too common to rank by; short on purpose (a query of only such words still finds nothing).
STOPWORDS = frozenset({"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "in",
                       "is", "it", "its", "of", "on", "or", "that", "the", "their", "this", "to", "was", "were",
                       "will", "with"})
WORD = re.compile(r"\w+")
_HTML_SKIP = frozenset({"script", "style", "noscript", "template", "head"})
_HTML_BLOCK = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article",
                         "header", "footer", "pre", "blockquote", "table", "ul", "ol"})


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in _HTML_SKIP:
            self._skip += 1
        elif tag in _HTML_BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in _HTML_SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _HTML_BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)


def html_to_text(html: str) -> tuple[str, str]:
    """``(title, text)`` of an HTML page: tags, scripts and styles dropped, paragraphs kept apart."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    paragraphs = (" ".join(p.split()) for p in re.split(r"\n\s*\n", "".join(parser.parts)))
    return " ".join(parser.title.split()), "\n\n".join(p for p in paragraphs if p)


def tokenize(text: str) -> list[str]:
    """Lower-cased words for ranking, without the commonest English words and single letters."""
    return [w for w in WORD.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS]


__all__ = ["STOPWORDS", "WORD", "html_to_text", "tokenize"]
