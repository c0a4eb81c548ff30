"""What an attachment really is: true type from magic bytes, archive listing, password
protection and active content (macros, scripts, PDF JavaScript)."""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

import filetype
import msoffcrypto
import olefile

from .archives import is_zip, list_zip
from .budget import Budget
from .model import ArchiveEntry, Attachment

SCRIPT_EXTENSIONS = frozenset(
    {"js", "jse", "vbs", "vbe", "hta", "ps1", "psm1", "wsf", "wsh", "wsc", "sct", "bat", "cmd"}
    | {"scr", "lnk", "jar", "vb"}
)
MACRO_EXTENSIONS = frozenset(
    {"docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppsm", "ppam"}
)
SCRIPT_TYPES = frozenset(
    {
        "application/javascript",
        "application/x-javascript",
        "text/javascript",
        "text/vbscript",
        "application/hta",
        "application/x-ms-shortcut",
    }
)
_OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
_OLE_MACRO_STREAMS = frozenset({"macros", "_vba_project_cur", "vba", "_vba_project"})
# (stream that identifies the document, MIME type, extension)
_OLE_KINDS = (
    ("worddocument", "application/msword", "doc"),
    ("workbook", "application/vnd.ms-excel", "xls"),
    ("book", "application/vnd.ms-excel", "xls"),
    ("powerpoint document", "application/vnd.ms-powerpoint", "ppt"),
    ("__substg1.0_0037001f", "application/vnd.ms-outlook", "msg"),
)
_OOXML = (  # (folder of the main part, type when macros are off / on, extension off / on)
    ("word/", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "application/vnd.ms-word.document.macroenabled.12", "docx", "docm"),
    ("xl/", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     "application/vnd.ms-excel.sheet.macroenabled.12", "xlsx", "xlsm"),
    ("ppt/", "application/vnd.openxmlformats-officedocument.presentationml.presentation",
     "application/vnd.ms-powerpoint.presentation.macroenabled.12", "pptx", "pptm"),
)  # fmt: skip
_PDF_ENCRYPT = re.compile(rb"/Encrypt\b")
_PDF_ACTIVE = re.compile(rb"/(?:JavaScript|JS|Launch)\b")
_PDF_ESCAPED_NAME = re.compile(rb"/[A-Za-z#0-9]{0,30}#[0-9A-Fa-f]{2}[A-Za-z#0-9]*")


@dataclass(frozen=True)
class Findings:
    true_type: str = ""
    true_extension: str = ""
    archive_entries: tuple[ArchiveEntry, ...] = ()
    password_protected: bool = False
    active_content: bool = False


def attachment(
    index: int, name: str, declared_type: str, data: bytes | None, size: int, text: str,
    budget: Budget,
) -> Attachment:  # fmt: skip
    """`data` is None when a bound kept the part from being decoded; `size` then estimates."""
    findings = inspect(data, name, budget) if data is not None else Findings()
    scripted = _extension(name) in SCRIPT_EXTENSIONS or declared_type in SCRIPT_TYPES
    return Attachment(
        index=index,
        name=name,
        size=size,
        sha256=hashlib.sha256(data).hexdigest() if data is not None else "",
        declared_type=declared_type,
        true_type=findings.true_type,
        true_extension=findings.true_extension,
        archive_entries=findings.archive_entries,
        password_protected=findings.password_protected,
        active_content=findings.active_content or scripted,
        text=text,
    )


def inspect(data: bytes, name: str, budget: Budget) -> Findings:
    if is_zip(data):
        return _zip(data, name, budget)
    if data.startswith(_OLE_MAGIC):
        return _ole(data)
    true_type, extension = magic(data)
    if extension == "pdf":
        return _pdf(data)
    return Findings(true_type, extension)


# filetype's matchers of zipped Office and OpenDocument files look for a zip's first entry at
# the start, which inspect() has ruled out before asking: half of a miss's time, skipped.
_ZIPPED_DOCUMENTS = frozenset({"docx", "xlsx", "pptx", "odt", "ods", "odp"})
_MATCHERS = [kind for kind in filetype.types if kind.extension not in _ZIPPED_DOCUMENTS]


def magic(data: bytes) -> tuple[str, str]:
    """The MIME type and extension the content's magic bytes tell, ("", "") if unknown; data
    that is a zip is not asked about (see inspect)."""
    try:
        kind = filetype.match(data, _MATCHERS)
    except Exception:  # any fault of the matchers on hostile bytes is "unknown"
        return "", ""
    return (kind.mime.lower(), kind.extension.lower()) if kind else ("", "")


def _extension(name: str) -> str:
    base, dot, extension = name.rstrip(". ").rpartition(".")
    return extension.lower() if dot and base else ""


def _zip(data: bytes, name: str, budget: Budget) -> Findings:
    entries = list_zip(data, name, budget)
    names = {entry.name.lower() for entry in entries}
    macros = any(n.endswith("vbaproject.bin") or n.startswith("xl/macrosheets/") for n in names)
    true_type, extension = "application/zip", "zip"
    if "[content_types].xml" in names:
        for folder, plain_type, macro_type, plain_ext, macro_ext in _OOXML:
            if any(n.startswith(folder) for n in names):
                true_type, extension = (
                    (macro_type, macro_ext) if macros else (plain_type, plain_ext)
                )
                break
    active = macros or any(
        _extension(entry.name) in SCRIPT_EXTENSIONS | MACRO_EXTENSIONS for entry in entries
    )
    return Findings(
        true_type=true_type,
        true_extension=extension,
        archive_entries=entries,
        password_protected=any(entry.encrypted for entry in entries),
        active_content=active,
    )


def _ole(data: bytes) -> Findings:
    """Legacy Office (doc, xls, ppt) and Office documents encrypted with a password, which
    are OLE storages holding an EncryptedPackage stream."""
    try:
        with olefile.OleFileIO(io.BytesIO(data)) as storage:
            streams = {"/".join(path).lower() for path in storage.listdir(streams=True)}
            storages = {"/".join(path).lower() for path in storage.listdir(storages=True)}
    except Exception:  # a damaged storage still is an OLE file
        return Findings("application/x-ole-storage", "ole")
    paths = streams | storages
    true_type, extension = next(
        ((kind, ext) for stream, kind, ext in _OLE_KINDS if stream in paths),
        ("application/x-ole-storage", "ole"),
    )
    macros = any(part in _OLE_MACRO_STREAMS for path in paths for part in path.split("/"))
    return Findings(
        true_type=true_type,
        true_extension=extension,
        password_protected="encryptedpackage" in paths or _office_encrypted(data),
        active_content=macros,
    )


def _office_encrypted(data: bytes) -> bool:
    try:
        return bool(msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted())
    except Exception:  # a format msoffcrypto does not know, or a damaged one
        return False


def _pdf(data: bytes) -> Findings:
    names = [_unescape(name) for name in _PDF_ESCAPED_NAME.findall(data)]
    return Findings(
        true_type="application/pdf",
        true_extension="pdf",
        password_protected=bool(_PDF_ENCRYPT.search(data))
        or any(_PDF_ENCRYPT.fullmatch(name) for name in names),
        active_content=bool(_PDF_ACTIVE.search(data))
        or any(_PDF_ACTIVE.fullmatch(name) for name in names),
    )


def _unescape(name: bytes) -> bytes:
    """A PDF name with its #xx escapes undone (`/J#61vaScript` hides `/JavaScript`)."""
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name)
