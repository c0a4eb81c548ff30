"""Export files in the mail bucket, under the tenant's prefix: written by a multipart upload
as they are produced, downloaded through short-lived presigned links. Each object is tagged so
that the bucket's lifecycle rule deletes it after a week (``resources.MAIL``)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO, cast

from mailgate import aws, resources

PART_BYTES = 8 * 1024 * 1024  # S3 takes parts of at least 5 MiB, but for the last
DOWNLOAD_LINK_S = 15 * 60


def export_key(tenant_id: str, file_name: str) -> str:
    return f"{tenant_id}/exports/{file_name}"


class _MultipartWriter(io.RawIOBase):
    """A write-only, unseekable stream that sends every ``PART_BYTES`` as one part."""

    def __init__(self, s3: Any, bucket: str, key: str, upload_id: str) -> None:
        super().__init__()
        self._s3, self._bucket, self._key, self._upload_id = s3, bucket, key, upload_id
        self._buffer = bytearray()
        self._parts: list[dict[str, Any]] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._buffer += data
        while len(self._buffer) >= PART_BYTES:
            self._send(bytes(self._buffer[:PART_BYTES]))
            del self._buffer[:PART_BYTES]
        return len(data)

    def _send(self, part: bytes) -> None:
        number = len(self._parts) + 1
        response = self._s3.upload_part(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            PartNumber=number,
            Body=part,
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def complete(self) -> None:
        if self._buffer or not self._parts:
            self._send(bytes(self._buffer))
            self._buffer.clear()
        self._s3.complete_multipart_upload(
            Bucket=self._bucket,
            Key=self._key,
            UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts},
        )


class ExportFiles:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    @contextmanager
    def upload(self, key: str, content_type: str) -> Iterator[BinaryIO]:
        """A stream into the object ``key``, which exists once the block ends without an
        exception; after one, the parts sent so far are discarded."""
        s3 = aws.client("s3")
        name, value = resources.EXPORT_TAG
        upload_id = s3.create_multipart_upload(
            Bucket=self._bucket, Key=key, ContentType=content_type, Tagging=f"{name}={value}"
        )["UploadId"]
        writer = _MultipartWriter(s3, self._bucket, key, upload_id)
        try:
            yield cast(BinaryIO, writer)
            writer.complete()
        except BaseException:
            s3.abort_multipart_upload(Bucket=self._bucket, Key=key, UploadId=upload_id)
            raise

    def download_url(self, key: str, file_name: str) -> str:
        """A presigned GET of that object only, valid ``DOWNLOAD_LINK_S``."""
        url: str = aws.client("s3").generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self._bucket,
                "Key": key,
                "ResponseContentDisposition": f'attachment; filename="{file_name}"',
            },
            ExpiresIn=DOWNLOAD_LINK_S,
        )
        return url
