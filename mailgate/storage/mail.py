"""Raw messages in S3, under the tenant's prefix."""

from __future__ import annotations

from datetime import datetime

from mailgate import aws


def mail_key(tenant_id: str, message_uuid: str, received: datetime) -> str:
    return f"{tenant_id}/mail/{received:%Y/%m/%d}/{message_uuid}.eml"


class MailStore:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def put(self, key: str, raw: bytes) -> None:
        aws.client("s3").put_object(
            Bucket=self._bucket, Key=key, Body=raw, ContentType="message/rfc822"
        )

    def get(self, key: str) -> bytes:
        body: bytes = aws.client("s3").get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body

    def delete(self, key: str) -> None:
        aws.client("s3").delete_object(Bucket=self._bucket, Key=key)
