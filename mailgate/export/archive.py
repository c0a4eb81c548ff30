"""An export file inside a zip, written as it is produced to a stream that need not seek (an
S3 multipart upload): memory stays that of the compressor and the stream's buffer."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from typing import BinaryIO, TextIO, TypeVar

T = TypeVar("T")


def write_zipped(out: BinaryIO, member: str, write: Callable[[TextIO], T]) -> T:
    """Zip what ``write`` writes (UTF-8 text) as the file ``member``; what ``write`` returns."""
    with (
        zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(member, "w") as binary,
    ):
        text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
        result = write(text)
        text.flush()
        text.detach()  # the member is closed by its own context, not through the wrapper
    return result
