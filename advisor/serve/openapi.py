"""The API's contract: the JSON Schemas request bodies are validated with, and the OpenAPI document that
``/api/openapi.json`` serves (built from the same schemas, so the two cannot drift)."""
from __future__ import annotations

from typing import Any

from .scope import AREAS

OPTIMIZE_BODY: dict[str, Any] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "parameters": {
            "type": "object", "maxProperties": 64,
            "description": "Pack parameter overrides for this evaluation, as --set: NAME or PACK.NAME.",
            "propertyNames": {"pattern": r"^([a-z][a-z0-9_-]{0,63}\.)?[a-zA-Z_][a-zA-Z0-9_]{0,63}$"},
            "additionalProperties": {"type": ["string", "number", "boolean"],
                                     "maxLength": 1024},
        },
        "targets": {
            "type": "array", "maxItems": 32,
            "description": 'Target label matchers, e.g. instance=~"web-.*": only findings on matching targets.',
            "items": {"type": "string", "minLength": 3, "maxLength": 1024},
        },
    },
}

_DURATION = {"type": ["string", "number"], "maxLength": 32,
             "description": 'A duration: "30s", "1m30s", or a number of seconds.'}
BENCHMARK_BODY: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["targets"],
    "description": "A bench as `advisor bench` runs it (same caps: rate 100,000/s, 1h of load, 10m warmup, 10,000 "
                   "connections); every target URL must be on the service's --bench.allow list.",
    "properties": {
        "targets": {"type": "array", "minItems": 1, "maxItems": 16, "items": {
            "type": "object", "additionalProperties": False, "required": ["url"],
            "properties": {
                "url": {"type": "string", "maxLength": 2048, "pattern": "^https?://"},
                "method": {"enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]},
                "headers": {"type": "object", "maxProperties": 32,
                            "additionalProperties": {"type": "string", "maxLength": 4096}},
                "body": {"type": "string", "maxLength": 65536},
                "weight": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000000},
                "name": {"type": "string", "maxLength": 200}}}},
        "rate": {"type": "number", "description": "Open model: requests per second."},
        "stages": {"type": "array", "maxItems": 100, "items": {
            "type": "object", "additionalProperties": False, "required": ["duration", "target"],
            "properties": {"duration": _DURATION, "target": {"type": "number"}}}},
        "duration": _DURATION, "warmup": _DURATION, "timeout": _DURATION,
        "connections": {"type": "integer"},
        "thresholds": {"type": "array", "maxItems": 32, "items": {"type": "string", "maxLength": 100}},
        "observe": {
            "type": "object", "additionalProperties": False,
            "description": "With a Prometheus as the service's source: what it saw during the run (CPU and memory "
                           "per 1,000 requests of the process group and host) and what saturated (the service's "
                           "packs evaluated over the run's window), as `advisor bench --prometheus` reports them.",
            "properties": {
                "instance": {"type": "string", "maxLength": 512, "description": "Regex of the host's instance."},
                "groupname": {"type": "string", "maxLength": 512,
                              "description": "Regex of the target's process group."},
                "settle": _DURATION, "scrape_interval": _DURATION}},
    },
}

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
OBJ = {"type": "object"}


def _resp(desc: str, schema: dict = OBJ, errors: tuple[int, ...] = (401,)) -> dict:
    out = {"200": {"description": desc, "content": {"application/json": {"schema": schema}}}}
    texts = {400: "Bad request (the reason in `error`)", 401: "Credentials missing or wrong",
             404: "Not found", 413: "Body too large", 415: "Not JSON", 429: "Rate limited (see Retry-After)",
             503: "Evaluation did not finish in time", 403: "Not allowed (benchmarks off, or a target not on "
             "the allow-list)", 409: "A benchmark is already running", 422: "Over a cap of the load generator"}
    for code in errors:
        out[str(code)] = {"description": texts[code], "content": {"application/json": {"schema": ERROR}}}
    return out


def _q(name: str, desc: str, repeat: bool = True) -> dict:
    schema = {"type": "array", "items": {"type": "string"}} if repeat else {"type": "string"}
    return {"name": name, "in": "query", "required": False, "description": desc, "schema": schema,
            "explode": True}


def document(version: str) -> dict:
    paths: dict[str, Any] = {
        "/api/performance/optimize": {"get": {
            "summary": "Current recommendations (the last scheduled run), filtered.",
            "parameters": [_q("category", "optimization, scaling or alert"), _q("severity", "info, warning, critical"),
                           _q("dimension", "e.g. cpu, memory, disk"), _q("pack", "pack name"),
                           _q("target", 'label matcher, e.g. instance=~"web-.*"'),
                           _q("detail", "summary (default) or full: with each finding's chart series and "
                                        "evidence", False)],
            "responses": _resp("Findings and pending findings with history", errors=(400, 401))}},
        "/api/performance/metrics/live": {"get": {
            "summary": "Key live figures per target (CPU, memory, load, disk, network, top process groups).",
            "responses": _resp("Figures by instance", errors=(401, 503))}},
        "/api/performance/scaling/recommendations": {"get": {
            "summary": "Right-sizing, replicas, cost impact, confidence and risk, with each one's history.",
            "responses": _resp("Recommendations")}},
        "/api/performance/analytics": {"get": {
            "summary": "Score and trend per dimension, top issues, opened/resolved counts, time to resolve.",
            "responses": _resp("Analytics")}},
        "/api/performance/memory/leaks": {"get": {
            "summary": "Leak findings (RSS, fds, threads) with growth rate and time to exhaustion.",
            "responses": _resp("Leaks")}},
        "/api/performance/runs": {"get": {
            "summary": "Recorded runs, newest first.",
            "parameters": [_q("limit", "at most this many (1-1000, default 100)", False),
                           _q("before", "runs with an id below this", False)],
            "responses": _resp("Runs", errors=(400, 401))}},
        "/api/performance/runs/{id}": {"get": {
            "summary": "One run with its findings.",
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": _resp("The run", errors=(401, 404))}},
        "/api/performance/runs/{id}/diff/{other}": {"get": {
            "summary": "Findings new in `other`, resolved since `id`, and changed.",
            "parameters": [{"name": n, "in": "path", "required": True, "schema": {"type": "integer"}}
                           for n in ("id", "other")],
            "responses": _resp("The difference", errors=(401, 404))}},
        "/api/performance/stream": {"get": {
            "summary": "Server-sent events: run_finished, finding_opened, finding_resolved, score_changed.",
            "responses": {"200": {"description": "text/event-stream"}}}},
        "/api/performance/ws": {"get": {
            "summary": "WebSocket with the same events as JSON messages.",
            "responses": {"101": {"description": "Switching protocols"}}}},
        "/health": {"get": {"summary": "Liveness and readiness in one.", "responses": _resp("ok")}},
        "/health/live": {"get": {"summary": "200 while the process runs (no credentials needed).",
                                 "responses": _resp("ok", errors=())}},
        "/health/ready": {"get": {"summary": "200 once the first run finished or the source answers.",
                                  "responses": {"200": {"description": "ready"}, "503": {"description": "not yet"}}}},
        "/health/detailed": {"get": {"summary": "Source, last run, store, subscribers, per-pack schedule.", "responses": _resp("ok")}},
        "/metrics": {"get": {"summary": "Prometheus metrics: the service's own, and the findings.",
                             "responses": {"200": {"description": "text/plain; version=0.0.4"}}}},
    }
    paths["/api/performance/benchmark"] = {
        "post": {"summary": "Start a bench against allow-listed targets (one at a time: 409 while one runs).",
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/BenchmarkRequest"}}}},
                 "responses": {"202": {"description": "Started: its id (poll GET …/benchmark/{id})"},
                               **{k: v for k, v in _resp("-", errors=(400, 401, 403, 409, 413, 415, 422,
                                                                      429)).items() if k != "200"}}},
        "get": {"summary": "Benchmarks, newest first.", "parameters": [_q("limit", "1-1000, default 100", False)],
                "responses": _resp("Benchmarks", errors=(400, 401))}}
    paths["/api/performance/benchmark/{id}"] = {"get": {
        "summary": "A bench's status, summary (rate, percentiles, errors), thresholds and its comparison with the "
                   "previous bench of the same target; the full result (per-second intervals, histograms) with "
                   "detail=full.",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                       _q("detail", "summary (default) or full", False)],
        "responses": _resp("The benchmark", errors=(401, 404))}}
    for area, packs in AREAS.items():
        paths[f"/api/performance/{area}/optimize"] = {"post": {
            "summary": f"Evaluate the {area} area now (packs: {', '.join(packs)}).",
            "requestBody": {"required": False, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/OptimizeRequest"}}}},
            "responses": _resp("The run id and its findings", errors=(400, 401, 413, 415, 429, 503))}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "perfadvisor advisor serve", "version": version,
                 "description": "Findings, scores, scaling recommendations and their history. Errors are "
                                "{\"error\": \"...\"} with a 4xx status."},
        "paths": paths,
        "components": {"schemas": {"OptimizeRequest": OPTIMIZE_BODY, "BenchmarkRequest": BENCHMARK_BODY,
                                   "Error": ERROR},
                       "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"basic": []}],
    }
