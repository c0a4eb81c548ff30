"""The SMTP reply for each stage-1 block reason (RFC 5321 codes, RFC 3463 enhanced codes).

Temporary (4xx) where the sender should try again later: rate limits, policy evaluation
errors, DNS failures. Everything else is permanent (5xx). docs/stage1-replies.md lists them.
"""

from __future__ import annotations

from mailgate.catalog import BlockReason as R

REPLIES: dict[R, str] = {
    R.SENDER_IP_QIL: "554 5.7.1 Client address [{ip}] is listed in the QIL reputation list",
    R.SENDER_IP_KSSL: "554 5.7.1 Client address [{ip}] is listed in the KSSL reputation list",
    R.SENDER_IP_DUL: "554 5.7.1 Client address [{ip}] is listed in the DUL reputation list",
    R.SENDER_IP_ETL: "554 5.7.1 Client address [{ip}] is listed in the ETL reputation list",
    R.SENDER_IP_BLOCKLIST: "554 5.7.1 Client address [{ip}] is blocked by the recipient's policy",
    R.RECIPIENT_INVALID: "550 5.1.1 <{recipient}>: Recipient address rejected: no such user",
    R.SENDER_IP_NOT_ALLOWED: (
        "554 5.7.1 Relay access denied: [{ip}] is not a registered sending server of {domain}"
    ),
    R.SENDER_DOMAIN_NOT_FOUND: "550 5.1.8 <{sender}>: Sender address rejected: domain not found",
    R.RECIPIENT_DOMAIN_NOT_FOUND: (
        "550 5.1.2 <{recipient}>: Recipient address rejected: domain not found"
    ),
    R.TLS_NOT_AVAILABLE: "530 5.7.0 Must issue a STARTTLS command first",
    R.MESSAGE_TOO_BIG: "552 5.3.4 Message size exceeds fixed maximum message size",
    R.RATE_LIMIT_COUNT_IP: "450 4.7.1 Too many messages from [{ip}], try again later",
    R.RATE_LIMIT_COUNT_ADDRESS: "450 4.7.1 Too many messages from <{sender}>, try again later",
    R.RATE_LIMIT_SIZE_IP: "451 4.7.1 Too much data from [{ip}], try again later",
    R.RATE_LIMIT_SIZE_ADDRESS: "451 4.7.1 Too much data from <{sender}>, try again later",
    R.RATE_LIMIT_SIZE_DOMAIN: "451 4.7.1 Too much data from {sender_domain}, try again later",
    R.RECIPIENT_BLOCKED: "550 5.7.1 <{recipient}>: Recipient address rejected: blocked",
    R.SENDER_IP_BLOCKED: "554 5.7.1 Client address [{ip}] is blocked",
    R.SENDER_BLOCKED: "550 5.7.1 <{sender}>: Sender address rejected: blocked by policy",
    R.POLICY_MATCHING_ERROR: "451 4.3.0 Temporary error evaluating the policy, try again later",
    R.SENDER_DOMAIN_MALFORMED: (
        "550 5.1.8 <{sender}>: Sender address rejected: domain has no usable mail server"
    ),
    R.RECIPIENT_DOMAIN_MALFORMED: (
        "556 5.1.10 <{recipient}>: Recipient address rejected: domain accepts no mail"
    ),
    R.REVERSE_DNS_FAILED: "550 5.7.25 Reverse DNS validation failed for [{ip}]",
    R.OTHER: "550 5.7.1 Relay access denied: outbound protection is not enabled for {domain}",
}

# The front's replies outside the block reasons (RFC 5321 4.2, RFC 3463 enhanced codes).
OK = "250 2.1.0 OK"
RCPT_OK = "250 2.1.5 OK"
QUEUED = "250 2.0.0 OK queued as {queued}"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
BAD_ADDRESS = "501 5.1.3 Bad address syntax"
BAD_SIZE = "501 5.5.4 Bad SIZE parameter"
RELAY_DENIED = "550 5.7.1 Relaying denied: {domain} is not a domain served here"
SENDER_NOT_SERVED = "550 5.7.1 Relaying denied: sender domain {domain} is not served here"
NO_RECIPIENTS = "554 5.5.1 No valid recipients"
LOCAL_ERROR = "451 4.3.0 Local error in processing, try again later"
TRY_LATER = "451 4.3.0 Temporary failure storing the message, try again later"
BUSY = "452 4.3.1 Insufficient system resources, try again later"
LOOKUP_FAILED = "451 4.3.0 Temporary failure looking up the domain, try again later"
# A suspended tenant's mail waits at the sender (a temporary reply) until it is resumed.
TENANT_SUSPENDED = "451 4.7.1 Service for {domain} is suspended, try again later"

# Replies for refusals filed under "other" that are not relay refusals.
DNS_TEMPORARY = "451 4.4.3 DNS lookup failed, try again later"
BARE_LINE_ENDING = "550 5.6.0 Message contains a bare CR or LF; lines must end with CRLF"
TLS_TOO_OLD = "530 5.7.0 TLS {version} is below the {minimum} this peer must use"
