"""Keyword lists: what a tenant's literal and regular-expression keywords match, and what
validation refuses."""

from __future__ import annotations

import random
import string
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.policy.keywords import (
    MAX_KEYWORDS,
    MAX_LENGTH,
    MAX_PATTERNS,
    KeywordError,
    KeywordList,
    Matcher,
    matcher,
    validate,
)
from mailgate.policy.normalize import visible

TEN_MB = 10_000_000


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" for c in text)


def literals(*values: str) -> Matcher:
    return Matcher(KeywordList(values))


def patterns(*values: str) -> Matcher:
    return Matcher(KeywordList(values, regex=True))


def test_literals_match_case_insensitively_anywhere_and_name_the_keyword() -> None:
    found = literals("Password", "confidential")
    assert found.first_match("Your PASSWORD is ...") == "Password"
    assert found.first_match("strictly ConFiDenTial") == "confidential"
    assert found.first_match("passwords") == "Password"  # inside words too
    assert found.first_match("pass word") is None


def test_full_width_text_matches_half_width_keywords_and_back() -> None:
    assert literals("password").first_match(f"my {fullwidth('PASSWORD')}!") == "password"
    assert literals(fullwidth("Secret")).first_match("top secret") == fullwidth("Secret")
    # Half-width katakana is the same word as full-width katakana.
    assert literals("パスワード").first_match("\uff8a\uff9f\uff7d\uff9c\uff70\uff84\uff9e") == (
        "パスワード"
    )


def test_full_case_folding_and_white_space_runs() -> None:
    assert literals("Straße").first_match("STRASSE 5") == "Straße"
    assert literals("機密 情報").first_match("社外\n機密 \t\r\n 情報") == "機密 情報"


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\ufeff", "\u180e", "\u202e", "\ufe0f"],
)
def test_characters_that_render_as_nothing_hide_no_keyword(invisible: str) -> None:
    text = f"please w{invisible}ire the money"

    assert literals("wire the money").first_match(text) == "wire the money"
    assert patterns(r"wire\s+the").first_match(text) == r"wire\s+the"


@pytest.mark.parametrize(
    "disguised",
    [
        "l\u043ettery",  # a Cyrillic o
        "LOTT\u0415RY",  # a Cyrillic capital E
        "\u0455\u0430lotteryx",  # Cyrillic s and a glued before it
        "lott\u0435\u200bry",  # a Cyrillic e and a zero-width space
        "\u03bflottery",  # a Greek omicron glued before it
    ],
)
def test_look_alike_letters_of_another_script_inside_a_word_hide_no_keyword(
    disguised: str,
) -> None:
    text = f"You won the {disguised} prize"

    assert literals("lottery").first_match(text) == "lottery"
    assert patterns(r"lottery\s+prize|lotteryx").first_match(text) is not None


def test_words_in_one_script_read_as_written() -> None:
    # Russian and Greek text keeps its meaning: a word all in Cyrillic is not read as Latin
    assert literals("cop").first_match("\u0441\u043e\u0440 \u0438 \u0432\u043e\u0440") is None
    assert literals("почта").first_match("Почта России") == "почта"
    assert literals("ΑΘΗΝΑ").first_match("στην Αθήνα") is None  # accents are kept
    # Japanese next to Latin letters is no mixed word to unmask
    assert literals("パスワード").first_match("新しいパスワードをpasswordに") == "パスワード"
    assert literals("password").first_match("新しいパスワードをpasswordに") == "password"


def test_an_ideographic_variation_selector_hides_no_japanese_keyword() -> None:
    assert literals("葛飾区").first_match("東京都葛\U000e0100飾区") == "葛飾区"
    assert literals("葛飾区").first_match("東京都葛\u3000飾区") is None  # a space is seen


def test_the_first_keyword_in_the_text_wins_and_the_longest_at_one_place() -> None:
    found = literals("beta", "alpha", "alp")
    assert found.first_match("... alpha then beta") == "alpha"
    assert found.first_match("beta, alpha") == "beta"


def test_regular_expressions_are_case_insensitive_on_normalised_text() -> None:
    found = patterns(r"\bproject\s+phoenix\b", r"invoice-\d{6}")
    assert found.first_match("About PROJECT  Phoenix.") == r"\bproject\s+phoenix\b"
    assert found.first_match(f"see {fullwidth('INVOICE-123456')}") == r"invoice-\d{6}"
    assert found.first_match("projectphoenix, invoice-12345") is None


def test_regular_expressions_report_the_first_listed_that_matches() -> None:
    found = patterns("zeta", "alpha")
    assert found.first_match("alpha zeta") == "zeta"


def test_matcher_is_cached_per_keyword_list() -> None:
    one = matcher(KeywordList(("a1", "b2")))
    assert matcher(KeywordList(("a1", "b2"))) is one
    assert matcher(KeywordList(("a1", "b2"), regex=True)) is not one


@pytest.mark.parametrize(
    ("pattern", "sentence"),
    [
        (r"(a)\1", "Keyword 1 uses a back-reference (\\1), which the safe regular-expression"),
        (r"foo(?=bar)", "Keyword 1 uses a look-ahead (?=…)"),
        (r"(?<!x)foo", "Keyword 1 uses a negative look-behind (?<!…)"),
        (r"(?>ab)", "Keyword 1 uses an atomic group (?>…)"),
        (r"a++", "Keyword 1 uses a possessive quantifier ++"),
        (r"end\Z", "Keyword 1 uses \\Z (write \\z for the end of the text)"),
        (r"a{1001}", "Keyword 1 repeats something more than 1000 times: use a smaller count."),
        (r"[abc", "Keyword 1 is not a valid regular expression (missing ]: [abc): correct it."),
        (r"x*", "Keyword 1 matches an empty text, so it would match every message"),
        (r"\pL{20}", "Keyword 1 is too complex a regular expression to run on every message"),
    ],
)
def test_validation_refuses_unsafe_or_broken_patterns_with_a_sentence(
    pattern: str, sentence: str
) -> None:
    with pytest.raises(KeywordError) as refused:
        validate([pattern], regex=True)
    assert str(refused.value).startswith(sentence)
    assert str(refused.value).endswith(".")


def test_validation_limits_and_empty_keywords() -> None:
    assert validate(["ok", "(a+)+$"], regex=True) == ["ok", "(a+)+$"]
    assert validate([r"(a)\1"], regex=False) == [r"(a)\1"]  # a literal is never a pattern
    with pytest.raises(KeywordError, match="Add at least one of the keywords"):
        validate([], regex=False)
    with pytest.raises(KeywordError, match=r"^Keyword 2 is empty: type a word or remove it\.$"):
        validate(["ok", " \t "], regex=False)
    with pytest.raises(KeywordError, match=r"^Keyword 2 is empty"):
        validate(["ok", "\u200b\u00ad"], regex=False)  # nothing a reader sees
    with pytest.raises(KeywordError, match=f"Keyword 1 is {MAX_LENGTH + 1} characters long"):
        validate(["x" * (MAX_LENGTH + 1)], regex=False)
    with pytest.raises(KeywordError, match=f"at most {MAX_KEYWORDS} keywords; this one has"):
        validate([f"k{n}" for n in range(MAX_KEYWORDS + 1)], regex=False)
    with pytest.raises(KeywordError, match=f"at most {MAX_PATTERNS} regular expressions"):
        validate([f"k{n}" for n in range(MAX_PATTERNS + 1)], regex=True)
    with pytest.raises(KeywordError, match="Keyword 2 uses a look-ahead"):
        Matcher(KeywordList(("fine", "(?=x)"), regex=True))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=30), st.text(max_size=50), st.text(max_size=50))
def test_a_literal_is_found_wherever_it_sits(keyword: str, before: str, after: str) -> None:
    if not visible(keyword).split():  # empty to a reader: validation refuses it
        return
    assert literals(keyword).first_match(before + " " + keyword.upper() + " " + after) == keyword


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_searched_without_error(text: str) -> None:
    assert patterns(r"\d{3}-\d{4}", "(a+)+$").first_match(text) in (None, r"\d{3}-\d{4}", "(a+)+$")
    assert literals("x", "日本").first_match(text) in (None, "x", "日本")


def test_hostile_patterns_on_ten_megabytes_stay_fast() -> None:
    hostile = [
        r"(a+)+$x", r"(x|x|x)*y", r"(a|aa)+b", r"(a*)*b", r"(.*a){20}z", r"(\w+\s?)*$!",
        r"\w{50}z", r"(?:a{1,10}){1,10}z", r"[^\s]{40}q", r"(a|a?)+c",
    ]  # fmt: skip
    twenty = patterns(*(f"{p}{n}" for n in range(2) for p in hostile))
    texts = ["a" * TEN_MB, ("あいう漢字" * 2000 + "\n") * 1000, "a " * (TEN_MB // 2)]
    started = time.perf_counter()
    for text in texts:
        assert twenty.first_match(text) is None
    assert time.perf_counter() - started < 5 * len(texts)


def test_a_hundred_literals_on_ten_megabytes_stay_fast() -> None:
    rng = random.Random(7)
    words = [
        "".join(rng.choices(string.ascii_lowercase + "あい", k=rng.randint(5, 30)))
        for _ in range(100)
    ]
    hundred = literals(*words)
    # Text built from prefixes of the keywords visits as many automaton states as it can.
    teasing = "".join(w[: rng.randint(1, len(w) - 1)] for w in rng.choices(words, k=800_000))
    started = time.perf_counter()
    assert hundred.first_match("a" * TEN_MB) is None
    assert hundred.first_match("a" * TEN_MB + words[42]) == words[42]
    assert hundred.first_match(teasing[:TEN_MB]) in words
    assert time.perf_counter() - started < 5


def test_the_largest_literal_list_compiles_and_runs_fast() -> None:
    rng = random.Random(8)
    words = ["".join(rng.choices("abcdef", k=MAX_LENGTH // 2)) for _ in range(MAX_KEYWORDS)]
    largest = literals(*words)
    teasing = "".join(w[: rng.randint(1, len(w) - 1)] for w in rng.choices(words, k=200_000))
    started = time.perf_counter()
    assert largest.first_match(teasing[:TEN_MB]) in (None, *words)
    assert time.perf_counter() - started < 5
