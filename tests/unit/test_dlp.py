"""DLP templates: true positives as people write them, and the near misses that must not count."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn
from stdnum.jp import in_ as my_number

from mailgate.catalog import Label
from mailgate.policy import dlp
from mailgate.policy.dlp import LABELS, DlpTemplate, find

TEN_MB = 10_000_000


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" for c in text)


def test_every_template_has_english_and_japanese_labels() -> None:
    assert set(LABELS) == set(DlpTemplate)
    assert all(isinstance(label, Label) and label.en and label.ja for label in LABELS.values())
    assert LABELS[DlpTemplate.MY_NUMBER].text("ja") == "マイナンバー (個人番号)"


@pytest.mark.parametrize(
    ("template", "text", "expected"),
    [
        (DlpTemplate.CREDIT_CARD, "Visa 4111 1111 1111 1111 exp 12/25", ["4111 1111 1111 1111"]),
        (DlpTemplate.CREDIT_CARD, "card:5555-5555-5555-4444.", ["5555-5555-5555-4444"]),
        (DlpTemplate.CREDIT_CARD, "Amex 3782 822463 10005", ["3782 822463 10005"]),
        (DlpTemplate.CREDIT_CARD, "JCB 3530111333300000", ["3530111333300000"]),
        (DlpTemplate.MY_NUMBER, "個人番号 1234 5678 9018 です", ["1234 5678 9018"]),
        (DlpTemplate.MY_NUMBER, "マイナンバー:123456789018", ["123456789018"]),
        (DlpTemplate.IBAN, "IBAN DE89 3704 0044 0532 0130 00 ATM", ["DE89 3704 0044 0532 0130 00"]),
        (DlpTemplate.IBAN, "to GB29NWBK60161331926819.", ["GB29NWBK60161331926819"]),
        (DlpTemplate.IBAN, "BE71 0961 2345 6769 THEN", ["BE71 0961 2345 6769"]),
        (DlpTemplate.EMAIL, "mail <Bob.Smith+x@Example.co.jp>.", ["Bob.Smith+x@Example.co.jp"]),
        (DlpTemplate.PHONE_JP, "電話03-1234-5678まで", ["03-1234-5678"]),
        (DlpTemplate.PHONE_JP, "携帯 090 1234 5678", ["090 1234 5678"]),
        (DlpTemplate.PHONE_JP, "(06) 1234-5678 / 0466(12)3456", ["(06) 1234-5678", "0466(12)3456"]),
        (DlpTemplate.PHONE_JP, "+81 3-1234-5678, +8190-1111-2222",
         ["+81 3-1234-5678", "+8190-1111-2222"]),
        (DlpTemplate.PHONE_JP, "0120-123-456 or 09012345678", ["0120-123-456", "09012345678"]),
        (DlpTemplate.PHONE_US, "call (212) 555-1234 or 415.555.2671",
         ["(212) 555-1234", "415.555.2671"]),
        (DlpTemplate.PHONE_US, "+1 415-555-2672, +14155552673",
         ["+1 415-555-2672", "+14155552673"]),
    ],
)  # fmt: skip
def test_true_positives(template: DlpTemplate, text: str, expected: list[str]) -> None:
    assert find(template, text) == expected


@pytest.mark.parametrize(
    ("template", "text"),
    [
        (DlpTemplate.CREDIT_CARD, "4111 1111 1111 1112"),  # Luhn fails
        (DlpTemplate.CREDIT_CARD, "order 8427 1930 5561 2088"),  # Luhn passes, no network starts 8
        (DlpTemplate.CREDIT_CARD, "ORD-4111111111111111"),  # part of an identifier
        (DlpTemplate.CREDIT_CARD, "4111-1111 1111-1111"),  # mixed separators
        (DlpTemplate.CREDIT_CARD, "3782 822463 100055"),  # Amex layout, wrong length
        (DlpTemplate.CREDIT_CARD, "2024-01-15 10:30 4111"),  # a date and a time
        (DlpTemplate.MY_NUMBER, "123456789012"),  # check digit wrong
        (DlpTemplate.MY_NUMBER, "000000000000"),  # check digit right, not a number anyone has
        (DlpTemplate.MY_NUMBER, "4111 1111 1111 1111"),  # the first 12 of a card
        (DlpTemplate.MY_NUMBER, "1234567890180"),  # 13 digits
        (DlpTemplate.MY_NUMBER, "3.123456789018"),  # decimals
        (DlpTemplate.IBAN, "DE89 3704 0044 0532 0130 01"),  # one digit changed
        (DlpTemplate.IBAN, "DE89370400440532013001"),
        (DlpTemplate.IBAN, "BE68 5390 0754 7034"),  # mod 97 right, Belgian check wrong
        (DlpTemplate.IBAN, "de89370400440532013000x"),
        (DlpTemplate.EMAIL, "cid:image001.png@01D9A1B2.C3D4E5F0"),  # numeric TLD
        (DlpTemplate.EMAIL, "x..y@example.com .x@example.com user@localhost"),
        (DlpTemplate.EMAIL, "@example.com and bob@ and bob@-bad-.com"),
        (DlpTemplate.PHONE_JP, "INV-03-1234-5678"),  # invoice number
        (DlpTemplate.PHONE_JP, "2023-03-1234-5678"),
        (DlpTemplate.PHONE_JP, "03-1234-56789 and 090-1234-567"),  # wrong lengths
        (DlpTemplate.PHONE_JP, "0120-1234-5678 and 12-3456-7890"),
        (DlpTemplate.PHONE_JP, "0312345678"),  # a bare 10-digit number is an order number as often
        (DlpTemplate.PHONE_JP, "03-12-2024 and 2024-03-12"),  # dates
        (DlpTemplate.PHONE_JP, "03 1234 5678 9012"),  # part of a longer grouped number
        (DlpTemplate.PHONE_US, "123-456-7890"),  # area code starts with 1
        (DlpTemplate.PHONE_US, "212-911-1234 and 911-555-1234"),  # N11 codes
        (DlpTemplate.PHONE_US, "293-555-1234"),  # N9X area codes are reserved
        (DlpTemplate.PHONE_US, "212-555-0123"),  # fictional 555-01XX
        (DlpTemplate.PHONE_US, "212-555.1234 and 2125551234 and 12-25-2024"),
        (DlpTemplate.PHONE_US, "PO 212-555-1234-99"),
    ],
)  # fmt: skip
def test_near_misses_do_not_match(template: DlpTemplate, text: str) -> None:
    assert find(template, text) == []


def test_full_width_digits_and_japanese_dashes_are_read() -> None:
    card = fullwidth("4111-1111-1111-1111").replace("\uff0d", "\u2212")
    assert find(DlpTemplate.CREDIT_CARD, f"カード番号:{card}") == ["4111-1111-1111-1111"]
    phone = fullwidth("090") + "ー" + fullwidth("1234") + "ー" + fullwidth("5678")
    assert find(DlpTemplate.PHONE_JP, f"携帯{phone}です") == ["090-1234-5678"]
    assert find(DlpTemplate.MY_NUMBER, fullwidth("123456789018")) == ["123456789018"]


def test_characters_that_render_as_nothing_hide_no_number() -> None:
    text = "card 4111\u200b1111\u200b1111\u200b1111, or 5555\u00ad-5555-\u2060" + "5555-4444"

    assert find(DlpTemplate.CREDIT_CARD, text) == ["4111111111111111", "5555-5555-5555-4444"]


def test_look_alike_letters_hide_no_account_number() -> None:
    # A Cyrillic capital E and a Greek capital Beta in the country codes
    text = "IBAN D\u041589 3704 0044 0532 0130 00, then \u0392E71 0961 2345 6769"

    assert find(DlpTemplate.IBAN, text) == ["DE89 3704 0044 0532 0130 00", "BE71 0961 2345 6769"]


def test_each_number_counts_once_in_order_and_limit_caps() -> None:
    text = "4111 1111 1111 1111, 5555555555554444, 4111-1111-1111-1111, 378282246310005"
    assert find(DlpTemplate.CREDIT_CARD, text) == [
        "4111 1111 1111 1111",
        "5555555555554444",
        "378282246310005",
    ]
    first_two = ["4111 1111 1111 1111", "5555555555554444"]
    assert find(DlpTemplate.CREDIT_CARD, text, limit=2) == first_two
    assert find(DlpTemplate.PHONE_JP, "03-1234-5678 / +81 3 1234 5678") == ["03-1234-5678"]


def test_a_number_in_several_texts_counts_once_and_the_limit_spans_them() -> None:
    plain = "Card 4111 1111 1111 1111, please.\n"
    html = " Card 4111 1111 1111 1111, please. "  # the HTML version of the same body
    attached = "5555555555554444 and 4111 1111 1111 1111"
    found = find(DlpTemplate.CREDIT_CARD, plain, html, attached)
    assert found == ["4111 1111 1111 1111", "5555555555554444"]
    assert find(DlpTemplate.CREDIT_CARD, plain, html, attached, limit=1) == found[:1]
    assert find(DlpTemplate.CREDIT_CARD, "", " ", "\n") == []


def card_number(prefix: str, length: int, body: str) -> str:
    partial = (prefix + body)[: length - 1]
    return partial + luhn.calc_check_digit(partial)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([("4", 16), ("4", 13), ("51", 16), ("2221", 16), ("37", 15), ("3530", 16),
                     ("6011", 19), ("36", 14)]),
    st.text("0123456789", min_size=18, max_size=18),
    st.sampled_from(["", " ", "-"]),
)  # fmt: skip
def test_generated_valid_card_numbers_are_always_found(
    network: tuple[str, int], body: str, separator: str
) -> None:
    number = card_number(*network, body)
    groups = [number[i : i + 4] for i in range(0, len(number), 4)]
    if len(number) in (14, 15):
        groups = [number[:4], number[4:10], number[10:]]
    written = separator.join(groups)
    assert find(DlpTemplate.CREDIT_CARD, f"Card: {written}, thanks") == [written]


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789", min_size=15, max_size=15), st.integers(1, 9))
def test_a_wrong_check_digit_is_never_a_card(body: str, shift: int) -> None:
    valid = card_number("4", 16, body)
    wrong = valid[:-1] + str((int(valid[-1]) + shift) % 10)
    assert find(DlpTemplate.CREDIT_CARD, wrong) == []


@settings(max_examples=300, deadline=None)
@given(st.text("0123456789", min_size=11, max_size=11), st.integers(1, 9))
def test_my_number_check_digit_decides(body: str, shift: int) -> None:
    digit = my_number.calc_check_digit(body)
    wrong = str((int(digit) + shift) % 10)
    if len(set(body + digit)) > 1:
        assert find(DlpTemplate.MY_NUMBER, f"番号 {body}{digit}") == [body + digit]
    assert find(DlpTemplate.MY_NUMBER, f"番号 {body}{wrong}") == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_searched_without_error(text: str) -> None:
    for template in DlpTemplate:
        assert isinstance(find(template, text), list)


CANDIDATE_PATTERNS = {
    DlpTemplate.CREDIT_CARD: [dlp._CARD],
    DlpTemplate.MY_NUMBER: [dlp._MY_NUMBER],
    DlpTemplate.IBAN: [dlp._IBAN],
    DlpTemplate.EMAIL: [dlp._EMAIL],
    DlpTemplate.PHONE_JP: [dlp._PHONE_JP],
    DlpTemplate.PHONE_US: [dlp._PHONE_US, dlp._PHONE_US_INTL],
}
PIECES = ["1234", "5678", "901", "0", "9", " ", "-", ".", "(", ")", "+1", "+81", "DE89", "GB"]
PIECES += ["NWBK", "@", "a", "x.jp", "/", "\n"]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_no_text_with_a_candidate_is_passed_over(text: str) -> None:
    """The quick look that passes over texts (most mail holds no card number) never passes
    over one where the exact pattern would find a candidate."""
    assert set(CANDIDATE_PATTERNS) == set(DlpTemplate)
    for template, patterns in CANDIDATE_PATTERNS.items():
        if any(pattern.search(text) for pattern in patterns):
            assert template in dlp._shapes_in(text), (template, text)


@pytest.mark.parametrize(
    "hostile",
    [
        "1" * TEN_MB,
        "0 " * (TEN_MB // 2),
        "03-" * (TEN_MB // 3),
        "a@" * (TEN_MB // 2),
        "a." * (TEN_MB // 2),
        "a" * TEN_MB,
        "AB12 " * (TEN_MB // 5),
        fullwidth("090") + "ー" * (TEN_MB // 4),
    ],
    ids=["digits", "spaced", "dashed", "at", "dots", "letters", "iban-like", "japanese"],
)
def test_ten_megabytes_of_hostile_text_stay_bounded(hostile: str) -> None:
    started = time.perf_counter()
    for template in DlpTemplate:
        find(template, hostile)
    assert time.perf_counter() - started < 5 * len(DlpTemplate)


def test_ten_megabytes_of_numbers_find_what_they_hold_fast() -> None:
    rng = random.Random(5)
    noise = "".join(rng.choices("0123456789 -()+@.aZ", k=TEN_MB))
    started = time.perf_counter()
    found = find(DlpTemplate.CREDIT_CARD, noise + " 4111 1111 1111 1111", limit=100_000)
    assert "4111 1111 1111 1111" in found
    assert time.perf_counter() - started < 5
