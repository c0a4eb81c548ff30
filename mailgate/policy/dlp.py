"""DLP templates: sensitive numbers and addresses, validated so that false alarms stay rare.

Each template is a candidate pattern of fixed, bounded shape (so Python's ``re`` runs it in linear
time: every repetition is bounded and candidates start only where the previous character cannot
continue them) and a validator in Python: check digits, prefixes, numbering-plan rules.
A candidate must stand alone: not glued to letters or digits, nor joined to them by ``-``, ``.``
or ``/`` ("INV-03-1234-5678", "3.141592653589" and "2024/0312345678" are not numbers of ours).

The text is NFKC-normalised first (full-width digits are ASCII digits), and the dashes Japanese
text puts between digits (hyphen, minus sign, en and em dash, the katakana long-vowel mark) read
as "-". Matches are returned as they read after
that normalisation, once each (a card quoted three times in a reply chain is one card), in the
order they first appear. Text that only leading or trailing white space sets apart from another
(the HTML version of a plain-text body, often) is read once: no match starts or ends in it.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterator, Mapping
from enum import StrEnum

import re2
from stdnum import iban, luhn
from stdnum.jp import in_ as my_number

from mailgate.catalog import Label
from mailgate.policy.normalize import nfkc


class DlpTemplate(StrEnum):
    CREDIT_CARD = "credit_card"
    MY_NUMBER = "my_number"
    IBAN = "iban"
    EMAIL = "email"
    PHONE_JP = "phone_jp"
    PHONE_US = "phone_us"


LABELS: Mapping[DlpTemplate, Label] = {
    DlpTemplate.CREDIT_CARD: Label("Credit card number", "クレジットカード番号"),
    DlpTemplate.MY_NUMBER: Label(
        "My Number (Japanese individual number)", "マイナンバー (個人番号)"
    ),
    DlpTemplate.IBAN: Label("IBAN (international bank account number)", "IBAN (国際銀行口座番号)"),
    DlpTemplate.EMAIL: Label("Email address", "メールアドレス"),
    DlpTemplate.PHONE_JP: Label("Phone number (Japan)", "電話番号 (日本)"),
    DlpTemplate.PHONE_US: Label("Phone number (US)", "電話番号 (米国)"),
}

_DASHES = re.compile("[\u2010-\u2015\u2212\u30fc]")

# Not glued to a word, nor joined to one by "-", "." or "/": what may not come before a match.
_WORD = "[A-Za-z0-9_]"
_GLUED = (_WORD, _WORD + "[-./]")
_END = rf"(?!{_WORD})(?![-./]{_WORD})"


# A number of fixed length is not the middle of a longer space-grouped one either
# ("3704 0044 0532" inside an IBAN is no My Number). Card numbers do without: "4111 1111 1111
# 1111 12/25" is a card and its expiry date.
_IN_GROUPS = r"\d "
_UNGROUPED_END = r"(?! \d)"


def _isolated(body: str, grouped: bool = True, opens_with: str = "") -> re.Pattern[str]:
    """``opens_with``: the one-character class every match opens with; ``body`` is then what
    follows it. The pattern starts with that class, so the regex engine skips to the places a
    match can open instead of trying the look-behinds at every character (a third of the time
    on text full of numbers); the look-behinds look back past the opening character."""
    before = _GLUED if grouped else (*_GLUED, _IN_GROUPS)
    start = opens_with + "".join(f"(?<!{text}{opens_with})" for text in before)
    return re.compile(start + body + ("" if grouped else _UNGROUPED_END) + _END, re.ASCII)


# 13-19 digits unbroken; or groups of 4 with one separator (last group 1-4, a 19-digit card ends
# in a group of 3); or American Express / Diners 4-6-5 / 4-6-4 (each less its opening digit).
_CARD = _isolated(
    r"(?:\d{12,18}"
    r"|\d{3}(?P<s>[ -])\d{4}(?P=s)\d{4}(?P=s)\d{1,4}(?:(?P=s)\d{3})?"
    r"|\d{3}(?P<t>[ -])\d{6}(?P=t)\d{4,5})",
    opens_with=r"\d",
)
# Issuer prefixes (IIN ranges) with the lengths each network issues.
_CARD_NETWORKS: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),
    (300, 305, frozenset({14, 16, 17, 18, 19})),  # Diners Club
    (36, 36, frozenset({14, 16, 17, 18, 19})),
    (38, 39, frozenset({16, 17, 18, 19})),
    (3528, 3589, frozenset({16, 17, 18, 19})),  # JCB
    (6011, 6011, frozenset({16, 17, 18, 19})),  # Discover
    (644, 649, frozenset({16, 17, 18, 19})),
    (65, 65, frozenset({16, 17, 18, 19})),
    (62, 62, frozenset({16, 17, 18, 19})),  # UnionPay
)

_MY_NUMBER = _isolated(
    r"(?:\d{11}|\d{3}(?P<s>[ -])\d{4}(?P=s)\d{4})", grouped=False, opens_with=r"\d"
)

# Country code, check digits, then the account: unbroken, or in groups of four (last 1-4).
_IBAN = _isolated(
    r"[A-Z]\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}(?![A-Z0-9])){2,7}(?: [A-Z0-9]{1,3})?)",
    opens_with="[A-Z]",
)

_BASE36 = {
    ord(char): str(value) for value, char in enumerate(string.digits + string.ascii_uppercase)
}

# Starts only where a run of local-part characters starts, so a long run without "@" is read
# once, not once per character.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])(?P<local>[A-Za-z0-9._%+-]{1,64})@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,10}"
    r"(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59}))"
    r"(?![A-Za-z0-9-]|\.[A-Za-z0-9])",
    re.ASCII,
)

# Japan: 0 + 9 digits (landline), 0 + 10 (mobile 070/080/090, IP 050, 0800), 0120/0570 + 6;
# written with one separator ("-" or " "), parentheses around the area or local code, or
# unbroken (mobile and +81 only); internationally +81 with the leading 0 dropped.
_PHONE_JP = _isolated(
    r"(?:(?P<intl>\+81[ -]?)|(?<!\+))(?:"
    r"\((?P<pa>0?\d{1,4})\) ?(?P<pb>\d{1,4})-(?P<pc>\d{3,4})"
    r"|(?P<qa>0?\d{1,4})\((?P<qb>\d{1,4})\)(?P<qc>\d{3,4})"
    r"|(?P<a>0?\d{1,4})(?P<s>[ -])(?P<b>\d{1,4})(?P=s)(?P<c>\d{3,4})"
    r"|(?P<d>0?\d{9,10}))",
    grouped=False,
)
_MOBILE_JP = ("070", "080", "090", "050")

# North American Numbering Plan: NXX-NXX-XXXX, optionally +1 / 1 first.
_PHONE_US = _isolated(
    r"(?:\+?1[ .-]?)?"
    r"(?:\((?P<pa>\d{3})\) ?(?P<pb>\d{3})-(?P<pc>\d{4})"
    r"|(?P<a>\d{3})(?P<s>[ .-])(?P<b>\d{3})(?P=s)(?P<c>\d{4}))",
    grouped=False,
)
_PHONE_US_INTL = _isolated(r"\+1(?P<a>\d{3})(?P<b>\d{3})(?P<c>\d{4})", grouped=False)


def find(template: DlpTemplate, *texts: str, limit: int = 1000) -> list[str]:
    """The validated matches of a template in the texts, in order, each once (a card in both
    the plain and the HTML version of a message is one card), at most limit."""
    found: dict[str, str] = {}  # canonical form -> first spelling
    for normalized in dict.fromkeys(map(_normalized, texts)):  # the same text is read once
        if template not in _shapes_in(normalized):
            continue
        for canonical, spelling in _FINDERS[template](normalized):
            if len(found) >= limit:
                return list(found.values())
            found.setdefault(canonical, spelling)
    return list(found.values())


# One message's texts, read by every template and rule: each is stripped and normalised once,
# and the same object is handed back, its hash already known when the texts are compared.
@functools.lru_cache(maxsize=16)
def _normalized(text: str) -> str:
    text = text.strip()
    if text.isascii():  # nothing to fold, and every dash to unify is outside ASCII
        return text
    return _DASHES.sub("-", nfkc(text))


@functools.lru_cache(maxsize=16)
def _shapes_in(text: str) -> frozenset[DlpTemplate]:
    """The templates whose shape the text holds, found for all of them in one pass."""
    found = _SHAPES.Match(text.encode("utf-8", "surrogatepass")) or ()  # None: no shape
    return frozenset(_SHAPE_TEMPLATES[index] for index in found)


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def _credit_cards(text: str) -> Iterator[tuple[str, str]]:
    for match in _CARD.finditer(text):
        number = _digits(match.group())
        if _card_network_issues(number) and luhn.is_valid(number):
            yield number, match.group()


def _card_network_issues(number: str) -> bool:
    return any(
        len(number) in lengths and low <= int(number[: len(str(low))]) <= high
        for low, high, lengths in _CARD_NETWORKS
    )


def _my_numbers(text: str) -> Iterator[tuple[str, str]]:
    for match in _MY_NUMBER.finditer(text):
        number = _digits(match.group())
        if len(set(number)) > 1 and my_number.is_valid(number):
            yield number, match.group()


def _ibans(text: str) -> Iterator[tuple[str, str]]:
    for match in _IBAN.finditer(text):
        written = match.group()
        candidates = [written]
        head, _, last = written.rpartition(" ")
        if head and last.isalpha():  # perhaps a word that followed the IBAN ("… 00 ATM")
            candidates.append(head)
        for candidate in candidates:
            compact = candidate.replace(" ", "")
            if _iban_checksum_holds(compact) and iban.is_valid(compact):
                yield compact, candidate
                break


def _iban_checksum_holds(compact: str) -> bool:
    """ISO 7064 mod 97-10 alone: 1 µs where stdnum's full check (country, structure, national
    check digits) takes 10, so text full of IBAN-shaped words stays cheap."""
    return int((compact[4:] + compact[:4]).translate(_BASE36)) % 97 == 1


def _emails(text: str) -> Iterator[tuple[str, str]]:
    for match in _EMAIL.finditer(text):
        local, domain = match.group("local"), match.group("domain")
        if local.startswith(".") or local.endswith(".") or ".." in local or len(domain) > 253:
            continue
        yield f"{local}@{domain.lower()}", match.group()


def _phones_jp(text: str) -> Iterator[tuple[str, str]]:
    for match in _PHONE_JP.finditer(text):
        groups = _groups(match, ("pa", "pb", "pc"), ("qa", "qb", "qc"), ("a", "b", "c"), ("d",))
        international = match.group("intl") is not None
        if international:
            if groups[0].startswith("0"):
                continue
            groups = ("0" + groups[0], *groups[1:])
        if _jp_number_plan(groups, international):
            yield "".join(groups), match.group()


def _jp_number_plan(groups: tuple[str, ...], international: bool) -> bool:
    number = "".join(groups)
    if not number.startswith("0") or number[1] == "0":
        return False
    mobile = number[:3] in _MOBILE_JP or number.startswith("0800")
    if len(groups) == 1:
        # Unbroken, only a mobile number or a +81 one: a bare 0 and 9 digits is as often an
        # order or account number.
        return len(number) == 11 if mobile else international and len(number) == 10
    area, local, subscriber = groups
    if area in _MOBILE_JP:
        return len(local) == 4 and len(subscriber) == 4
    if area in ("0120", "0570"):
        return len(local) == 3 and len(subscriber) == 3
    if area == "0800":
        return len(local) == 3 and len(subscriber) == 4
    # Landline: area code and local exchange make 6 digits with the 0, then 4 digits.
    return len(area) >= 2 and len(area) + len(local) == 6 and len(subscriber) == 4


def _phones_us(text: str) -> Iterator[tuple[str, str]]:
    matches = sorted(
        [*_PHONE_US.finditer(text), *_PHONE_US_INTL.finditer(text)], key=lambda m: m.start()
    )
    for match in matches:
        area, exchange, line = _groups(match, ("pa", "pb", "pc"), ("a", "b", "c"))
        if _nanp(area, exchange, line):
            yield area + exchange + line, match.group()


def _nanp(area: str, exchange: str, line: str) -> bool:
    """NPA and NXX start 2-9 and are not N11 service codes; NPA N9X is reserved; 555-01XX is
    set aside for fiction."""
    for code in (area, exchange):
        if code[0] in "01" or code[1:] == "11":
            return False
    return area[1] != "9" and not (exchange == "555" and line.startswith("01"))


def _groups(match: re.Match[str], *alternatives: tuple[str, ...]) -> tuple[str, ...]:
    """The digit groups of whichever alternative of a pattern matched."""
    found = match.groupdict()
    names = next(names for names in alternatives if found.get(names[0]) is not None)
    return tuple(found[name] for name in names)


_FINDERS: Mapping[DlpTemplate, Callable[[str], Iterator[tuple[str, str]]]] = {
    DlpTemplate.CREDIT_CARD: _credit_cards,
    DlpTemplate.MY_NUMBER: _my_numbers,
    DlpTemplate.IBAN: _ibans,
    DlpTemplate.EMAIL: _emails,
    DlpTemplate.PHONE_JP: _phones_jp,
    DlpTemplate.PHONE_US: _phones_us,
}


# The least every match of a template holds, without the look-arounds and back-references that
# keep Python's engine from skipping text: RE2 rules a text out in one linear pass (most mail
# holds no card number), before the exact pattern tries each digit of it.
_SHAPE_PATTERNS: Mapping[DlpTemplate, str] = {
    DlpTemplate.CREDIT_CARD: r"\d{13}|\d{4}[ -]\d{4}[ -]\d{4}[ -]\d|\d{4}[ -]\d{6}[ -]\d{4}",
    DlpTemplate.MY_NUMBER: r"\d{12}|\d{4}[ -]\d{4}[ -]\d{4}",
    DlpTemplate.IBAN: r"[A-Z]\d{2}(?:[A-Z0-9]{11}| [A-Z0-9]{4} [A-Z0-9]{4})",
    DlpTemplate.EMAIL: r"[A-Za-z0-9._%+-]@[A-Za-z0-9]",
    DlpTemplate.PHONE_JP: r"\(\d|\d\(\d|\d[ -]\d{1,4}[ -]\d{3}|\d{9}",
    DlpTemplate.PHONE_US: r"\(\d{3}\) ?\d{3}-\d{4}|\d{3}[ .-]\d{3}[ .-]\d{4}|\+1\d{10}",
}
_SHAPE_TEMPLATES = tuple(_SHAPE_PATTERNS)


def _shape_set() -> re2.Set:
    """All the shapes in one automaton: a text's pass tells which templates may match in it."""
    shapes = re2.Set.SearchSet()
    for pattern in _SHAPE_PATTERNS.values():
        shapes.Add(pattern.encode())
    shapes.Compile()
    return shapes


_SHAPES = _shape_set()
