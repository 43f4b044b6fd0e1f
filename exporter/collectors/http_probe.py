"""http_probe: blackbox_exporter-style HTTP(S) probes with per-phase timings, plus what a performance review
asks of a response: was it compressed, was keep-alive offered and did a second request reuse the connection,
how big was the payload, and can caches keep it (Cache-Control max-age, ETag, Last-Modified).

Names: blackbox_exporter's ``probe_*`` exactly, plus ``perfadvisor_probe_http_*`` for the extras. blackbox
probes one target per scrape and leaves the ``instance`` label to Prometheus relabelling; this collector probes
all configured URLs in one scrape, so every series carries ``target`` (the URL without credentials).
The phases are measured here with sockets and http.client rather than a client library, so each one is ours:
resolve (getaddrinfo), connect, tls (handshake), processing (request sent until the response head is read),
transfer (body read). Over redirects the phases add up, as in blackbox.
"""
from __future__ import annotations

import base64
import gzip
import http.client
import logging
import re
import socket
import ssl
import time
import zlib
from email.utils import parsedate_to_datetime
from typing import Any, Mapping
from urllib.parse import unquote, urljoin, urlsplit

from ._probe import (SECRET_SCHEMA, TIMEOUT_SCHEMA, Families, ProbeCollector, on_deadline, redact_url,
                     resolve_secret, scrub, shutdown_socket, target_secrets, targets_schema)
from ..registry import Family, register

log = logging.getLogger("perfadvisor.exporter.probes")

PHASES = ("resolve", "connect", "tls", "processing", "transfer")
_REDIRECTS = (301, 302, 303, 307, 308)
_COMPRESSIONS = ("gzip", "x-gzip", "br", "deflate", "zstd", "compress")
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.I)
_X = "perfadvisor_probe_http_"
DEFAULT_BODY_LIMIT = 10 * 1024 * 1024  # read at most this much of a body (blackbox: body_size_limit)


class _Timeout(Exception):
    pass


class _Probe:
    """The state of one probe run: a deadline and the phase clocks."""

    def __init__(self, target: Mapping[str, Any], timeout: float):
        self.t = target
        self.deadline = time.perf_counter() + timeout
        self.phases = dict.fromkeys(PHASES, 0.0)
        self.dns = None
        self.ip_protocol = None
        self.cert_expiry = None
        self.tls_version = None
        self.head: http.client.HTTPResponse | None = None  # the latest response head, even if its body failed

    def remaining(self) -> float:
        left = self.deadline - time.perf_counter()
        if left <= 0:
            raise _Timeout("probe timed out")
        return left

    def timed(self, phase: str, fn, *args, **kw):
        start = time.perf_counter()
        try:
            return fn(*args, **kw)
        finally:
            self.phases[phase] += time.perf_counter() - start

    def open(self, url: str) -> http.client.HTTPConnection:
        self.head = None
        parts = urlsplit(url)
        https = parts.scheme == "https"
        host, port = parts.hostname or "", parts.port or (443 if https else 80)
        family = {"ip4": socket.AF_INET, "ip6": socket.AF_INET6}.get(self.t.get("ip_protocol", ""), socket.AF_UNSPEC)
        start = time.perf_counter()
        infos = self.timed("resolve", socket.getaddrinfo, host, port, family, socket.SOCK_STREAM)
        if self.dns is None:
            self.dns = time.perf_counter() - start
        af, st, proto, _, sa = infos[0]
        self.ip_protocol = 6 if af == socket.AF_INET6 else 4
        sock = socket.socket(af, st, proto)
        on_deadline(lambda: shutdown_socket(sock))
        try:
            sock.settimeout(self.remaining())
            self.timed("connect", sock.connect, sa)
            if https:
                ctx = ssl.create_default_context(cafile=self.t.get("ca_file"))
                if self.t.get("insecure_skip_verify"):
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                sock.settimeout(self.remaining())
                sock = self.timed("tls", ctx.wrap_socket, sock, server_hostname=self.t.get("server_name") or host)
                on_deadline(lambda: shutdown_socket(sock))  # the plain socket was detached into this one
                cert = sock.getpeercert()
                if cert and cert.get("notAfter"):
                    expiry = ssl.cert_time_to_seconds(cert["notAfter"])
                    self.cert_expiry = expiry if self.cert_expiry is None else min(self.cert_expiry, expiry)
                self.tls_version = sock.version()
        except BaseException:
            sock.close()
            raise
        conn = (http.client.HTTPSConnection if https else http.client.HTTPConnection)(host, port)
        conn.sock = sock
        conn.auto_open = 0  # never reconnect behind our back: the keep-alive check depends on it
        return conn

    def headers(self, url: str) -> dict[str, str]:
        parts = urlsplit(url)
        h = {"Host": parts.netloc.rpartition("@")[2], "User-Agent": "perfadvisor-exporter",
             "Accept-Encoding": self.t.get("accept_encoding", "gzip, br"), "Connection": "keep-alive"}
        user, password = self.t.get("username"), resolve_secret(self.t)
        if parts.username and not user:
            user, password = unquote(parts.username), unquote(parts.password or "")
        if user:
            h["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()
        h.update(self.t.get("headers") or {})
        if not h["Accept-Encoding"]:
            h["Accept-Encoding"] = "identity"
        return h

    def request(self, conn: http.client.HTTPConnection, url: str) -> tuple[http.client.HTTPResponse, bytes]:
        parts = urlsplit(url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = self.t.get("body")
        sock = conn.sock  # http.client drops conn.sock once a response says it will close
        sock.settimeout(self.remaining())
        start = time.perf_counter()
        conn.request(self.t.get("method", "GET"), path, body=body.encode() if body else None,
                     headers=self.headers(url))
        resp = self.head = conn.getresponse()
        self.phases["processing"] += time.perf_counter() - start
        sock.settimeout(self.remaining())
        limit = int(self.t.get("body_size_limit", DEFAULT_BODY_LIMIT))
        data = self.timed("transfer", resp.read, limit + 1)
        if len(data) > limit:
            raise ValueError(f"response body exceeds body_size_limit ({limit} bytes)")
        return resp, data


def _decoded_length(data: bytes, encoding: str) -> int | None:
    try:
        if encoding in ("gzip", "x-gzip"):
            return len(gzip.decompress(data))
        if encoding == "deflate":
            try:
                return len(zlib.decompress(data))
            except zlib.error:
                return len(zlib.decompress(data, -zlib.MAX_WBITS))
        if encoding in ("", "identity"):
            return len(data)
    except (OSError, zlib.error, EOFError):
        return None
    return None  # br/zstd: no decoder in the standard library


def _valid(status: int, valid: list[int] | None) -> bool:
    return status in valid if valid else 200 <= status < 300


def probe(target: Mapping[str, Any], timeout: float) -> Families:
    """Probe one URL; never raises for a target problem (that is probe_success 0)."""
    url = str(target["url"])
    lab = {"target": redact_url(url)}
    p = _Probe(target, timeout)
    start = time.perf_counter()
    f = Families()
    success, resp, data, redirects, conn, reused, end = False, None, b"", 0, None, None, None
    current = url
    try:
        while True:
            resp = None
            conn = p.open(current)
            resp, data = p.request(conn, current)
            location = resp.getheader("Location")
            if resp.status in _REDIRECTS and location and not target.get("no_follow_redirects") and redirects < 10:
                conn.close()
                redirects += 1
                current = urljoin(current, location)
                continue
            break
        success = _valid(resp.status, target.get("valid_status_codes"))
        end = time.perf_counter()
        if not resp.will_close and target.get("check_keepalive", True):
            # the reuse check is not part of the timed probe: keep the phases and duration of the first request
            phases = dict(p.phases)
            try:
                sock = conn.sock
                second, _ = p.request(conn, current)
                reused = int(conn.sock is sock and second.status < 500)
            except (_Timeout, OSError, http.client.HTTPException):
                reused = 0
            p.phases = phases
    except Exception as e:  # the target is down, hangs, or speaks no HTTP: a failed probe, logged without secrets
        err = scrub(f"{type(e).__name__}: {e}", target_secrets(target))
        log.warning("http probe failed", extra={"kv": {"collector": "http_probe", "target": lab["target"], "err": err}})
        success = False
    finally:
        if conn is not None:
            conn.close()
    f.gauge("probe_success", "Displays whether or not the probe was a success", lab, int(success))
    f.gauge("probe_duration_seconds", "Returns how long the probe took to complete in seconds", lab,
            (end or time.perf_counter()) - start)
    if p.dns is not None:
        f.gauge("probe_dns_lookup_time_seconds", "Returns the time taken for probe dns lookup in seconds", lab, p.dns)
    if p.ip_protocol:
        f.gauge("probe_ip_protocol", "Specifies whether probe ip protocol is IP4 or IP6", lab, p.ip_protocol)
    for phase in PHASES:
        f.gauge("probe_http_duration_seconds", "Duration of http request by phase, summed over all redirects",
                {**lab, "phase": phase}, p.phases[phase])
    f.gauge("probe_http_redirects", "The number of redirects", lab, redirects)
    f.gauge("probe_http_ssl", "Indicates if SSL was used for the final redirect", lab,
            int(urlsplit(current).scheme == "https"))
    if p.cert_expiry is not None:
        f.gauge("probe_ssl_earliest_cert_expiry", "Returns last SSL chain expiry in unixtime", lab, p.cert_expiry)
    if p.tls_version:
        f.gauge("probe_tls_version_info", "Returns the TLS version used or NaN when unknown",
                {**lab, "version": p.tls_version.replace("TLSv", "TLS ")}, 1)
    if resp is None:
        f.gauge("probe_http_status_code", "Response HTTP status code", lab, p.head.status if p.head else 0)
        return f
    _response_metrics(f, lab, resp, data, reused)
    return f



def _response_metrics(f: Families, lab: dict, resp: http.client.HTTPResponse, data: bytes, reused: int | None) -> None:
    length = resp.getheader("Content-Length")
    encoding = (resp.getheader("Content-Encoding") or "").strip().lower()
    f.gauge("probe_http_status_code", "Response HTTP status code", lab, resp.status)
    f.gauge("probe_http_content_length", "Length of http content response", lab,
            int(length) if length and length.isdigit() else -1)
    decoded = _decoded_length(data, encoding)
    if decoded is not None:
        f.gauge("probe_http_uncompressed_body_length", "Length of uncompressed response body", lab, decoded)
    f.gauge("probe_http_version", "Returns the version of HTTP of the probe response", lab,
            {9: 0.9, 10: 1.0, 11: 1.1, 20: 2.0}.get(resp.version, 0))
    modified = resp.getheader("Last-Modified")
    if modified:
        try:
            f.gauge("probe_http_last_modified_timestamp_seconds", "Returns the Last-Modified HTTP response header "
                    "in unixtime", lab, parsedate_to_datetime(modified).timestamp())
        except (TypeError, ValueError):
            pass
    f.gauge(_X + "compressed", "1 if the response body had a compressing Content-Encoding (gzip, br, ...).", lab,
            int(encoding in _COMPRESSIONS))
    f.gauge(_X + "body_bytes", "Bytes of response body as transferred (after any compression).", lab, len(data))
    f.gauge(_X + "keepalive_offered", "1 if the server left the connection open after the response.", lab,
            int(not resp.will_close))
    if reused is not None:
        f.gauge(_X + "connection_reused", "1 if a second request on the same connection succeeded.", lab, reused)
    cc = resp.getheader("Cache-Control") or ""
    m = _MAX_AGE.search(cc)
    max_age = 0 if re.search(r"no-store|no-cache", cc, re.I) else int(m.group(1)) if m else -1
    f.gauge(_X + "cache_max_age_seconds", "Cache-Control max-age; 0 for no-store/no-cache, -1 when absent.", lab,
            max_age)
    f.gauge(_X + "etag_present", "1 if the response carried an ETag.", lab, int(bool(resp.getheader("ETag"))))
    f.gauge(_X + "last_modified_present", "1 if the response carried Last-Modified.", lab, int(bool(modified)))


def _down(target: Mapping[str, Any], why: str) -> Families:
    f = Families()
    f.gauge("probe_success", "Displays whether or not the probe was a success", {"target": redact_url(target["url"])}, 0)
    return f


@register("http_probe", default=False, help="HTTP(S) probes with phase timings (blackbox_exporter names).",
          config_schema=targets_schema({
              "url": {"type": "string", "pattern": "^https?://", "description": "URL to probe."},
              "timeout": TIMEOUT_SCHEMA,
              "method": {"type": "string", "default": "GET"},
              "headers": {"type": "object", "additionalProperties": {"type": "string"}},
              "body": {"type": "string"},
              "valid_status_codes": {"type": "array", "items": {"type": "integer"},
                                     "description": "Status codes that count as success (default: any 2xx)."},
              "no_follow_redirects": {"type": "boolean"},
              "accept_encoding": {"type": "string", "description": "Accept-Encoding sent (default 'gzip, br'; '' for none)."},
              "body_size_limit": {"type": "integer", "minimum": 1,
                                  "description": "Largest body read; a bigger one fails the probe (default 10 MiB)."},
              "check_keepalive": {"type": "boolean", "description": "Send a second request to check connection reuse (default true)."},
              "ip_protocol": {"enum": ["ip4", "ip6", ""]},
              "ca_file": {"type": "string"}, "server_name": {"type": "string"},
              "insecure_skip_verify": {"type": "boolean"},
              "username": {"type": "string"}, **SECRET_SCHEMA}, required=["url"]))
class HttpProbeCollector(ProbeCollector):
    families = (
        Family("probe_success", "gauge", ("target",)),
        Family("probe_duration_seconds", "gauge", ("target",)),
        Family("probe_dns_lookup_time_seconds", "gauge", ("target",)),
        Family("probe_ip_protocol", "gauge", ("target",)),
        Family("probe_http_duration_seconds", "gauge", ("target", "phase")),
        Family("probe_http_{status_code,content_length,uncompressed_body_length,version,redirects,ssl}", "gauge",
               ("target",)),
        Family("probe_http_last_modified_timestamp_seconds", "gauge", ("target",)),
        Family("probe_ssl_earliest_cert_expiry", "gauge", ("target",)),
        Family("probe_tls_version_info", "gauge", ("target", "version")),
        Family("perfadvisor_probe_http_{compressed,body_bytes,keepalive_offered,connection_reused}", "gauge",
               ("target",)),
        Family("perfadvisor_probe_http_{cache_max_age_seconds,etag_present,last_modified_present}", "gauge",
               ("target",)),
    )

    name = "http_probe"
    probe = staticmethod(probe)
    down = staticmethod(_down)

    def label(self, target: Mapping[str, Any]) -> str:
        return redact_url(target["url"])
