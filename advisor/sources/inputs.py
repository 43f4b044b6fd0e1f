"""Checks on what a user gives the HTTP source — URL, headers, token — before any request is made.

Each check raises ``ConfigError`` (exit 2) with one line naming where the value came from (a flag, a variable,
``FILE:LINE: key``) and never the secret: a URL is shown with its password as ``***``, a header or token never
with its value. Without these checks requests and urllib raise their own errors later, which quote the value
(``InvalidHeader … 'Bearer <token>\\n'``, ``Port could not be cast to integer value as '<password start>'``).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..errors import ConfigError

# RFC 9110 token characters: what a header name may be made of.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Header values: visible Latin-1 characters, spaces and tabs; no CR, LF, NUL or other controls.
_FIELD_VALUE = re.compile(r"^[\t\x20-\x7e\x80-\xff]*$")


def mask_url(url: str) -> str:
    """`url` for a message: a password (anything between the first ``:`` of the userinfo and the last ``@``
    before the host) becomes ``***``; query string and fragment are dropped unless the URL is unparseable."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    at = rest.rfind("@")
    if at >= 0:
        user, colon, _ = rest[:at].partition(":")
        if any(c in user for c in "/?#"):
            user, colon = "***", ""
        rest = f"{user}{':***' if colon else ''}@{rest[at + 1:]}"
    cut = min((i for i in (rest.find("?", at + 1 if at >= 0 else 0), rest.find("#", at + 1 if at >= 0 else 0))
               if i >= 0), default=len(rest))
    shown = f"{scheme}{sep}{rest[:cut]}"
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in shown)   # one line, whatever it holds


def check_url(url: object, origin: str) -> str:
    """`url` if it is an http(s) URL requests can use; ConfigError naming `origin` otherwise."""
    if not isinstance(url, str):
        raise ConfigError(f"{origin}: expected an http:// or https:// URL, got a {type(url).__name__}")
    shown = mask_url(url)

    def bad(reason: str) -> ConfigError:
        return ConfigError(f"{origin}: invalid URL {shown}: {reason}")

    if not re.match(r"^https?://", url, re.I):
        raise ConfigError(f"{origin}: expected an http:// or https:// URL, got {shown}")
    if any(ord(c) < 0x21 or ord(c) == 0x7f for c in url):
        raise bad("it contains a space, line break or control character")
    authority = url.split("://", 1)[1]
    end = min((i for i in (authority.find("/"), authority.find("?"), authority.find("#")) if i >= 0),
              default=len(authority))
    if "@" in authority[end:] and "@" not in authority[:end]:
        # userinfo with an unescaped / ? or #: the parser would take part of the password for the host or port
        raise bad("a user name or password containing '/', '?', '#' or '@' must be percent-encoded "
                  "(%2F, %3F, %23, %40)")
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as e:
        text = str(e)
        if "out of range" in text:
            raise bad("the port must be a number from 1 to 65535") from None
        if "IPv6" in text or "IPv4" in text:
            raise bad("malformed IPv6 address (expected e.g. http://[::1]:9090)") from None
        raise bad("the port is not a number (a password containing ':' '/' '?' '#' must be percent-encoded)") \
            from None
    if not host:
        raise bad("no host name")
    if port == 0:
        raise bad("the port must be a number from 1 to 65535")
    try:
        import requests
        requests.Request("POST", url).prepare()
    except Exception:  # noqa: BLE001 - requests' message quotes the URL, password included
        raise bad("requests cannot use it") from None
    return url


def check_header(name: str, value: str, origin: str) -> tuple[str, str]:
    """(name, value) stripped, if they can go into an HTTP request as they are; ConfigError naming `origin`
    and the header, never the value, otherwise."""
    name, value = str(name).strip(), str(value).strip(" \t")
    if not _TOKEN.fullmatch(name):
        shown = name if name.isprintable() and len(name) < 80 else "…"
        raise ConfigError(f"{origin}: invalid header name {shown!r} (letters, digits and !#$%&'*+-.^_`|~ only)")
    if not _FIELD_VALUE.fullmatch(value):
        raise ConfigError(f"{origin}: header {name}: the value contains a line break or control character "
                          "(value not shown)")
    return name, value


def check_secret(value: str | None, origin: str, what: str = "token") -> str | None:
    """`value` without a trailing line break (Kubernetes secrets mounted as variables or files often end with
    one); ConfigError naming `origin`, never the value, when it still cannot go into a header."""
    if value is None:
        return None
    value = str(value)
    if value.endswith("\n"):
        value = value[:-1]
        if value.endswith("\r"):
            value = value[:-1]
    if not _FIELD_VALUE.fullmatch(value) or "\t" in value:
        raise ConfigError(f"{origin}: the {what} contains a line break, tab or control character (not shown)")
    return value
