"""A Prometheus-compatible HTTP API as a data source (Prometheus, Thanos, Mimir, VictoriaMetrics, …).

Queries go out as form POSTs to ``/api/v1/query`` and ``/api/v1/query_range``. Each request is bounded as a
whole by ``timeout`` and its answer by ``max_answer_bytes`` (transport.py); connection errors, timeouts and 5xx
answers are retried with exponential backoff within a total budget of ``timeout × (retries + 1)``, then raised
as ``SourceError``; a query the server rejects (4xx, ``status: error``) is a ``QueryError``. URLs in messages
never carry credentials.
"""
from __future__ import annotations

import dataclasses
import os
import re
import threading
import warnings as _warnings
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests

from . import transport
import numpy as np

from .base import Points, QueryError, QueryResult, Series, SourceError

try:  # decodes straight from bytes, ~4x faster than json on range answers; json stays a fallback
    from orjson import loads as _loads
    _fast_loads = _loads
except ImportError:  # pragma: no cover
    from json import loads as _loads
    _fast_loads = None

MAX_ANSWER_BYTES = 64 << 20
_POINTS = object()   # key of a decoded body's points, set by _parse (never a JSON key)


@dataclass(frozen=True)
class PrometheusConfig:
    """How to reach and authenticate to the API. Secrets are kept out of ``repr``."""

    url: str
    bearer_token: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify: bool = True
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = 30.0          # each request as a whole: connect, headers and body
    retries: int = 2               # all attempts and backoff together stay within timeout × (retries + 1)
    backoff: float = 0.5
    max_answer_bytes: int = MAX_ANSWER_BYTES
    # gzip saves bandwidth to a remote server but costs CPU on both ends; loopback/LAN servers are faster without.
    compression: bool | None = None   # None: off for loopback hosts, on otherwise


def redact_url(url: str) -> str:
    """The URL without userinfo, query string or fragment (they may carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


_VALUES = re.compile(rb'"(values?)"\s*:\s*\[')
_NOT_NUMBERS = b'[]"'
_NUMBER_BYTES = b"0123456789.,+-eE \t\r\n"
_CHUNK = 8 << 20


def split_points(raw: bytes):
    """An answer's points decoded straight from the bytes into two float arrays, and the rest of the answer
    (labels, status, warnings) with every ``"values"`` (matrix) or ``"value"`` (vector) array emptied, for
    the JSON decoder.

    ``(skeleton, counts, ts, vs)``, or None when the answer is not one this reads exactly (then the whole
    body goes through the JSON decoder). A range answer is almost all points: as JSON objects they cost a
    list, a float and a string each (~160 bytes and most of the decoding time); here 16 bytes, and numpy
    parses them in C. Points are ``[ts,"value"]`` pairs; a ``"values"`` array ends at the first ``]]``, a
    ``"value"`` pair at the first ``]`` (numbers and number strings hold no brackets). Any mismatch in the
    counts falls back to the decoder, and the caller checks the skeleton's shape."""
    found = list(_VALUES.finditer(raw))
    if not found or len({m.group(1) for m in found}) != 1:
        return None
    matrix = found[0].group(1) == b"values"
    pieces, spans, at = [], [], 0
    for m in found:
        s = m.end()
        if s < at:
            return None
        if raw.startswith(b"]", s):
            e = s
        elif matrix:
            e = raw.find(b"]]", s)
            if e < 0:
                return None
            e += 1   # the last point's closing bracket; the array's own stays in the skeleton
        else:
            e = raw.find(b"]", s)
            if e < 0:
                return None
        pieces.append(raw[at:s])
        spans.append((s, e))
        at = e
    pieces.append(raw[at:])
    if matrix:
        counts = [raw.count(b"[", s, e) for s, e in spans]
    else:
        counts = [1 if e > s else 0 for s, e in spans]
    total = sum(counts)
    ts, vs = np.empty(total), np.empty(total)
    k, group, size, filled = 0, [], 0, 0
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("error")
            for i, (s, e) in enumerate(spans):
                if e > s:
                    group.append(raw[s:e])
                    size += e - s
                    k += counts[i]
                if group and (size >= _CHUNK or i == len(spans) - 1):
                    nums = _numbers(b",".join(group).translate(None, _NOT_NUMBERS))
                    if len(nums) != 2 * (k - filled):
                        return None
                    ts[filled:k], vs[filled:k] = nums[0::2], nums[1::2]
                    filled, group, size = k, [], 0
    except (ValueError, DeprecationWarning):
        return None
    if filled != total:
        return None
    return b"".join(pieces), counts, ts, vs


def _numbers(text: bytes):
    """Comma-separated numbers as a float array. A JSON decoder reads them 2-3x faster than numpy's text parser
    (both round correctly) when the text is only JSON numbers; NaN and ±Inf are not JSON, and -0 would come back
    as the integer 0: those go to numpy, as does anything else (``true``, ``null``), which numpy refuses."""
    if (_fast_loads is not None and not text.translate(None, _NUMBER_BYTES) and b"-0," not in text
            and not text.endswith(b"-0")):
        try:
            return np.array(_fast_loads(b"[" + text + b"]"), dtype=float)
        except ValueError:   # not numbers after all: numpy names the problem
            pass
    return np.fromstring(text, dtype=float, sep=",")


def _emptied(body: dict, counts: list[int]) -> bool:
    """Whether a decoded skeleton is a matrix (vector) whose series are, in order, the ``"values"``
    (``"value"``) arrays split off."""
    data = body.get("data")
    result = data.get("result") if isinstance(data, dict) else None
    key = {"matrix": "values", "vector": "value"}.get(data.get("resultType")) if isinstance(data, dict) else None
    return (key is not None and isinstance(result, list) and len(result) == len(counts)
            and all(isinstance(item, dict) and item.get(key) == [] for item in result))


def parse_data(query: str, data: dict, warnings: tuple[str, ...] = (), labelsets: dict | None = None,
               points=None) -> QueryResult:
    """The ``data`` field of an API answer as a QueryResult; `labelsets` shares label dicts between answers;
    `points` is ``(counts, ts, vs)`` from ``split_points`` for a matrix whose ``values`` arrays it emptied."""
    try:
        kind, result = data["resultType"], data["result"]
        if kind in ("scalar", "string"):
            t, v = result
            return QueryResult(kind, (Series({}, ((float(t), float(v) if kind == "scalar" else v),)),), warnings)
        labelsets = {} if labelsets is None else labelsets
        metrics = []
        if points is not None:
            counts, ts, vs = points
            key = {"matrix": "values", "vector": "value"}.get(kind)
            if key is None or len(result) != len(counts) or any(item.get(key) != [] for item in result):
                raise ValueError("points do not match the answer's series")
            for item in result:
                metric = item.get("metric") or {}
                metrics.append(labelsets.setdefault(tuple(metric.items()), metric))
        else:
            columns = []
            for item in result:
                if kind == "vector":
                    pts = (item["value"],) if "value" in item else ()
                else:
                    pts = item.get("values", [])
                # A fleet answers the same label sets to many queries: one dict per distinct set, not per answer.
                metric = item.get("metric") or {}
                metrics.append(labelsets.setdefault(tuple(metric.items()), metric))
                # Native histograms ("histogram"/"histograms") carry no float value; the packs do not use them.
                columns.append(tuple(zip(*pts)) if pts else ((), ()))
            # JSON timestamps are numbers; values are strings ("1.5", "NaN", "+Inf"): numpy parses all of an
            # answer's values in one call, then each series keeps its slice.
            counts = [len(c[0]) for c in columns]
            ts = np.fromiter((t for c in columns for t in c[0]), dtype=float, count=sum(counts))
            vs = np.array([v for c in columns for v in c[1]], dtype=str).astype(float) if ts.size else np.zeros(0)
        series, at = [], 0
        one = kind == "vector"   # one point a series: a tuple is smaller than two array views
        for metric, n in zip(metrics, counts):
            if one and n == 1:
                series.append(Series(metric, ((float(ts[at]), float(vs[at])),)))
            else:
                series.append(Series(metric, Points.of(ts[at:at + n], vs[at:at + n]) if n else ()))
            at += n
        return QueryResult(kind, tuple(series), warnings)
    except (KeyError, TypeError, ValueError) as e:
        raise QueryError(query, f"unexpected result shape: {type(e).__name__}: {e}") from None


class PrometheusSource:
    """Data source over HTTP; safe to share between threads (one requests.Session per thread)."""

    name = "prometheus"

    def __init__(self, config: PrometheusConfig):
        from .inputs import check_url
        check_url(config.url, "Prometheus URL")
        self.config = config
        parts = urlsplit(config.url)
        self._user = config.username or (parts.username and requests.utils.unquote(parts.username))
        self._password = config.password or (parts.password and requests.utils.unquote(parts.password)) or ""
        self.base = redact_url(config.url).rstrip("/")
        if config.compression is None:
            loopback = (parts.hostname or "") in ("localhost", "127.0.0.1", "::1")
            self.config = config = dataclasses.replace(config, compression=not loopback)
        self._verify = config.ca_file if (config.verify and config.ca_file) else config.verify
        # What requests would read from the environment on every request (proxies and NO_PROXY, a CA bundle,
        # ~/.netrc: ~1 ms of CPU per request), read once: the sessions then do not look again.
        self._proxies = requests.utils.get_environ_proxies(self.base)
        if self._verify is True:
            self._verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self._netrc = None if self._user else requests.utils.get_netrc_auth(self.base)
        if not config.verify:  # the operator asked for it (--insecure); one warning per request is noise
            import urllib3
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._local = threading.local()
        self._labelsets: dict[tuple, dict] = {}   # label sets seen in this run, shared between answers
        self._decode = threading.Lock()
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._failed: SourceError | None = None   # once the source has failed, other threads stop retrying

    def _session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            c = self.config
            s = transport.session()
            s.trust_env = False
            s.proxies.update(self._proxies)
            s.headers.update({"User-Agent": "perfadvisor-advisor", "Accept": "application/json"})
            if c.compression is False:
                s.headers["Accept-Encoding"] = "identity"
            s.headers.update(dict(c.headers))
            if c.bearer_token:
                s.headers["Authorization"] = f"Bearer {c.bearer_token}"
            elif self._user:
                s.auth = (self._user, self._password)
            if s.auth is None and self._netrc:   # as requests does: ~/.netrc when no basic auth is configured
                s.auth = self._netrc
            if c.cert_file:
                s.cert = (c.cert_file, c.key_file) if c.key_file else c.cert_file
            self._local.session = s
        return s

    def instant(self, query: str, time: float) -> QueryResult:
        return self._query("/api/v1/query", query, {"query": query, "time": f"{time:.3f}"})

    def range(self, query: str, start: float, end: float, step: float) -> QueryResult:
        return self._query("/api/v1/query_range", query,
                           {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"})

    def raw(self, path: str, form: dict) -> dict:
        """The JSON body of a successful API call (used for ``stats=all`` by the benchmark)."""
        return self._post(path, form.get("query", ""), form)

    def get(self, path: str, params: dict | None = None) -> dict:
        """The JSON body of a successful GET of an API path (``/api/v1/targets``, ``/api/v1/status/config``)."""
        return self._post(path, "", params or {}, method="GET")

    def _query(self, path: str, query: str, form: dict) -> QueryResult:
        # One answer is decoded at a time: the decoded JSON tree is ~5x the body (a list, a float and a string per
        # point) and lives only until its points are columns; decoding is CPU-bound under the GIL anyway, so
        # serialising it costs no speed and keeps one tree, not `concurrency` trees, in memory at once.
        return self._post(path, query, form, convert=lambda body: self._result(query, body))

    def _result(self, query: str, body: dict) -> QueryResult:
        warnings = tuple(str(w) for w in (body.get("warnings") or []))
        if warnings:
            with self._lock:
                self.warnings.extend(w for w in warnings if w not in self.warnings)
        return parse_data(query, body.get("data") or {}, warnings, self._labelsets, body.pop(_POINTS, None))

    def _post(self, path: str, query: str, form: dict, method: str = "POST", convert=None):
        url = self.base + path
        c = self.config
        budget = time.monotonic() + c.timeout * (c.retries + 1)
        attempt = 0
        while True:
            if self._failed is not None:
                raise self._failed
            try:
                # verify per request: a Session's verify loses to REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE in requests.
                answer = transport.post(self._session(), url, form, verify=self._verify,
                                        deadline=min(time.monotonic() + c.timeout, budget),
                                        max_bytes=c.max_answer_bytes, method=method)
            except transport.Deadline:
                problem = f"timed out after {c.timeout:g}s"
            except transport.TooLarge as e:
                self._failed = SourceError(
                    f"Prometheus at {url} failed: the answer is larger than the {_bytes(c.max_answer_bytes)} "
                    f"limit{' (Content-Length)' if e.declared else ''}; narrow the query or raise "
                    "PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES / prometheus.max_answer_bytes")
                raise self._failed from None
            except requests.exceptions.SSLError as e:
                raise SourceError(f"TLS error talking to {url}: {_reason(e)}") from None
            except requests.exceptions.ConnectionError as e:
                problem = f"cannot connect ({_reason(e)})"
            except requests.exceptions.RequestException as e:
                problem = f"broken answer ({type(e).__name__})"
            else:
                if answer.status < 500:
                    if convert is None:
                        return self._parse(answer, url, query)
                    with self._decode:
                        return convert(self._parse(answer, url, query, points=True))
                problem = f"HTTP {answer.status}{_server_error(answer.body)}"
            pause = c.backoff * (2 ** attempt)
            if attempt >= c.retries or time.monotonic() + pause >= budget:
                self._failed = SourceError(f"Prometheus at {url} failed: {problem}"
                                           + (f" (after {attempt + 1} attempts)" if attempt else ""))
                raise self._failed
            time.sleep(pause)
            attempt += 1

    @staticmethod
    def _parse(answer: transport.Answer, url: str, query: str, points: bool = False) -> dict:
        if answer.status in (401, 403):
            raise SourceError(f"Prometheus at {url} refused the credentials: HTTP {answer.status}")
        if answer.status == 404:
            raise SourceError(f"{url} answered 404: not a Prometheus API (check the URL's path prefix)")
        split = split_points(answer.body) if points and answer.status == 200 else None
        try:
            body = _loads(answer.body if split is None else split[0])
            if split is not None and isinstance(body, dict) and body.get("status") == "success":
                if not _emptied(body, split[1]):   # not the shape it looked like: decode the whole body
                    return PrometheusSource._parse(answer, url, query)
                body[_POINTS] = split[1:]
        except ValueError:
            if split is not None:   # the skeleton should never be worse JSON than the body; decode that to say so
                return PrometheusSource._parse(answer, url, query)
            raise SourceError(f"invalid response from {url}: HTTP {answer.status}, body is not JSON") from None
        if not isinstance(body, dict) or "status" not in body:
            raise SourceError(f"invalid response from {url}: not a Prometheus API answer")
        if body["status"] != "success":
            msg = f"{body.get('errorType', 'error')}: {body.get('error', '')}".strip()
            if answer.status in (400, 422) or body.get("errorType") in ("bad_data", "execution"):
                raise QueryError(query, msg)
            raise SourceError(f"Prometheus at {url} failed: HTTP {answer.status}: {msg}")
        return body


def _bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def _reason(e: Exception) -> str:
    text = str(e)
    for key in ("Connection refused", "Name or service not known", "No route to host", "timed out",
                "Connection reset", "certificate verify failed", "Remote end closed"):
        if key.lower() in text.lower():
            return key.lower()
    return type(e).__name__


def _server_error(body: bytes) -> str:
    try:
        data = _loads(body)
        return f": {data.get('error', '')}" if isinstance(data, dict) and data.get("error") else ""
    except ValueError:
        return ""
