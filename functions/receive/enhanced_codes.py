"""RFC 3463 enhanced status codes on the replies aiosmtpd writes itself.

Once ENHANCEDSTATUSCODES is advertised, every reply carries one (RFC 2034 3) except the
greeting and the replies to HELO and EHLO; intermediate 3xx replies have none (RFC 3463 has no
class 3). The front's own replies (``replies.py``) carry theirs; aiosmtpd's built-in ones (RSET,
NOOP, QUIT, HELP, VRFY, STARTTLS, sequence and syntax errors) get the code their reply code
stands for here.
"""

from __future__ import annotations

import re

ENHANCED = re.compile(r"[245]\.\d{1,3}\.\d{1,3}(?: |$)")
BY_REPLY_CODE = {
    "220": "2.0.0",  # STARTTLS: ready to start TLS
    "221": "2.0.0",
    "250": "2.0.0",
    "252": "2.0.0",  # VRFY: cannot verify, will attempt delivery
    "454": "4.7.0",  # TLS not available
    "500": "5.5.2",  # syntax error, command unrecognized, line too long
    "501": "5.5.4",  # invalid command arguments
    "502": "5.5.1",  # command not implemented
    "503": "5.5.1",  # bad sequence of commands
    "504": "5.5.4",  # command parameter not implemented
    "530": "5.7.0",  # must issue STARTTLS first
    "552": "5.3.4",  # too much mail data
    "554": "5.7.0",  # refused for lack of security (failed TLS handshake)
    "555": "5.5.4",  # MAIL/RCPT parameters not recognized
}


def with_enhanced_code(reply: str) -> str:
    """``reply`` with an enhanced status code after its reply code, unless it has one."""
    code, text = reply[:3], reply[4:]
    if reply[:1] not in ("2", "4", "5") or ENHANCED.match(text):
        return reply
    enhanced = BY_REPLY_CODE.get(code, f"{code[0]}.0.0")
    return f"{code} {enhanced} {text}" if text else f"{code} {enhanced}"
