"""Data on its way into the book: every string from a data file reaches MyST, matplotlib and
LaTeX as inert text.

The book renders tables and notes as MyST Markdown (``mystnb: markdown_format: myst``), so a
data string placed there verbatim is parsed as markup: a role (``{download}`...```) copies a
file, a directive adds content, ``<script>`` is raw HTML, ``[x](javascript:...)`` a live link,
``$...$`` math that LaTeX expands (``\\input``). This module is the one road for text:

* :func:`escape` turns every ASCII punctuation character of a string into a numeric character
  reference (``{`` → ``&#123;``). CommonMark decodes such references to literal characters
  *after* parsing, so no markup, role, directive, math, link or raw HTML can be formed from the
  data, and a table cell's ``|`` no longer splits the row. Control characters and line
  separators become spaces (a ``\\r`` in a quoted CSV field cannot end a table row).
* :class:`Markup` marks a string written by the package itself (a field name in code font, a
  citation role) as trusted MyST; :func:`text` escapes everything else.
* :func:`code_block` fences literal text with a fence longer than any run of backticks in it.
* :func:`mathtext` escapes ``$`` for matplotlib, which otherwise parses ``$x^$`` as math and
  fails while drawing.

HTML and LaTeX then receive document text nodes, which Sphinx escapes for both.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["Markup", "escape", "text", "code_block", "mathtext", "DATA_TABLE_CLASS"]

#: Class of every table built from data: the book's extension keeps Sphinx's smart quotes out of
#: them, so a quote, ``--`` or ``...`` in a source or label is printed as typed.
DATA_TABLE_CLASS = "nkreport-data"


class Markup(str):
    """A MyST fragment written by the package (never by a data file): passed through as is."""

    __slots__ = ()


#: Characters that CommonMark, MyST and its extensions can give a meaning (all ASCII
#: punctuation, so any present or future extension is covered).
_PUNCTUATION = frozenset(chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum())
_LINE_BREAKS = {"\u0085", "\u2028", "\u2029"}


def _clean_char(char: str) -> str:
    if char in _PUNCTUATION:
        return f"&#{ord(char)};"
    if char in _LINE_BREAKS or unicodedata.category(char) == "Cc":
        return " "
    return char


def escape(value) -> Markup:
    """``value`` as MyST that renders exactly as its characters, on one line.

    >>> escape("{{ env }} <b>")
    '&#123;&#123; env &#125;&#125; &#60;b&#62;'
    """
    if isinstance(value, Markup):
        return value
    return Markup("".join(_clean_char(c) for c in str(value)))


def text(value) -> Markup:
    """A table cell or caption: trusted :class:`Markup` as is, anything else escaped; empty for
    ``None`` and missing values."""
    if isinstance(value, Markup):
        return Markup(value.replace("\n", " "))
    if value is None:
        return Markup("")
    try:
        import pandas as pd

        if not isinstance(value, str) and pd.isna(value):
            return Markup("")
    except (TypeError, ValueError, ImportError):
        pass
    return escape(value)


def code_block(body: str, language: str = "") -> Markup:
    """``body`` as a fenced code block whose fence no line of ``body`` can close."""
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    language = re.sub(r"[^A-Za-z0-9_+-]", "", language)
    return Markup(f"{fence}{language}\n{body.rstrip()}\n{fence}")


def mathtext(value) -> str:
    """``value`` for a matplotlib text: ``$`` escaped, so it is never parsed as mathtext."""
    return str(value).replace("$", "\\$")
