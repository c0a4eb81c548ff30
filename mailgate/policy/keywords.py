r"""Keyword lists of stage-2 conditions: literals or regular expressions, case-insensitive.

Engine: RE2 (``google-re2``), not a backtracking engine with a timeout. RE2 runs in time linear
in the text for every pattern it accepts, so the classic hostile patterns (``(a+)+$``,
``(x|x|x)*y``, ``(.*a){20}``) take milliseconds on 10 MB where Python's ``re`` would run for
years, and no message can turn a tenant's ordinary pattern into a timeout (a timeout would be a
way around the rule). What RE2 cannot run in linear time it refuses to compile
(back-references, look-around, atomic groups, possessive quantifiers): ``validate`` turns those
refusals into sentences. No match ever times out, so there is no timeout exception to handle.

Linear is not yet cheap: a pattern whose automaton explodes (``[ab]*a[ab]{20}c``) makes RE2
simulate it state by state, at about 0.1 µs per byte for each state alive. Measured on 10 MB of
random "ab": 2 s for that pattern, 6 s for ``(?:a|b)*a.{50}`` (404 instructions), 12 s at
800. ``validate`` therefore caps each pattern's compiled size at ``MAX_PROGRAM_SIZE``
instructions, which every pattern a tenant plausibly writes stays far below (``\p{Han}{2,}``
165, an e-mail pattern 28, a card-number pattern 73): the worst a contrived pattern can cost is
bounded by the cap and the message model's bound on decoded text.

Normalisation (the same on keywords and text): characters that render as nothing dropped
(``normalize.visible``); NFKC, so full-width and half-width forms are one (a full-width
"PASSWORD" is "PASSWORD"); last, in a word that mixes Latin letters with Cyrillic or Greek ones,
those read as the Latin letters they imitate (``normalize.unmasked``). Literals are also
case-folded (ß = ss) with runs of white space read as one space, and match anywhere, inside
words too. Regular expressions are matched case-insensitively by RE2 (simple case folding)
against the NFKC text, white space as written.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import re2

from mailgate.policy.normalize import folded, nfkc

MAX_KEYWORDS = 500
MAX_PATTERNS = 50
MAX_LENGTH = 200
MAX_PROGRAM_SIZE = 500  # RE2 instructions: ".{50}" is 404, "\pL{5}" about 6,000
# Room for the automaton of MAX_KEYWORDS literals: at RE2's default 8 MiB a list of 1,000 fell
# back to the slow simulation (75 s on 10 MB); at 64 MiB it stays a DFA (0.02 s).
_LITERALS_MAX_MEM = 64 << 20

# RE2's refusals of what a backtracking engine would accept, in words a tenant admin can act on.
_UNSUPPORTED = (
    ("invalid perl operator: (?=", "a look-ahead (?=…)"),
    ("invalid perl operator: (?!", "a negative look-ahead (?!…)"),
    ("invalid perl operator: (?<=", "a look-behind (?<=…)"),
    ("invalid perl operator: (?<!", "a negative look-behind (?<!…)"),
    ("invalid perl operator: (?>", "an atomic group (?>…)"),
    ("invalid perl operator: (?P=", "a back-reference (?P=name)"),
    ("bad repetition operator: ++", "a possessive quantifier ++"),
    ("bad repetition operator: *+", "a possessive quantifier *+"),
    ("bad repetition operator: ?+", "a possessive quantifier ?+"),
    ("invalid escape sequence: \\Z", "\\Z (write \\z for the end of the text)"),
)
_BACK_REFERENCE = "invalid escape sequence: \\"


class KeywordError(ValueError):
    """A keyword list a tenant cannot save; the message is one sentence saying what to change."""


@dataclass(frozen=True)
class KeywordList:
    values: tuple[str, ...]  # literals, or regular expressions when regex=True
    regex: bool = False


def validate(values: list[str], regex: bool) -> list[str]:
    """The list unchanged when a rule may hold it; else KeywordError with the first problem."""
    limit, kind = (MAX_PATTERNS, "regular expressions") if regex else (MAX_KEYWORDS, "keywords")
    if not values:
        raise KeywordError(f"Add at least one of the {kind} to look for.")
    if len(values) > limit:
        raise KeywordError(f"A list holds at most {limit} {kind}; this one has {len(values)}.")
    for number, value in enumerate(values, 1):
        if not _literal(value):
            raise KeywordError(f"Keyword {number} is empty: type a word or remove it.")
        if len(value) > MAX_LENGTH:
            raise KeywordError(
                f"Keyword {number} is {len(value)} characters long; the limit is {MAX_LENGTH}."
            )
        if regex:
            _compile_pattern(number, value)
    return values


class Matcher:
    """A keyword list compiled once, then run against many texts."""

    def __init__(self, keywords: KeywordList) -> None:
        validate(list(keywords.values), keywords.regex)
        self._regex = keywords.regex
        self._patterns: list[tuple[str, re2._Regexp]] = []
        self._keyword_of: dict[bytes, str] = {}
        if keywords.regex:
            for number, value in enumerate(keywords.values, 1):
                self._patterns.append((value, _compile_pattern(number, value)))
            return
        for value in keywords.values:
            self._keyword_of.setdefault(_literal(value).encode(), value)
        # One automaton for the whole list (Aho-Corasick-like); leftmost-longest picks the
        # most specific keyword where several start at the same place.
        self._literals = re2.compile(
            b"|".join(re2.escape(literal) for literal in self._keyword_of),
            _options(case_sensitive=True, longest_match=True, max_mem=_LITERALS_MAX_MEM),
        )

    def first_match(self, text: str) -> str | None:
        """The keyword, as the tenant wrote it, that matched the text; None when none did.

        Literals: the one found first in the text (the longest where several start there).
        Regular expressions: the first in the list's order that matches anywhere.
        """
        if self._regex:
            data = _nfkc_bytes(text)
            return next((value for value, p in self._patterns if p.search(data) is not None), None)
        found = self._literals.search(_literal_bytes(text))
        return None if found is None else self._keyword_of[found.group()]


@functools.lru_cache(maxsize=1024)
def matcher(keywords: KeywordList) -> Matcher:
    """The compiled Matcher of a list, shared by every message a rule set sees."""
    return Matcher(keywords)


def _literal(value: str) -> str:
    return " ".join(folded(value).split())


# A message's texts are read by every rule of a tenant: each is normalised once, not per list.
@functools.lru_cache(maxsize=16)
def _literal_bytes(text: str) -> bytes:
    return _literal(text).encode()


@functools.lru_cache(maxsize=16)
def _nfkc_bytes(text: str) -> bytes:
    return nfkc(text).encode()


def _options(**settings: object) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True  # group spans would need RE2's slow engines
    options.log_errors = False
    for name, setting in settings.items():
        setattr(options, name, setting)
    return options


def _compile_pattern(number: int, value: str) -> re2._Regexp:
    try:
        pattern = re2.compile(nfkc(value).encode(), _options())
    except re2.error as exc:
        raise KeywordError(_refusal(number, _reason(exc))) from None
    if pattern.programsize > MAX_PROGRAM_SIZE:
        raise KeywordError(
            f"Keyword {number} is too complex a regular expression to run on every message: "
            "use fewer or smaller repetitions ({n}) and Unicode classes (\\p…)."
        )
    if pattern.search(b"") is not None:
        raise KeywordError(
            f"Keyword {number} matches an empty text, so it would match every message: "
            "make it require at least one character."
        )
    return pattern


def _reason(exc: re2.error) -> str:
    reason = exc.args[0] if exc.args else ""
    return reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)


def _refusal(number: int, reason: str) -> str:
    for prefix, construct in _UNSUPPORTED:
        if reason.startswith(prefix):
            return (
                f"Keyword {number} uses {construct}, which the safe regular-expression engine "
                "does not support: rewrite the pattern without it."
            )
    if reason.startswith(_BACK_REFERENCE) and reason[len(_BACK_REFERENCE) :][:1].isdigit():
        return (
            f"Keyword {number} uses a back-reference ({reason[len(_BACK_REFERENCE) - 1 :]}), "
            "which the safe regular-expression engine does not support: "
            "rewrite the pattern without it."
        )
    if reason.startswith("invalid repetition size"):
        return f"Keyword {number} repeats something more than 1000 times: use a smaller count."
    if reason.startswith("pattern too large"):
        return f"Keyword {number} is too large a regular expression: shorten it."
    return f"Keyword {number} is not a valid regular expression ({reason}): correct it."
