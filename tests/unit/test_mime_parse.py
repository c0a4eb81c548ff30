"""The message model stage 2's rules read: addresses, subject and bodies decoded as a reader
sees them, and each attachment's name, hash, true type, archive listing, password protection
and active content."""

from __future__ import annotations

import hashlib
import html
import io
import re
import struct
import sys
import zipfile
from email.message import EmailMessage
from email.utils import getaddresses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msoffcrypto.format.ooxml import OOXMLFile

from functions.scan.evidence.mime import ArchiveEntry, Attachment, Mailbox, parse
from functions.scan.evidence.mime.html_text import ODD_SPACES, html_text
from functions.scan.evidence.mime.parse import _name_address_pairs
from tests.support.fixtures import eml

# The start of a Windows executable: the MZ header and the DOS stub.
EXE = (
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"
    + b"\x00" * 44
    + (b"\x80\x00\x00\x00This program cannot be run in DOS mode.\r\r\n$" + b"\x00" * 64)
)
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)


def with_attachment(data: bytes, filename: str, mime: str = "application/octet-stream") -> bytes:
    message = EmailMessage()
    message["From"] = "sender@example.com"
    message["To"] = "rcpt@example.org"
    message["Subject"] = "Attached"
    message.set_content("See attached.\n")
    maintype, subtype = mime.split("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def only_attachment(raw: bytes) -> Attachment:
    (attachment,) = parse(raw).attachments
    return attachment


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def flag_encrypted(archive: bytes, name: str) -> bytes:
    """The zip with `name` marked encrypted (general purpose flag bit 0), in both headers."""
    data = bytearray(archive)
    for signature, flags_at, name_len_at, name_at in ((b"PK\x03\x04", 6, 26, 30),
                                                      (b"PK\x01\x02", 8, 28, 46)):  # fmt: skip
        pos = data.find(signature)
        while pos >= 0:
            (name_len,) = struct.unpack_from("<H", data, pos + name_len_at)
            if data[pos + name_at : pos + name_at + name_len] == name.encode():
                data[pos + flags_at] |= 1
            pos = data.find(signature, pos + 4)
    return bytes(data)


def test_display_names_are_decoded_and_every_from_is_kept() -> None:
    message = parse(eml("addresses"))

    assert message.from_ == (
        Mailbox("山田 太郎", "taro@example.jp"),
        Mailbox("", "bob@example.com"),
    )
    assert [m.shown() for m in message.from_] == ["山田 太郎 <taro@example.jp>", "bob@example.com"]
    assert message.reply_to == (Mailbox("André", "andre@example.fr"),)


def test_addresses_without_angle_brackets_and_quoted_names_with_commas() -> None:
    message = parse(eml("addresses"))

    assert message.to == (
        Mailbox("", "alice@example.org"),
        Mailbox("Doe, Jane", "jane@example.org"),
    )


def test_a_group_gives_its_members_and_an_empty_group_its_name() -> None:
    assert parse(eml("addresses")).cc == (
        Mailbox("", "carol@example.net"),
        Mailbox("", "dave@example.net"),
    )
    empty = parse(b"To: undisclosed-recipients:;\r\n\r\nhi\r\n")
    assert empty.to == (Mailbox("undisclosed-recipients", ""),)
    assert empty.to[0].shown() == "undisclosed-recipients"


def test_headers_are_decoded_and_found_whatever_their_case() -> None:
    message = parse(eml("addresses"))

    assert message.header_values("reply-to") == ["André <andre@example.fr>"]
    assert message.header_values("MESSAGE-ID") == ["<addr-1@example.jp>"]
    assert message.header_values("X-Absent") == []
    assert message.message_id == "<addr-1@example.jp>"
    assert message.date == "Mon, 30 Nov 2026 09:00:00 +0900"


def test_a_japanese_iso_2022_jp_subject_and_body() -> None:
    message = parse(eml("iso2022jp"))

    assert message.subject == "会議の件"
    assert message.text == "明日の会議は10時からです。\n"
    assert message.attachments == ()


def test_a_shift_jis_body_in_base64() -> None:
    message = parse(eml("shift_jis"))

    assert message.subject == "請求書"
    assert message.text == "請求書を送付します。\n"


def test_an_html_only_body_gives_its_visible_text_without_scripts_or_styles() -> None:
    message = parse(eml("html_only"))

    assert message.text == ""
    assert message.html_text == "Your invoice is € 42 & due\n\nClick here."


def test_a_forwarded_message_is_opened_and_its_attachment_has_its_rfc2231_name() -> None:
    message = parse(eml("forwarded"))

    assert message.subject == "Fwd: report"  # the outer message's, not the forwarded one's
    assert message.text == "See the forwarded message.\nNumbers attached."
    (attachment,) = message.attachments
    assert attachment.index == 2  # leaves: outer text, inner text, inner attachment
    assert attachment.name == "四半期.txt"
    assert attachment.size == len(b"quarterly numbers\n")
    assert attachment.sha256 == hashlib.sha256(b"quarterly numbers\n").hexdigest()


def test_an_executable_named_txt_shows_its_true_type() -> None:
    attachment = only_attachment(with_attachment(EXE, "invoice.txt", "text/plain"))

    assert attachment.name == "invoice.txt"
    assert attachment.declared_type == "text/plain"
    assert attachment.true_extension == "exe"
    assert attachment.sha256 == hashlib.sha256(EXE).hexdigest()
    assert attachment.size == len(EXE)


def test_a_zip_lists_its_entries_and_an_encrypted_one_makes_it_password_protected() -> None:
    archive = flag_encrypted(zipped({"readme.txt": b"hi", "secret.pdf": b"%PDF"}), "secret.pdf")

    attachment = only_attachment(with_attachment(archive, "files.zip"))

    assert attachment.true_extension == "zip"
    assert attachment.archive_entries == (
        ArchiveEntry("readme.txt", 2, encrypted=False),
        ArchiveEntry("secret.pdf", 4, encrypted=True),
    )
    assert attachment.password_protected
    plain = only_attachment(with_attachment(zipped({"readme.txt": b"hi"}), "files.zip"))
    assert not plain.password_protected


def test_a_zip_inside_a_zip_is_listed_with_its_path() -> None:
    inner = zipped({"payload.js": b"WScript.Echo(1)"})
    attachment = only_attachment(with_attachment(zipped({"inner.zip": inner}), "outer.zip"))

    assert [entry.name for entry in attachment.archive_entries] == [
        "inner.zip",
        "inner.zip/payload.js",
    ]
    assert attachment.active_content  # a script, even two archives deep


def test_a_docm_has_macros_and_a_docx_has_none() -> None:
    document = {"[Content_Types].xml": CONTENT_TYPES.encode(), "word/document.xml": b"<w/>"}
    docm = zipped({**document, "word/vbaProject.bin": b"\xd0\xcf\x11\xe0"})

    with_macros = only_attachment(with_attachment(docm, "report.docx"))
    without = only_attachment(with_attachment(zipped(document), "report.docx"))

    assert (with_macros.true_extension, with_macros.active_content) == ("docm", True)
    assert with_macros.true_type == "application/vnd.ms-word.document.macroenabled.12"
    assert (without.true_extension, without.active_content) == ("docx", False)
    assert not without.password_protected


def test_an_encrypted_docx_is_password_protected() -> None:
    document = zipped({"[Content_Types].xml": CONTENT_TYPES.encode(), "word/document.xml": b"<w/>"})
    encrypted = io.BytesIO()
    OOXMLFile(io.BytesIO(document)).encrypt("s3cret", encrypted)

    attachment = only_attachment(with_attachment(encrypted.getvalue(), "contract.docx"))

    assert attachment.password_protected
    assert attachment.archive_entries == ()  # the package is encrypted: nothing to list


@pytest.mark.parametrize(
    ("pdf", "protected", "active"),
    [
        (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>", False, False),
        (b"%PDF-1.7\ntrailer << /Root 1 0 R /Encrypt 5 0 R >>", True, False),
        (b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (alert(1)) >> >>", False, True),
        (b"%PDF-1.7\n1 0 obj << /OpenAction << /S /J#61vaScript >> >> endobj", False, True),
        (b"%PDF-1.7\ntrailer << /#45ncrypt 5 0 R >>", True, False),
    ],
    ids=["plain", "encrypted", "javascript", "hex-escaped-javascript", "hex-escaped-encrypt"],
)
def test_a_pdf_tells_encryption_and_javascript(pdf: bytes, protected: bool, active: bool) -> None:
    attachment = only_attachment(with_attachment(pdf, "doc.pdf", "application/pdf"))

    assert attachment.true_extension == "pdf"
    assert (attachment.password_protected, attachment.active_content) == (protected, active)


@pytest.mark.parametrize("name", ["run.js", "setup.VBS", "page.hta", "tool.ps1", "job.wsf"])
def test_scripts_are_active_content(name: str) -> None:
    assert only_attachment(with_attachment(b"echo 1", name)).active_content


def test_a_text_attachment_gives_its_text_and_a_binary_none() -> None:
    message = EmailMessage()
    message.set_content("Body.\n")
    message.add_attachment("Confidential figures\n", filename="notes.txt")
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + b"\x00" * 16, "image", "png", filename="a.png")

    notes, image = parse(message.as_bytes()).attachments

    assert notes.text == "Confidential figures\n"
    assert (image.text, image.true_extension, image.declared_type) == ("", "png", "image/png")


def test_size_is_the_raw_message_size() -> None:
    raw = eml("forwarded")

    assert parse(raw).size == len(raw)
    assert parse(raw).exclusions == ()


def test_an_unclosed_title_hides_no_text_from_the_rules() -> None:
    message = parse(b"Content-Type: text/html\r\n\r\n<title>Hi<body>wire the money<script>x")

    # As a browser reads it: all the rest is the title's text, tags and all.
    assert message.html_text == "Hi<body>wire the money<script>x"


def test_the_odd_spaces_are_all_white_space_but_space_and_line_break() -> None:
    every = {chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()}

    assert set(ODD_SPACES) == every - {" ", "\n"}
    assert len(ODD_SPACES) == len(set(ODD_SPACES))


SPACES_AND_WORDS = ["a", "bc", " ", "  ", "\t", "\n", "\r", "\u3000", "\xa0", "\x1c", "\u2028"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(SPACES_AND_WORDS), max_size=40).map("".join))
def test_html_white_space_reads_as_one_space_and_keeps_every_word(text: str) -> None:
    extracted, cut = html_text(html.escape(text), 10_000)

    assert not cut
    assert extracted.split() == text.split()
    assert not re.search(r"[^\S\n]{2}|[^\S\n ]", extracted), repr(extracted)


ATOMS = ["Alice", "Bob", "a", "x", "=?utf-8?B?5bGx?=", "!#$%&'*+-/=?^_`{|}~", "é", '"q"', "(c)"]
ATOMS += ["J."]
SPACES = st.sampled_from(["", " ", "  ", "\t"])
DOT_ATOM = st.lists(st.sampled_from(ATOMS), min_size=1, max_size=3).map(".".join)
NAMED_ADDRESS = st.tuples(
    SPACES,
    st.lists(st.tuples(SPACES, st.sampled_from(ATOMS)).map("".join), max_size=3).map("".join),
    SPACES,
    st.sampled_from(["<", ""]),
    st.tuples(DOT_ATOM, DOT_ATOM).map("@".join),
    st.sampled_from([">", ""]),
    SPACES,
    st.sampled_from(["", ",", ", b@c", " x", ";"]),
).map("".join)
NOISE = st.lists(st.sampled_from([*ATOMS, " ", "<", ">", "@", ".", ",", ":", ";", "\\", "["]))


@settings(max_examples=1000, deadline=None)
@given(st.one_of(NAMED_ADDRESS, NOISE.map("".join)))
def test_address_fields_read_as_the_standard_library_reads_them(value: str) -> None:
    expected = [(n, a) for n, a in getaddresses([value]) if n or a]

    assert _name_address_pairs(value) == expected


def test_a_quoted_parameter_value_loses_its_quotes_and_backslash_escapes() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b'Content-Type: application/octet-stream; name="plain name.bin"\r\n\r\nx\r\n--b\r\n'
        b'Content-Disposition: attachment; filename="a \\"quoted\\" \\\\ name.bin"\r\n\r\ny\r\n'
        b"--b--\r\n"
    )

    names = [attachment.name for attachment in parse(raw).attachments]

    assert names == ["plain name.bin", 'a "quoted" \\ name.bin']
