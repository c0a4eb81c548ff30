"""HTML read as a browser's tokenizer reads it: text and tags, nothing else, in one linear
pass (for documents with too much markup to build their tree; see ``html_text``).

Where a browser and this reading could differ, the reading shows more text, never less: text a
browser shows but a reader of mail would not (the content of ``<title>``, ``<iframe>``,
``<noframes>``, CDATA sections) is text here, tags and all, wherever they stand; and inside
``<svg>``, ``<math>``, ``<select>`` or ``<frameset>`` the content of a script or style is shown
as written.

Known gap: inside ``<svg>``, ``<math>``, ``<select>`` or ``<frameset>`` a browser's tree (which
this does not build) decides whether an element's content is markup or text, and whether
``<![CDATA[`` opens a section or a comment; this reading shows the content of a script, style,
title or CDATA section there as text up to its end, and markup built on the difference can still
hide text.

Not ``html.parser``: it does not follow the browser's reading of attribute quotes and comments
closely enough to be trusted with hiding, and is slower.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Generator, Iterator
from html import unescape
from typing import NamedTuple

_SPACE = "\t\n\f\r "
# A start or end tag: its name, and its attributes as the browser reads them (a quote opens a
# value only just after "="; an unquoted value runs to white space or ">"). Possessive, so that
# a tag with no ">" costs one pass.
_TOKEN = re.compile(
    rf"([^<]++)|<(/?)([a-zA-Z][^{_SPACE}/>]*+)"
    rf"((?:[{_SPACE}/]++|[^{_SPACE}/>][^{_SPACE}/>=]*+"
    rf"""(?:[{_SPACE}]*+=[{_SPACE}]*+(?:"[^"]*+"|'[^']*+'|[^{_SPACE}>]*+))?+)*+)>"""
    "|<"  # a "<" that starts no tag
)
_ATTRIBUTE = re.compile(
    rf"([^{_SPACE}/>][^{_SPACE}/>=]*+)"
    rf"""(?:[{_SPACE}]*+=[{_SPACE}]*+(?:"([^"]*+)"|'([^']*+)'|([^{_SPACE}>]*+)))?+"""
)
_TAG_OPEN = re.compile(r"</?[a-zA-Z]")
_COMMENT_END = re.compile(r"--!?>")
_SCRIPT_MARK = re.compile(rf"<!--|-->|</?script[{_SPACE}/>]", re.IGNORECASE)
_SKIPPED = frozenset({"script", "style"})  # their content is no text
_RAW = frozenset({"xmp", "iframe", "noembed", "noframes"})  # text as written, up to the end tag
_ESCAPED = frozenset({"title", "textarea"})  # text with character references, no tags
# Inside these a browser may not read <script> and <style> as such: in <svg> and <math> they are
# elements like any other (a <b> in them leaves the drawing), in <select> and <frameset> they
# may be ignored. Their content is then shown as it is written, tags and all.
_UNSKIPPED = frozenset({"svg", "math", "select", "frameset"})
_ENDS = {
    name: re.compile(rf"</{name}[{_SPACE}/>]", re.IGNORECASE) for name in _SKIPPED | _RAW | _ESCAPED
}


class Tag(NamedTuple):
    name: str  # lower case
    end: bool
    attributes: str  # as written between the name and ">"

    def attribute(self, name: str) -> str | None:
        """The value of the first attribute so named ("" when it has none), or None."""
        for match in _ATTRIBUTE.finditer(self.attributes):
            if match.group(1).lower() == name:
                return _text(match.group(2) or match.group(3) or match.group(4) or "")
        return None


def tokens(html: str) -> Iterator[str | Tag]:
    """The text (character references decoded) and the tags of ``html``, in order."""
    pos = 0
    inside: Counter[str] = Counter()  # the _UNSKIPPED open, at most
    while pos < len(html):
        for token in _TOKEN.finditer(html, pos):
            text, end, name, attributes = token.group(1, 2, 3, 4)
            if text is not None:
                yield _text(text)
                continue
            lt = token.start()
            if name is None:
                if _TAG_OPEN.match(html, lt):  # a tag with no ">": the rest is inside it
                    return
                pos = yield from _markup(html, lt, cdata=inside["svg"] + inside["math"] > 0)
                break
            found = Tag(name.lower(), end == "/", attributes)
            yield found
            if found.name in _UNSKIPPED and not attributes.endswith("/"):
                inside[found.name] = max(0, inside[found.name] + (-1 if found.end else 1))
            if found.end:
                continue
            if found.name == "plaintext":
                yield html[token.end() :]
                return
            if found.name in _ENDS:
                shown = found.name not in _SKIPPED or any(inside.values())
                pos = yield from _content(html, token.end(), found.name, shown)
                break
        else:
            return


def _content(html: str, pos: int, name: str, shown: bool) -> Generator[str, None, int]:
    """The content of an element read without tags (script, style, title...), as text when
    ``shown``; returns where its end tag (or the document's end) is."""
    if name == "script":
        content_end = _script_end(html, pos)
    else:
        end = _ENDS[name].search(html, pos)
        content_end = len(html) if end is None else end.start()
    if name in _ESCAPED:
        yield _text(html[pos:content_end])
    elif shown:
        yield html[pos:content_end]
    return content_end


def _text(text: str) -> str:
    """Character references read (most text has none to look for)."""
    return unescape(text) if "&" in text else text


def _script_end(html: str, pos: int) -> int:
    """Where the script whose content starts at ``pos`` ends. As in a browser, a "</script>"
    after "<!--<script>" and before "-->" does not end it."""
    escaped = double = False
    while (mark := _SCRIPT_MARK.search(html, pos)) is not None:
        found, pos = mark.group().lower(), mark.start() + 1
        if found == "<!--" and not escaped:
            escaped, pos = True, mark.end()
            dashes = pos
            while html.startswith("-", dashes):
                dashes += 1
            if html.startswith(">", dashes):  # "<!-->" opens and closes at once
                escaped, pos = False, dashes + 1
        elif found == "-->" and escaped:
            escaped = double = False
        elif found.startswith("</"):
            if not double:
                return mark.start()
            double = False
        elif found.startswith("<s") and escaped:
            double = True
    return len(html)


def _markup(html: str, lt: int, cdata: bool) -> Generator[str, None, int]:
    """The text of a "<" that starts no markup, or of a CDATA section (one only in <svg> and
    <math>: elsewhere it is a comment up to its first ">"); returns where what starts at ``lt``
    ends (comments and declarations are dropped)."""
    if cdata and html.startswith("<![CDATA[", lt):
        close = html.find("]]>", lt + 9)
        end = len(html) if close < 0 else close + 3
        yield html[lt + 9 : end - 3 if close >= 0 else end]
        return end
    end = _markup_end(html, lt)
    if end < 0:
        yield "<"
        return lt + 1
    return end


def _markup_end(html: str, lt: int) -> int:
    """Where a comment, declaration or stray end tag at ``lt`` ends (the document's end when
    it is never closed); -1 when the "<" there starts none."""
    after = html[lt + 1 : lt + 2]
    if after == "!":
        if html.startswith("<!--", lt):
            if html.startswith(">", lt + 4) or html.startswith("->", lt + 4):  # <!--> <!--->
                return html.index(">", lt + 4) + 1
            end = _COMMENT_END.search(html, lt + 4)
            return len(html) if end is None else end.end()
    elif after == "/":
        if html.startswith(">", lt + 2):  # "</>" is nothing
            return lt + 3
        if lt + 2 >= len(html):
            return -1
    elif after != "?":
        return -1
    close = html.find(">", lt + 2)
    return len(html) if close < 0 else close + 1
