"""The text a reader sees in HTML: no scripts, styles or markup; bounded in and out.

Read from the tree a browser builds (lexbor, through selectolax), so no markup trick hides text
that a reader sees. Building it takes time that grows faster than the square of the nesting
depth (a document 40,000 elements deep takes seconds), so a document with more than
``MAX_TREE_TAGS`` tags is read instead by ``html_tokens``, in one linear pass.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from selectolax.lexbor import LexborHTMLParser

from functions.scan.evidence.mime.html_tokens import Tag, tokens

MAX_TREE_TAGS = 10_000  # a 10,000-deep document takes 50 ms to build; legitimate mail has less
_HIDDEN = ["script", "style"]
_BREAKS = frozenset(
    {"br", "p", "div", "li", "tr", "td", "th", "table", "ul", "ol", "blockquote", "pre", "hr"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "section"}
)


def _by_first_letter(names: Iterable[str]) -> str:
    """An alternation of ``names`` grouped by their first letter ("b(?:lockquote|r)|d(?:iv)"):
    the regular expression engine tries a group only after its letter, not every name at every
    "<" (a third faster on a newsletter's 1,500 tags)."""
    groups = itertools.groupby(sorted(names), key=lambda name: name[0])
    return "|".join(
        f"{first}(?:{'|'.join(sorted((n[1:] for n in group), key=len, reverse=True))})"
        for first, group in groups
    )


_BLOCK_TAG_START = re.compile(
    rf"<(?=/?(?:{_by_first_letter(_BREAKS)})[\t\n\f\r />])", re.IGNORECASE
)
# White space other than " " and line breaks (what str.isspace says, a test checks), looked for
# with str's own search: a regular expression tests each character's Unicode category, five
# times slower.
ODD_SPACES = "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B)))
ODD_SPACES += "\u2028\u2029\u202f\u205f\u3000"
_SPACE_RUNS = re.compile("  +")
_BLANK_LINES = re.compile(r"\n\s*\n+")


def html_text(html: str, limit: int, max_tree_tags: int = MAX_TREE_TAGS) -> tuple[str, bool]:
    """The visible text of `html`, at most `limit` characters, and whether it was cut."""
    return text_of(html, tree(html, max_tree_tags), limit)


def text_of(html: str, document: LexborHTMLParser | None, limit: int) -> tuple[str, bool]:
    """The same from the tree already built of ``html`` (None: read it by tokens)."""
    if document is None:
        text = token_text(html, limit)
    else:
        text = document.root.text(separator="") if document.root is not None else ""
    text = squeezed(text).strip()
    return text[:limit], len(text) > limit


def squeezed(text: str) -> str:
    """Each run of white space within a line as one space, each run of blank lines as one."""
    text = _BLANK_LINES.sub("\n\n", text)
    if any(space in text for space in ODD_SPACES):
        return _one_space(text)
    return _SPACE_RUNS.sub(" ", text) if "  " in text else text


def tree(html: str, max_tree_tags: int = MAX_TREE_TAGS) -> LexborHTMLParser | None:
    """The tree a browser builds of ``html``, without scripts and styles, a line break before
    each block's start and end tag; None when it has more than ``max_tree_tags`` tags.

    The line breaks are written into the markup: one before a "<" changes no text but the one
    between tags, and only where a browser breaks the line too."""
    if html.count("<") > max_tree_tags:
        return None
    document = LexborHTMLParser(_BLOCK_TAG_START.sub("\n<", html))
    document.strip_tags(_HIDDEN)
    return document


def token_text(html: str, limit: int) -> str:
    """The text by tokens, a line break at each block's start and end tag; all of it, or more
    than ``limit`` characters that are no white space (so padding cannot push words out)."""
    chunks: list[str] = []
    ink = 0
    for token in tokens(html):
        text = token if not isinstance(token, Tag) else "\n" if token.name in _BREAKS else ""
        chunks.append(text)
        ink += len("".join(text.split()))
        if ink > limit:
            break
    return "".join(chunks)


def _one_space(text: str) -> str:
    """Every run of white space other than a line break as one " ". Line by line with str's
    own split, twice as fast as a regular expression that stops at every space."""
    lines = []
    for line in text.split("\n"):
        words = line.split()
        if not words:
            lines.append(" " if line else "")
            continue
        before = " " if line[0].isspace() else ""
        after = " " if line[-1].isspace() else ""
        lines.append(before + " ".join(words) + after)
    return "\n".join(lines)
