"""The links of a message: URLs in the plain and HTML text and the HTML links' targets with
the text they show, de-obfuscated (``hxxp``, ``[.]``, percent-encoded, IDN and numeric hosts,
``user@host`` tricks) into one normal form. Bounded: at most ``MAX_LINKS`` links."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

import re2
from selectolax.lexbor import LexborHTMLParser

from functions.scan.evidence.mime.html_tokens import tokens
from functions.scan.evidence.mime.model import Message

MAX_LINKS = 200
MAX_URL = 2000  # characters of a URL kept for the event
MAX_SHOWN = 300  # characters of a link's text read
MAX_HOST_TEXT = 1000

_DEFANGED = [
    (re.compile(r"\bhxxp(s?)\b", re.IGNORECASE), r"http\1"),
    (re.compile(r"\bh\*\*p(s?)\b", re.IGNORECASE), r"http\1"),
    (re.compile(r"\s?[\[({]\s*(?:\.|dot)\s*[\])}]\s?", re.IGNORECASE), "."),
    (re.compile(r"\[:\]|\(:\)"), ":"),
    (re.compile(r"\[://\]"), "://"),
]
# Not preceded by an ASCII letter or digit: a URL right after Japanese text ("詳細はhttps://…")
# is one, where a Unicode word boundary (\b) would see none.
_URL = re.compile(r"(?<![A-Za-z0-9])(?:(?:https?|ftp)://|www\.)[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_TRAILING = ".,;:!?)]}'\"\u300b\u300d\u300f\uff09\u3002\u3001"  # and CJK closing marks
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$")
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]+|\d+)(?:\.(?:0x[0-9a-f]+|\d+)){0,3}$")
# Link text that shows an address: a URL, or nothing but a host name (and a path).
_SHOWN_HOST = re.compile(
    r"^\s*(?:(?:https?|ftp)://)?(?:[^\s/@]+@)?([a-z0-9.-]+\.[a-z][a-z0-9-]{1,62})\.?(?::\d+)?"
    r"(?:[/?#]\S*)?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Link:
    url: str  # normal form: scheme://host[:port]/path?query
    host: str  # lower-case ASCII host name (IDNA), or an IP address
    ip: bool  # the host is an IP address
    shown: str = ""  # an HTML link's text ("" for a URL found in text)


# What any of the obfuscations needs (a superset: no word boundaries), found in one pass of
# RE2's automaton, thirty times faster than the standard library's five: most text has none,
# and is not rewritten. White space as Python's str.isspace has it (RE2's \s is ASCII).
_SPACE = r"[\s\x0b\x1c-\x1f\x{85}\pZ]*"
_MAYBE_DEFANGED = re2.compile(
    rf"(?i)hxxp|h\*\*p|[\[({{]{_SPACE}(?:\.|dot){_SPACE}[\])}}]|\[:\]|\(:\)|\[://\]"
)


def defang(text: str) -> str:
    """Undo the usual obfuscations of a written URL (``hxxp://evil[.]test``)."""
    if _MAYBE_DEFANGED.search(text) is None:
        return text
    for pattern, replacement in _DEFANGED:
        text = pattern.sub(replacement, text)
    return text


def normalize(url: str, shown: str = "") -> Link | None:
    """The link's normal form, or None when it is no web address (``mailto:``, garbage)."""
    url = url.strip()
    # Printable text holds no white space but " " (str.isprintable): one test for most URLs.
    if url.isprintable():
        url = url.replace(" ", "")
    else:
        url = "".join(ch for ch in url if ch.isprintable() and not ch.isspace())
    if url.lower().startswith("www."):
        url = "http://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ftp"):
        return None
    # The host is what follows the last "@": "https://bank.example@evil.test/" goes to evil.test.
    host_text = unquote(parts.netloc.rpartition("@")[2])
    host_text = host_text.rsplit(":", 1)[0] if port is not None else host_text
    host = _host(host_text)
    if host is None:
        return None
    address, is_ip = host
    where = f"[{address}]" if ":" in address else address
    if port is not None:
        where += f":{port}"
    rest = parts.path or "/"
    if parts.query:
        rest += "?" + parts.query
    return Link(f"{scheme}://{where}{rest}"[:MAX_URL], address, is_ip, shown[:MAX_SHOWN])


def _host(text: str) -> tuple[str, bool] | None:
    # No host is longer than 253 characters (with brackets, padding and escapes undone, a few
    # more): longer text is none, and is not remembered, so hostile links cannot fill memory.
    return _host_of(text) if len(text) <= MAX_HOST_TEXT else None


@lru_cache(maxsize=4096)  # a message's links share a few hosts, and messages share them too
def _host_of(text: str) -> tuple[str, bool] | None:
    text = text.strip().strip("[]").rstrip(".").lower()
    if not text:
        return None
    if ":" in text or text[-1].isdigit():  # an IPv4 address ends in a digit, IPv6 has ":"
        try:
            return str(ipaddress.ip_address(text)), True
        except ValueError:
            pass
    if _NUMERIC_HOST.match(text):  # 3232235777, 0xC0A80101, 0300.0250.1.1: inet_aton forms
        number = _inet_aton(text)
        return (str(ipaddress.IPv4Address(number)), True) if number is not None else None
    if text.isascii():  # IDNA leaves ASCII labels as they are; _HOST checks their lengths
        ascii_host = text
    else:
        try:
            ascii_host = text.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    return (ascii_host, False) if _HOST.match(ascii_host) else None


def _inet_aton(text: str) -> int | None:
    try:
        values = [_number(part) for part in text.split(".")]
    except ValueError:
        return None
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 256 ** (4 - len(leading)):
        return None
    number = 0
    for value in leading:
        number = number * 256 + value
    return number * 256 ** (4 - len(leading)) + last


def _number(part: str) -> int:
    if part.startswith("0x"):
        return int(part, 16)
    return int(part, 8) if part.startswith("0") and len(part) > 1 else int(part)


def in_text(text: str) -> list[str]:
    """The URLs written in ``text``, de-obfuscated. One with other than ASCII characters is
    also read up to the first of them, before it is read whole: Japanese text often goes on
    right after a URL ("https://evil.example/をご覧ください"), and a host name may hold such
    characters too (IDN)."""
    text = defang(text)
    if "://" not in text and "www." not in text.lower():  # most text: no scan at all
        return []
    found = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        other = _NON_ASCII.search(url)
        if other is not None and (ascii_part := url[: other.start()].rstrip(_TRAILING)):
            found.append(ascii_part)  # first: what the event shows when both are listed
        found.append(url)
    return found


def shown_host(text: str) -> str:
    """The host a link's text shows as its address, or "" when the text is no address."""
    match = _SHOWN_HOST.match(defang(text))
    if match is None:
        return ""
    host = _host(match.group(1))
    return host[0] if host is not None else ""


def _anchors(html: str, document: LexborHTMLParser | None) -> list[tuple[str, str]]:
    """<a href> and <area href> with the text they show; <form action>. ``document``: the tree
    of ``html``, None when it has too much markup for one."""
    if document is None:
        return _anchors_by_tokens(html)
    found: list[tuple[str, str]] = []
    for node in document.css("a[href], area[href], form[action]"):
        target = node.attributes.get("action" if node.tag == "form" else "href")
        if target:
            shown = " ".join(node.text(separator="").split()) if node.tag == "a" else ""
            found.append((target, shown[:MAX_SHOWN]))
        if len(found) >= MAX_LINKS:
            break
    return found


def _anchors_by_tokens(html: str) -> list[tuple[str, str]]:
    """The same from the tokens of a document with too much markup for a tree."""
    found: list[tuple[str, str]] = []
    href = ""  # the open <a href>
    shown: str | None = None  # its text so far

    def close() -> None:
        if shown is not None:
            found.append((href, shown.rstrip()[:MAX_SHOWN]))

    for token in tokens(html):
        if len(found) >= MAX_LINKS:
            break
        if isinstance(token, str):
            if shown is not None and len(shown) <= MAX_SHOWN:
                # White space read as one space as it comes: the bound counts what a reader
                # sees, so padding cannot push the address the link shows out of it.
                shown = " ".join((shown + token).split()) + " " * token[-1:].isspace()
        elif token.name == "a" and (token.end or token.attribute("href")):
            close()
            href, shown = ("", None) if token.end else (token.attribute("href") or "", "")
        elif not token.end and token.name in ("area", "form"):
            target = token.attribute("href" if token.name == "area" else "action")
            if target:
                found.append((target, ""))
    close()
    return found


def links(message: Message) -> list[Link]:
    """Every distinct link of the message (by URL and shown text), HTML links first."""
    found: dict[tuple[str, str], Link] = {}

    written: set[tuple[str, str]] = set()  # a link written again (a logo, a footer) is read once

    def add(url: str, shown: str = "") -> None:
        if (url, shown) in written:
            return
        written.add((url, shown))
        link = normalize(url, shown)
        if link is not None:
            found.setdefault((link.url, link.shown), link)

    for html, document in zip(message.html.bodies, message.html.trees, strict=True):
        for href, shown in _anchors(html, document):
            add(href, shown)
            if len(found) >= MAX_LINKS:
                return list(found.values())
    for text in (message.subject, message.text, message.html_text):
        for url in in_text(text):
            add(url)
            if len(found) >= MAX_LINKS:
                return list(found.values())
    return list(found.values())
