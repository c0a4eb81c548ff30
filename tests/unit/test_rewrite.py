"""The modify actions' rewrites: what a recipient sees changes as the rule says, everything
else of the message stays byte for byte, and no input makes them raise."""

from __future__ import annotations

import time
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from functions.scan.evidence.mime import parse
from functions.scan.rewrite import insert_stamp, prepend_fields, strip_attachments, tag_subject
from tests.support.fixtures import eml


def lines_without(raw: bytes, prefix: bytes) -> list[bytes]:
    return [line for line in raw.split(b"\r\n") if not line.startswith(prefix)]


def test_an_ascii_tag_prefixes_the_subject_and_nothing_else_changes() -> None:
    raw = eml("forwarded")

    tagged = tag_subject(raw, "[SPAM]")

    assert parse(tagged).subject == "[SPAM] Fwd: report"
    assert b"\r\nSubject: [SPAM] Fwd: report\r\n" in tagged
    assert lines_without(tagged, b"Subject: [SPAM] Fwd") == lines_without(raw, b"Subject: Fwd")
    assert parse(tagged).attachments == parse(raw).attachments  # the forwarded one's subject kept


def test_a_subject_already_tagged_is_not_tagged_twice() -> None:
    once = tag_subject(eml("forwarded"), "[SPAM]")

    assert tag_subject(once, "[SPAM]") == once


def test_a_japanese_tag_is_encoded_before_a_japanese_subject_kept_as_written() -> None:
    raw = eml("iso2022jp")

    tagged = tag_subject(raw, "【迷惑】")

    assert parse(tagged).subject == "【迷惑】 会議の件"
    assert b"=?UTF-8?B?" in tagged and b"=?iso-2022-jp?b?GyRCMnE1RCRON28bKEI=?=" in tagged
    assert tagged.isascii()
    assert parse(tagged).text == parse(raw).text


def test_a_japanese_tag_before_a_plain_subject_keeps_one_space() -> None:
    tagged = tag_subject(b"Subject: hello\r\n\r\nbody\r\n", "【迷惑】")

    assert parse(tagged).subject == "【迷惑】 hello"


def test_a_long_subject_is_folded_after_the_tag() -> None:
    subject = b"word " * 20
    tagged = tag_subject(b"Subject: " + subject.strip() + b"\r\n\r\nbody\r\n", "[SUSPICIOUS]")

    assert tagged.startswith(b"Subject: [SUSPICIOUS]\r\n word word")
    assert parse(tagged).subject == "[SUSPICIOUS] " + subject.decode().strip()


def test_a_message_without_subject_gets_one() -> None:
    tagged = tag_subject(b"From: a@example.com\r\n\r\nbody\r\n", "[SPAM]")

    assert tagged == b"From: a@example.com\r\nSubject: [SPAM]\r\n\r\nbody\r\n"
    assert parse(tag_subject(b"", "[SPAM]")).subject == "[SPAM]"


def test_a_stamp_is_appended_to_a_plain_body() -> None:
    stamped = insert_stamp(b"Subject: hi\r\n\r\nHello.\r\n", "Scanned by mailgate")

    assert stamped == b"Subject: hi\r\n\r\nHello.\r\n\r\nScanned by mailgate\r\n"


def test_a_stamp_is_escaped_before_the_end_of_an_html_body() -> None:
    raw = eml("html_only")

    stamped = insert_stamp(raw, "Checked <ok> & clean")

    message = parse(stamped)
    assert message.html_text.endswith("Click here.\n\nChecked <ok> & clean")
    assert b"Checked <ok>" not in stamped
    assert stamped.rstrip().endswith(b"</body></html>")


def test_both_alternatives_are_stamped() -> None:
    message = EmailMessage()
    message["Subject"] = "alt"
    message.set_content("plain body\n")
    message.add_alternative("<html><body><p>html body</p></body></html>\n", subtype="html")

    stamped = parse(insert_stamp(message.as_bytes(), "External sender"))

    assert stamped.text == "plain body\n\nExternal sender\n"
    assert stamped.html_text == "html body\n\nExternal sender"


def test_a_japanese_stamp_stays_in_an_iso_2022_jp_body() -> None:
    raw = eml("iso2022jp")

    stamped = insert_stamp(raw, "外部からのメールです")

    assert parse(stamped).text == "明日の会議は10時からです。\n\n外部からのメールです\n"
    assert stamped.startswith(raw.rstrip(b"\r\n"))  # appended: the body before it is unchanged
    assert b"charset=ISO-2022-JP" in stamped


def test_a_stamp_the_charset_cannot_say_turns_the_body_into_utf8() -> None:
    raw = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nHello.\r\n"

    stamped = insert_stamp(raw, "外部からのメールです")

    assert parse(stamped).text == "Hello.\n\n外部からのメールです\n"
    assert b'charset="utf-8"' in stamped
    assert b"Content-Transfer-Encoding: quoted-printable" in stamped
    assert stamped.isascii()


def test_a_base64_body_stays_base64() -> None:
    stamped = insert_stamp(eml("shift_jis"), "確認済み")

    assert parse(stamped).text == "請求書を送付します。\n\n確認済み\n"
    assert b"Content-Transfer-Encoding: base64" in stamped


def test_the_body_of_a_forwarded_message_is_not_stamped() -> None:
    stamped = parse(insert_stamp(eml("forwarded"), "STAMP"))

    assert stamped.text == "See the forwarded message.\n\nSTAMP\n\nNumbers attached."


def test_a_stripped_attachment_is_replaced_by_the_notice_and_the_rest_is_kept() -> None:
    raw = eml("forwarded")
    (attachment,) = parse(raw).attachments

    stripped = strip_attachments(raw, {attachment.index}, "四半期.txt was removed")

    message = parse(stripped)
    assert message.attachments == ()
    assert message.text.endswith("Numbers attached.\n四半期.txt was removed")
    head, _, _ = raw.partition(b"Content-Type: application/octet-stream")
    assert stripped.startswith(head)
    assert stripped.endswith(b"\r\n--inner--\r\n--outer--\r\n")


def test_only_the_chosen_attachments_are_stripped() -> None:
    message = EmailMessage()
    message.set_content("Body.\n")
    message.add_attachment(b"one", "application", "octet-stream", filename="one.bin")
    message.add_attachment(b"two", "application", "octet-stream", filename="two.bin")
    first, second = parse(message.as_bytes()).attachments

    stripped = parse(strip_attachments(message.as_bytes(), {first.index}, "removed"))

    assert [a.name for a in stripped.attachments] == ["two.bin"]
    assert stripped.attachments[0].sha256 == second.sha256
    assert stripped.text == "Body.\n\nremoved"


def test_a_message_that_is_one_attachment_keeps_its_headers() -> None:
    raw = (
        b"From: a@example.com\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: application/pdf; name=inv.pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b"\r\nJVBERi0xLjQK\r\n"
    )

    stripped = strip_attachments(raw, {0}, "inv.pdf was removed")

    message = parse(stripped)
    assert (message.subject, message.from_[0].address) == ("invoice", "a@example.com")
    assert (message.attachments, message.text) == ((), "inv.pdf was removed\n")
    assert b"application/pdf" not in stripped


def test_body_parts_and_unknown_indexes_are_not_stripped() -> None:
    raw = eml("forwarded")

    assert strip_attachments(raw, {0, 1, 99}, "removed") == raw


def test_rewrites_of_a_hostile_message_take_bounded_time() -> None:
    deep = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(10_000)
    )
    wide = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n" + b"".join(
        b"--b\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(100_000)
    )
    for raw in (deep, wide, b"Subject: " + b"A" * 1_000_000 + b"\r\n\r\nbody\r\n"):
        started = time.process_time()
        stamped = insert_stamp(raw, "STAMP")
        stripped = strip_attachments(raw, set(range(2000)), "removed")
        tagged = tag_subject(raw, "[SPAM]")
        assert time.process_time() - started < 1.5
        assert len(stamped) >= len(raw) and b"Subject: [SPAM]" in tagged[:100]
        assert parse(stripped).attachments == ()  # the part too deep to open included


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.text(max_size=20))
def test_rewrites_never_raise(raw: bytes, text: str) -> None:
    for rewritten in (
        tag_subject(raw, text),
        insert_stamp(raw, text),
        strip_attachments(raw, {0, 1, 2}, text),
        prepend_fields(raw, [("Authentication-Results", f"{text}; none")]),
    ):
        assert isinstance(rewritten, bytes)


def test_trace_fields_go_on_top_in_the_message_s_line_breaks_and_replace_a_forged_one() -> None:
    raw = (
        b"Authentication-Results: MX.us.example; dkim=pass\n"
        b"Authentication-Results: other.example; spf=fail\n"
        b"Subject: hi\n\nbody\n"
    )

    added = prepend_fields(raw, [("Authentication-Results", "mx.us.example;\r\n\tspf=fail")])

    assert added == (
        b"Authentication-Results: mx.us.example;\n\tspf=fail\n"
        b"Authentication-Results: other.example; spf=fail\n"
        b"Subject: hi\n\nbody\n"
    )
