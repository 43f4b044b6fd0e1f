"""The exporter-toolkit web config file (``--web.config.file``): TLS and basic auth, as node_exporter reads it.

::

    tls_server_config:
      cert_file: server.crt          # relative paths are relative to this file
      key_file: server.key
      client_ca_file: ca.crt         # optional
      client_auth_type: RequireAndVerifyClientCert   # or VerifyClientCertIfGiven, NoClientCert
      min_version: TLS12             # optional: TLS12, TLS13
    http_server_config:
      headers: {X-Frame-Options: deny}
    basic_auth_users:
      alice: $2b$12$...              # bcrypt hash (htpasswd -nBC 10 alice)
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import bcrypt

from . import yamlfile
from .yamlfile import FileError

log = logging.getLogger("perfadvisor.exporter.webconfig")

_AUTH_TYPES = {"NoClientCert": ssl.CERT_NONE, "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
               "RequireAndVerifyClientCert": ssl.CERT_REQUIRED}
_TLS_VERSIONS = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
_BCRYPT = r"^\$2[aby]?\$\d\d\$.{53}$"

SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "tls_server_config": {
            "type": "object", "additionalProperties": False, "required": ["cert_file", "key_file"],
            "properties": {
                "cert_file": {"type": "string", "minLength": 1},
                "key_file": {"type": "string", "minLength": 1},
                "client_ca_file": {"type": "string"},
                "client_auth_type": {"enum": list(_AUTH_TYPES)},
                "min_version": {"enum": list(_TLS_VERSIONS)},
                "max_version": {"enum": list(_TLS_VERSIONS)},
            },
        },
        "http_server_config": {
            "type": "object", "additionalProperties": False,
            "properties": {"headers": {"type": "object", "additionalProperties": {"type": "string"}},
                           "http2": {"type": "boolean"}},
        },
        "basic_auth_users": {
            "type": ["object", "null"],
            "additionalProperties": {"type": "string", "pattern": _BCRYPT},
        },
    },
}


@dataclass(frozen=True)
class WebConfig:
    file: str | None = None
    ssl_context: ssl.SSLContext | None = None
    users: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    files: tuple[str, ...] = ()  # the config file and the certificate files it names (watched for changes)


def load(file: str | None) -> WebConfig:
    """Read and check the web config; FileError (one line, FILE:LINE) when it is wrong."""
    if not file:
        return WebConfig()
    doc = yamlfile.load(file)
    if not isinstance(doc.data, dict):
        raise FileError(file, doc.line_of([]), "", "the web config file must be a mapping")
    _check_users(doc)
    yamlfile.validate(doc, SCHEMA)
    data = doc.data
    base = Path(file).resolve().parent
    ctx = None
    tls = data.get("tls_server_config")
    if tls:
        def path(key: str) -> str:
            return str(base / tls[key])

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = _TLS_VERSIONS[tls.get("min_version", "TLS12")]
        if "max_version" in tls:
            ctx.maximum_version = _TLS_VERSIONS[tls["max_version"]]
        try:
            ctx.load_cert_chain(path("cert_file"), path("key_file"))
        except (OSError, ssl.SSLError) as e:
            raise doc.error(["tls_server_config", "cert_file"],
                            f"cannot load certificate/key: {getattr(e, 'strerror', None) or e}") from None
        auth = tls.get("client_auth_type", "RequireAndVerifyClientCert" if "client_ca_file" in tls else "NoClientCert")
        if auth != "NoClientCert" and "client_ca_file" not in tls:
            raise doc.error(["tls_server_config", "client_auth_type"], f"{auth} needs client_ca_file")
        if "client_ca_file" in tls:
            try:
                ctx.load_verify_locations(path("client_ca_file"))
            except (OSError, ssl.SSLError) as e:
                raise doc.error(["tls_server_config", "client_ca_file"],
                                f"cannot load CA: {getattr(e, 'strerror', None) or e}") from None
        ctx.verify_mode = _AUTH_TYPES[auth]
    users = {u: h.encode() for u, h in (data.get("basic_auth_users") or {}).items()}
    headers = (data.get("http_server_config") or {}).get("headers") or {}
    files = (str(file), *(str(base / tls[k]) for k in ("cert_file", "key_file", "client_ca_file") if k in (tls or {})))
    return WebConfig(file, ctx, MappingProxyType(users), MappingProxyType(dict(headers)), files)


def _check_users(doc: yamlfile.YamlDoc) -> None:
    """Refuse anything but bcrypt hashes in basic_auth_users, naming the user and never the value.

    The schema's own message quotes the value ("'hunter2' does not match ..."), and a value that is not a hash
    is most likely a plaintext password: it must not reach stderr or the log.
    """
    users = doc.data.get("basic_auth_users")
    if users is None:
        return
    if not isinstance(users, dict):
        raise doc.error(["basic_auth_users"], "must be a mapping of user name to bcrypt hash (values not shown)")
    for user, value in users.items():
        if not isinstance(value, str) or not re.match(_BCRYPT, value):
            raise doc.error(["basic_auth_users", str(user)],
                            f"the password of user {str(user)!r} is not a bcrypt hash (the value is not shown; "
                            f"make one with htpasswd -nBC 10 {user})")


def _signature(files: tuple[str, ...]) -> tuple:
    out = []
    for f in files:
        try:
            st = os.stat(f)
            out.append((f, st.st_mtime_ns, st.st_size, st.st_ino))
        except OSError:
            out.append((f, None))
    return tuple(out)


class LiveWebConfig:
    """The web config as it is on disk now, as exporter-toolkit does: certificates can be rotated and users
    changed without a restart. Files are stat()ed at most once a second; a change that does not load is
    logged and the previous config stays in force. TLS itself cannot be switched on or off while running.
    """

    CHECK_EVERY = 1.0

    def __init__(self, config: WebConfig):
        self.config = config
        self.auth = BasicAuth(config.users)
        self._signature = _signature(config.files)
        self._checked = time.monotonic()
        self._lock = threading.Lock()
        if config.ssl_context is not None:
            # Called on every handshake (with or without SNI): the connection gets the current context.
            config.ssl_context.sni_callback = self._context_for_handshake

    @property
    def headers(self) -> Mapping[str, str]:
        return self.config.headers

    def refresh(self) -> None:
        if not self.config.file or time.monotonic() - self._checked < self.CHECK_EVERY:
            return
        with self._lock:
            if time.monotonic() - self._checked < self.CHECK_EVERY:
                return
            self._checked = time.monotonic()
            signature = _signature(self.config.files)
            if signature == self._signature:
                return
            self._signature = signature
            try:
                new = load(self.config.file)
                if (new.ssl_context is None) != (self.config.ssl_context is None):
                    raise FileError(self.config.file, None, "tls_server_config",
                                    "TLS cannot be switched on or off without a restart")
            except FileError as e:
                log.error("web config not reloaded, keeping the previous one", extra={"kv": {"err": str(e)}})
                return
            self.config, self.auth = new, BasicAuth(new.users)
            self._signature = _signature(new.files)
            log.info("web config reloaded", extra={"kv": {"file": new.file}})

    def _context_for_handshake(self, sslobj: ssl.SSLObject, server_name: str | None, ctx: ssl.SSLContext) -> None:
        try:
            self.refresh()
            if self.config.ssl_context is not None and self.config.ssl_context is not ctx:
                sslobj.context = self.config.ssl_context
        except Exception as e:  # never fail a handshake because of the reload machinery
            log.error("web config check failed", extra={"kv": {"err": f"{type(e).__name__}: {e}"}})


class AuthBusy(Exception):
    """Every bcrypt slot is taken: the request is refused (429) rather than queued."""


class BasicAuth:
    """Checks ``Authorization: Basic`` against bcrypt hashes, remembering successes.

    bcrypt is deliberately slow (~50-250 ms); paying it on every scrape would dominate the exporter's CPU.
    A successful check is remembered as an HMAC (with a per-process random key) of the credentials, so the
    cache never holds anything that can be turned back into a password. Failures are never cached.
    At most MAX_CHECKING bcrypt checks run at once, so a flood of wrong passwords costs at most that many
    cores; beyond it check() raises AuthBusy. Remembered credentials never wait for a slot.
    """

    MAX_CACHED = 1024
    MAX_CHECKING = 2

    def __init__(self, users: Mapping[str, bytes]):
        self.users = dict(users)
        self._key = os.urandom(32)
        self._ok: set[bytes] = set()
        self._lock = threading.Lock()
        self._checking = threading.BoundedSemaphore(self.MAX_CHECKING)
        # Unknown users still pay one bcrypt check, so response time does not reveal which users exist.
        cost = next(iter(self.users.values()), b"$2b$10$")[4:6]
        self._dummy = bcrypt.hashpw(b"x", bcrypt.gensalt(rounds=int(cost) if cost.isdigit() else 10))

    @property
    def enabled(self) -> bool:
        return bool(self.users)

    def check(self, header: str | None) -> bool:
        if not self.users:
            return True
        if not header or not header[:6].lower() == "basic ":
            return False
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True)
        except binascii.Error:
            return False
        user_b, sep, password = raw.partition(b":")
        if not sep:
            return False
        # Go's exporter-toolkit compares raw bytes; some clients (python-requests) send latin-1 rather than
        # UTF-8, so a password that is not valid UTF-8 is also tried transcoded from latin-1.
        candidates = [password]
        try:
            user = user_b.decode("utf-8")
            password.decode("utf-8")
        except UnicodeDecodeError:
            user = user_b.decode("latin-1")
            candidates.append(password.decode("latin-1").encode("utf-8"))
        digest = hmac.new(self._key, user_b + b"\0" + password, hashlib.sha256).digest()
        with self._lock:
            if digest in self._ok:
                return True
        hashed = self.users.get(user)
        ok = False
        if not self._checking.acquire(blocking=False):
            raise AuthBusy()
        try:
            for candidate in candidates:
                try:
                    ok = bcrypt.checkpw(candidate, hashed if hashed is not None else self._dummy)
                except ValueError:
                    ok = False
                if ok:
                    break
        finally:
            self._checking.release()
        ok = ok and hashed is not None
        if ok:
            with self._lock:
                if len(self._ok) >= self.MAX_CACHED:
                    self._ok.clear()
                self._ok.add(digest)
        return ok
