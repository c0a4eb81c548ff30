"""Domains the graymail, URL and BEC detectors know by their role. A domain listed here also
stands for its subdomains (``within``)."""

from __future__ import annotations

from functools import cache, lru_cache

from publicsuffixlist import PublicSuffixList

# Where social networks send their notifications from.
SOCIAL_NETWORKS = frozenset(
    {
        "facebookmail.com", "facebook.com", "instagram.com", "mail.instagram.com",
        "linkedin.com", "twitter.com", "x.com", "pinterest.com", "tiktok.com",
        "snapchat.com", "reddit.com", "redditmail.com", "tumblr.com", "quora.com",
        "mixi.jp", "line.me", "threads.net", "nextdoor.com", "meetup.com",
    }
)  # fmt: skip

# Forum and discussion-group services that mail their members' posts.
FORUMS = frozenset(
    {
        "discoursemail.com", "googlegroups.com", "groups.io", "stackexchange.com",
        "stackoverflow.email", "discourse.org", "vbulletin.com", "xenforo.com",
        "proboards.com", "forumotion.com", "freelists.org",
    }
)  # fmt: skip

# Email service providers: their bounce (envelope sender) and click-tracking domains.
ESP_DOMAINS = frozenset(
    {
        "mcsv.net", "mcdlv.net", "rsgsv.net", "list-manage.com", "mailchimpapp.net",
        "mandrillapp.com", "sendgrid.net", "sendgrid.com", "mailgun.org", "mailgun.net",
        "amazonses.com", "sparkpostmail.com", "exacttarget.com", "sfmc-content.com",
        "mktomail.com", "mkt.com", "hubspotemail.net", "hs-analytics.net",
        "sendinblue.com", "brevo.com", "constantcontact.com", "rs6.net", "cmail19.com",
        "cmail20.com", "createsend.com", "klaviyomail.com", "klaviyo.com", "mailjet.com",
        "postmarkapp.com", "emarsys.net", "responsys.net", "bme.jp", "cuenote.jp",
        "blastmail.jp", "benchmarkemail.com", "getresponse.com", "aweber.com",
    }
)  # fmt: skip

# Headers only a bulk-mail platform writes, and the platform they name.
ESP_HEADERS = {
    "x-sg-eid": "SendGrid",
    "x-sg-id": "SendGrid",
    "x-mailgun-sid": "Mailgun",
    "x-mailgun-tag": "Mailgun",
    "x-mc-user": "Mailchimp",
    "x-mandrill-user": "Mandrill",
    "x-ses-outgoing": "Amazon SES",
    "x-sfmc-stack": "Salesforce Marketing Cloud",
    "x-mktmailsent": "Marketo",
    "x-hs-cid": "HubSpot",
    "x-csa-complaints": "a certified sender (CSA)",
    "x-campaign-id": "a campaign platform",
    "x-mailjet-campaign": "Mailjet",
    "x-pm-message-id": "Postmark",
    "x-kmail-account": "Klaviyo",
    "x-sib-id": "Brevo",
}

# X-Mailer / User-Agent words of bulk-mail and forum software.
ESP_MAILERS = ("mailchimp", "sendinblue", "brevo", "constant contact", "campaign monitor",
               "phplist", "mailpoet", "acymailing", "blastmail", "benchmark email")  # fmt: skip
FORUM_MAILERS = ("phpbb", "vbulletin", "xenforo", "discourse", "invision", "mybb", "smf")
# Headers that forum software writes on its notifications.
FORUM_HEADERS = ("x-discourse-post-id", "x-discourse-topic-id", "x-google-group-id",
                 "x-phpbb-origin", "x-xenforo-")  # fmt: skip

# Free mailbox providers: anyone can open an address there.
FREE_MAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.jp", "ymail.com",
        "rocketmail.com", "outlook.com", "outlook.jp", "hotmail.com", "hotmail.co.jp",
        "live.com", "live.jp", "msn.com", "aol.com", "icloud.com", "me.com", "mac.com",
        "gmx.com", "gmx.net", "gmx.de", "web.de", "mail.com", "proton.me",
        "protonmail.com", "pm.me", "tutanota.com", "tuta.io", "zoho.com", "yandex.com",
        "yandex.ru", "mail.ru", "qq.com", "163.com", "126.com", "naver.com",
        "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp",
        "excite.co.jp", "nifty.com", "goo.jp",
    }
)  # fmt: skip

# URL shorteners: where a shortened link really goes cannot be seen in the message.
SHORTENERS = frozenset(
    {
        "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd",
        "buff.ly", "rebrand.ly", "cutt.ly", "shorturl.at", "tiny.cc", "rb.gy", "t.ly",
        "s.id", "v.gd", "x.gd", "lnkd.in", "bl.ink", "short.io", "urlzs.com",
    }
)  # fmt: skip


def within(host: str, domains: frozenset[str]) -> str:
    """The listed domain that ``host`` is or is under, or ""."""
    labels = host.lower().rstrip(".").split(".")
    for start in range(len(labels) - 1):
        candidate = ".".join(labels[start:])
        if candidate in domains:
            return candidate
    return ""


def domain_of(address: str) -> str:
    """The domain of an address, lower case; "" when there is none."""
    _, at, domain = address.rpartition("@")
    return domain.strip().strip(">").lower().rstrip(".") if at else ""


@cache
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the list shipped in the package, no download


def registrable(host: str) -> str:
    """The domain a registrant owns (``mail.example.co.jp`` → ``example.co.jp``); the host
    itself when it is a public suffix or an IP address."""
    # Names a message repeats are remembered; no domain name is longer than 253 characters, so
    # longer text (an address in a hostile header) is read each time, never held in memory.
    return _registrable(host) if len(host) <= 254 else _registrable.__wrapped__(host)


@lru_cache(maxsize=4096)
def _registrable(host: str) -> str:
    return _suffixes().privatesuffix(host.lower().rstrip(".")) or host.lower().rstrip(".")
