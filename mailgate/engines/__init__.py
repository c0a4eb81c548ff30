"""Clients of the detection engines that run as services beside the functions (rspamd, clamd):
their wire protocols, bounded in time and size, and nothing about policies."""

from __future__ import annotations


class EngineError(Exception):
    """The engine gave no usable answer: unreachable, too slow, or an answer we cannot read."""


class OverLimit(EngineError):
    """The input is over the engine's limit: asking again gives the same answer."""
