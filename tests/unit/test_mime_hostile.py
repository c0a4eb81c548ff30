"""Hostile messages: whatever the bytes, parse() gives a Message within about a second and
says in a sentence which bound it hit, never an exception."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from functions.scan.evidence.mime import Limits, Message, model, parse

SECOND = 1.0


def timed(build: Callable[[], bytes]) -> Message:
    raw = build()
    started = time.process_time()
    message = parse(raw)
    assert time.process_time() - started < SECOND
    return message


def with_attachment(data: bytes, filename: str) -> bytes:
    message = EmailMessage()
    message["Subject"] = "Attached"
    message.set_content("See attached.\n")
    message.add_attachment(data, "application", "octet-stream", filename=filename)
    return message.as_bytes()


def zipped(files: dict[str, bytes], level: int = 6) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_ten_thousand_nested_multiparts_stop_at_the_depth_bound() -> None:
    def build() -> bytes:
        levels = b"".join(
            b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
            for i in range(10_000)
        )
        return b"Subject: deep\r\n" + levels + b"Content-Type: text/plain\r\n\r\nbottom\r\n"

    message = timed(build)

    assert message.subject == "deep"
    (unopened,) = message.attachments  # the part at the bound, kept whole for rules to see
    assert unopened.declared_type == "multipart/mixed"
    assert message.text == ""
    assert message.exclusions == (
        "MIME parts nested deeper than 20 levels: the deeper parts were not inspected",
    )


def test_a_hundred_thousand_parts_stop_at_the_part_bound() -> None:
    def build() -> bytes:
        parts = b"".join(
            b"--b\r\nContent-Type: application/octet-stream\r\n\r\npart %d\r\n" % i
            for i in range(100_000)
        )
        return b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + parts + b"--b--\r\n"

    message = timed(build)

    assert len(message.attachments) == 999  # the message itself is the first of 1,000 parts
    assert message.attachments[-1].sha256 != ""
    assert message.exclusions == ("more than 1,000 MIME parts: the rest were not inspected",)


def test_a_one_megabyte_header_line_is_cut_and_the_body_still_read() -> None:
    message = timed(
        lambda: b"From: a@example.com\r\nX-Junk: " + b"A" * 1_000_000 + b"\r\n\r\nthe body\r\n"
    )

    assert message.from_[0].address == "a@example.com"
    assert message.text == "the body\n"
    assert len(message.header_values("X-Junk")[0]) < 256 * 1024
    assert message.exclusions == (
        "a header section longer than 256 KiB: the rest of it was not read",
    )


def test_a_huge_address_list_is_read_in_bounded_time() -> None:
    message = timed(lambda: b"To: " + b"a@example.com, " * 16_000 + b"\r\n\r\nhi\r\n")

    assert len(message.to) == 16_000


def test_broken_rfc2047_words_give_their_best_effort_text() -> None:
    message = parse(
        b"Subject: =?UTF-8?B?!!!?= =?no-such-charset?Q?caf=E9?= =?base64?B?aGk=?= "
        b"=?UTF-8?Q?half-open\r\n"
        b"From: =?UTF-8?B?5bGx?= <a@example.com>\r\n\r\nbody\r\n"
    )

    assert message.subject == "caf\ufffdhi =?UTF-8?Q?half-open"
    assert message.from_[0].name == "山"


def test_a_multipart_without_a_boundary_is_read_as_text() -> None:
    message = parse(b"Content-Type: multipart/mixed\r\n\r\njust text\r\n")

    assert message.text == "just text\n"


def test_a_multipart_without_its_closing_delimiter_keeps_its_last_part() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nfirst\r\n"
        b"--x\r\nContent-Type: text/plain; charset=bogus-charset\r\n\r\nsecond \xff\r\n"
    )

    assert parse(raw).text == "first\nsecond \ufffd\n"


def test_8bit_junk_and_a_body_without_headers() -> None:
    assert parse(b"\xff\xfe\x00garbage without any header\r\n").text.endswith("header\n")
    assert parse(b"Subject: \xe4\xbd\xa0\xff\r\n\r\n").subject == "\u4f60\ufffd"  # UTF-8
    assert parse(b"").exclusions == ()


def test_a_zip_bomb_of_nested_archives_is_listed_only_to_the_archive_depth_bound() -> None:
    def build() -> bytes:
        archive = zipped({"zeros.bin": bytes(1024 * 1024)}, level=9)
        for level in range(6):  # six levels of ten archives each, as 42.zip nests sixteen
            archive = zipped({f"l{level}-{i}.zip": archive for i in range(10)}, level=9)
        return with_attachment(archive, "42.zip")

    message = timed(build)

    (attachment,) = message.attachments
    assert attachment.true_extension == "zip"
    assert len(attachment.archive_entries) == 10_000  # 10 + 100 + 1,000 + the first 8,890
    assert set(message.exclusions) == {
        "archives nested deeper than 3 levels in '42.zip': the deeper ones were not listed",
        "more than 10,000 archive entries: the rest were not listed",
    }


def test_an_entry_that_expands_a_thousand_times_is_not_opened() -> None:
    bomb = zipped({"inner.zip": zipped({"x": b"1"}) + bytes(20 * 1024 * 1024)}, level=9)

    message = timed(lambda: with_attachment(bomb, "bomb.zip"))

    (attachment,) = message.attachments
    assert [entry.name for entry in attachment.archive_entries] == ["inner.zip"]
    (sentence,) = message.exclusions
    assert sentence.startswith("the archive entry 'inner.zip' of 'bomb.zip' would expand ")
    assert sentence.endswith("bytes): its content was not inspected")


def test_archive_entries_stop_at_their_bound() -> None:
    archive = zipped({f"f{i}.txt": b"x" for i in range(20)})

    message = parse(with_attachment(archive, "many.zip"), Limits(max_archive_entries=5))

    assert len(message.attachments[0].archive_entries) == 5
    assert message.exclusions == ("more than 5 archive entries: the rest were not listed",)


def test_parts_past_the_decoded_bound_are_listed_without_their_content() -> None:
    message = parse(with_attachment(b"x" * 5000, "big.bin"), Limits(max_decoded_bytes=4000))

    (attachment,) = message.attachments
    assert (attachment.name, attachment.sha256) == ("big.bin", "")
    assert attachment.size > 4000
    assert message.exclusions == (
        "more than 4,000 bytes of decoded content: the rest was not inspected",
    )


def test_body_text_stops_at_its_bound() -> None:
    message = parse(b"\r\n" + b"word " * 100, Limits(max_text_chars=12))

    assert message.text == "word word wo"
    assert message.exclusions == ("more than 12 characters of body text: the rest was not read",)


def test_white_space_padding_pushes_no_word_of_the_body_out_of_its_bound() -> None:
    padded = b"\r\n" + b"word" + b" \t" * 500 + b"\r\n" * 500 + b"wire money"

    message = parse(padded, Limits(max_text_chars=20))

    assert message.text == "word \n\nwire money"
    assert message.exclusions == ()


def test_html_over_its_bound_is_cut_as_written() -> None:
    html = b"<a b=\xc2\xa0\"x>wire<c d='y'>" + b" " * 50
    raw = b"Content-Type: text/html; charset=utf-8\r\n\r\n" + html

    message = parse(raw, Limits(max_html_chars=45))

    assert message.html_text == "wire"  # the no-break space stayed: no quote opened
    assert message.exclusions == ("more than 45 characters of HTML body: the rest was not read",)


def test_html_text_over_its_bound_is_cut_when_read() -> None:
    raw = b"Content-Type: text/html\r\n\r\n<p>" + b"word " * 100 + b"</p>"

    message = parse(raw, Limits(max_text_chars=12))

    assert message.html_text == "word word wo"
    assert message.html.exclusions == (
        "more than 12 characters of HTML text: the rest was not read",
    )


def test_html_the_reader_fails_on_flows_uninspected_with_a_sentence(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(html: str, document: object, limit: int) -> tuple[str, bool]:
        raise RuntimeError("reader fault")

    monkeypatch.setattr(model, "text_of", broken)
    message = parse(b"Content-Type: text/html\r\n\r\n<p>wire money</p>")

    assert message.html_text == ""
    assert message.html.exclusions == (
        "the HTML body could not be read: its text was not inspected",
    )


MIME_TOKENS = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=b\r\n",
        b"Content-Type: message/rfc822\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Transfer-Encoding: quoted-printable\r\n",
        b"Content-Disposition: attachment; filename*0*=utf-8''%E6; filename*1=x\r\n",
        b"Subject: =?ISO-2022-JP?B?GyRCJUYbKEI=?=\r\n",
        b"--b\r\n",
        b"--b--\r\n",
        b"\r\n",
        b" folded\r\n",
        b"PK\x05\x06" + b"\xff" * 18,
        b"=?x?q?=ZZ?=",
        b"\xff\xfe\x00",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(MIME_TOKENS, st.binary(max_size=40)), max_size=40))
def test_any_bytes_give_a_message(chunks: list[bytes]) -> None:
    raw = b"".join(chunks)

    message = parse(raw)

    assert message.size == len(raw)
    assert all(a.index >= 0 for a in message.attachments)
