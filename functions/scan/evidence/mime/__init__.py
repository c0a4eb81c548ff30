"""The message model of stage 2: MIME parsed leniently and within bounds."""

from .model import ArchiveEntry, Attachment, Html, Limits, Mailbox, Message
from .parse import parse

__all__ = ["ArchiveEntry", "Attachment", "Html", "Limits", "Mailbox", "Message", "parse"]
