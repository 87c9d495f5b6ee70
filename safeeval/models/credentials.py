"""Endpoint credentials: where they come from, how they are sent, and how they are kept out of files.

Credentials come from the command line (`user:password@` in `--base-url`) and
the environment (`OPENAI_API_KEY`), never from disk: the saved options keep the
URL with its credentials masked (`MASK`), and a resume that gets the masked URL
back says in one line that they must be given again, before anything is sent.

`redact` is the one scrubber for every text that leaves the adapter (error
records, log lines): it removes the given secrets, every `Authorization`-style
value (`Basic ...`, `Bearer ...`) and any `user:password@` in a URL.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote, urlsplit, urlunsplit

MASK = "***"
_AUTH_VALUE = re.compile(r"\b(Basic|Bearer|Token|Digest)\s+[A-Za-z0-9+/=._~:\-]{4,}", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s:]*(?::[^/@\s]*)?@")


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(url without user:password, user, password); user and password are None when absent."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), unquote(user), unquote(password)


def public_url(url: str) -> str:
    """The URL without any user:password part, fit for the manifest, records and cache keys."""
    return split_credentials(url)[0]


def saved_url(url: str) -> str:
    """The URL for options.json: credentials masked, so a resume knows they must be given again."""
    bare, user, _ = split_credentials(url)
    if user is None:
        return url
    parts = urlsplit(bare)
    return urlunsplit(parts._replace(netloc=f"{MASK}:{MASK}@{parts.netloc}"))


def has_masked_credentials(url: str) -> bool:
    """True for a URL whose credentials `saved_url` masked (they were not saved)."""
    _, user, password = split_credentials(url)
    return user == MASK and password == MASK


def basic_auth(user: str, password: str) -> str:
    """The `Authorization` value for HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every secret, Authorization value and URL credential replaced by ***."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, MASK)
    text = _AUTH_VALUE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _URL_USERINFO.sub(f"{MASK}@", text)


def endpoint_change(saved: str | None, given: str | None) -> str | None:
    """One line when a resume goes to another endpoint than the run's saved one, else None."""
    if not saved or not given or public_url(saved).rstrip("/") == public_url(given).rstrip("/"):
        return None
    return (f"note: this run was answered by {public_url(saved)} so far and goes on at {public_url(given)}; "
            f"each record names the endpoint that answered it, and the saved options now name the new one")
