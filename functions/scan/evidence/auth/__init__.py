"""Domain-based authentication of inbound mail: sender IP match, SPF, DKIM and DMARC, and the
``Authentication-Results`` field that reports them (docs/detection.md)."""
