from __future__ import annotations

from mailgate import aws


def secret_bytes(secret_id: str) -> bytes:
    """A Secrets Manager secret's value, read once at start by the function that needs it."""
    value: str = aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    return value.encode()
