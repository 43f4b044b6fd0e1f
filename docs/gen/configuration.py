"""docs/configuration.md: the exporter's settings (from its settings table) and the advisor's (flags, file, env).

The tables of settings and environment variables are generated; the prose around them lives here.
"""
from __future__ import annotations

import re
from pathlib import Path

import click

import perfadvisor.advisor
from perfadvisor.advisor.cli import cli as advisor_cli
from perfadvisor.advisor.serve.options import SETTINGS as SERVE_SETTINGS
from perfadvisor.exporter.config import BASE_SETTINGS

from .markdown import cell, header

SOURCE = "the exporter's settings table (perfadvisor.exporter.config) and the advisor's options and sources"

EXPORTER_INTRO = """\
## Exporter

Every setting can be given as a flag, an environment variable or a key in the YAML file named by `--config`
(`PERFADVISOR_CONFIG`). Precedence: **flag > `PERFADVISOR_*` environment variable > config file > default**.
The variable is the flag upper-cased with `.` and `-` turned into `_`: `--web.listen-address` →
`PERFADVISOR_WEB_LISTEN_ADDRESS`, `--collector.textfile.directory` → `PERFADVISOR_COLLECTOR_TEXTFILE_DIRECTORY`,
`--no-collector.pressure` → `PERFADVISOR_COLLECTOR_PRESSURE=false`. A `PERFADVISOR_COLLECTOR_*` variable that
matches no setting is logged as a warning.

### Settings

| flag | environment variable | YAML key | default | meaning |
|---|---|---|---|---|
"""

EXPORTER_REST = """\
| `--collector.NAME` / `--no-collector.NAME` | `PERFADVISOR_COLLECTOR_NAME` (`true`/`false`) | `collectors.NAME` | the collector's default | Enable or disable one collector ([collectors.md](collectors.md)). |
| `--collector.NAME.SETTING` | `PERFADVISOR_COLLECTOR_NAME_SETTING` | `collectors_config.NAME.SETTING` | from the collector's schema | One flag per scalar setting of a collector; list settings are set in the file ([collectors.md](collectors.md)). |
| `--config FILE` | `PERFADVISOR_CONFIG` | | | The YAML config file. |
| `--debug` | `PERFADVISOR_DEBUG` | | | Debug logging, and tracebacks on unexpected errors. |

`--web.listen-address` takes `HOST:PORT`, `:PORT` (all interfaces, IPv4 and IPv6) or `[IPv6]:PORT`; repeat it
(or give a list in the file) to listen on several. `/metrics` is always served besides `--web.telemetry-path`.
The `--collector.*` flags are generated from the collector registry: one enable/disable pair per collector and
one flag per scalar setting in the collector's JSON Schema. The config file is validated against a JSON Schema
assembled from the base settings above and every collector's schema; an unknown key or collector name is an
error that names the line and lists the known collectors, e.g.
`/etc/perfadvisor/exporter.yml:3: web.max_requests: -1 is less than the minimum of 0` (exit 2).

### Config file

```yaml
# /etc/perfadvisor/exporter.yml
web:
  listen_address: ":3018"
  telemetry_path: /api/metrics
  config_file: /etc/perfadvisor/web.yml
  max_requests: 40
log:
  level: info
scrape:
  timeout_seconds: 10
collectors:                 # enable/disable by name (absent: the collector's default)
  tcpstat: true
  pressure: false
collectors_config:          # each collector's own section (see collectors.md)
  textfile:
    directory: /var/lib/perfadvisor/textfile
  filesystem:
    mount-points-exclude: ^/(dev|proc|run|sys)($|/)
  processes:
    top_n: 20
```

The service probes (`http_probe`, `redis`, `postgres`, `haproxy`, `nginx`) take their `targets` from this file
only; see [exporter.md](exporter.md#service-probes) for an example of each and how credentials are read.

### Web config: TLS and basic auth

TLS and basic auth use node_exporter's exporter-toolkit web config file (`--web.config.file`, or
`web.config_file` in the config file, relative to it); paths inside the web config are relative to the web
config. Passwords are bcrypt hashes (`htpasswd -nBC 10 USER`); a value that is not one is refused naming the user,
never the value. A successful check is remembered for the process lifetime (as an HMAC, never the password), so
scrapes do not pay bcrypt each time; at most two bcrypt checks run at once, and a request beyond that gets 429.
Credentials are checked before a request takes a `--web.max-requests` slot, so a client without the password
never holds one. `/health/live` and `/health/ready` answer without credentials and are not counted against
`--web.max-requests`. See [security.md](security.md#exporter) for every limit.
Changes to the web config file, or to the certificate files it names, apply without a restart (checked at most
once a second; a file that does not load is logged and the previous config stays in force).

```yaml
# /etc/perfadvisor/web.yml
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  # client_ca_file: ca.crt
  # client_auth_type: RequireAndVerifyClientCert   # or VerifyClientCertIfGiven, NoClientCert
  # min_version: TLS12
http_server_config:
  headers:
    X-Content-Type-Options: nosniff
basic_auth_users:
  prometheus: $2b$10$...
```

### Logs

Logs are logfmt lines on stderr (`ts=… level=info logger=server msg=listening address=…`; `--log.format=json`
for one JSON object per line); request lines (at `debug`) carry method, path without query, status and
duration — never headers or credentials.
"""

ADVISOR_INTRO = """\
## Advisor

One configuration is built per run from, highest first: **flags > `PERFADVISOR_*` environment variables >
config file > defaults**. The config file is named by `--config FILE` or `PERFADVISOR_CONFIG`.

### Config file

```yaml
prometheus:
  url: https://prometheus.example:9090
  bearer_token_file: /run/secrets/prom-token     # or basic_auth: {username, password_file}
  tls: {ca_file: /etc/ssl/internal-ca.pem}       # also cert_file, key_file, insecure_skip_verify
  headers: {X-Scope-OrgID: team-a}
  timeout: 30s
  retries: 2
concurrency: 4
packs: {paths: [/etc/perfadvisor/packs], disable: [scaling]}
parameters: {cpu_high: 0.85, host: {lookback: 2h}}    # same meaning as --set; "host.lookback": 2h works too
```

| key | flag | meaning |
|---|---|---|
| `prometheus.url` | `--prometheus URL` | The Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics, …). Without one, `advisor run` uses the local data source ([advisor.md](advisor.md#local-mode)). A value that is not an `http://` or `https://` URL is a usage error (exit 2) naming where it came from. |
| `prometheus.bearer_token`, `prometheus.bearer_token_file` | | Bearer token (prefer the file, or the environment). |
| `prometheus.basic_auth.{username,password,password_file}` | | Basic auth; `user:pass@` in the URL works too. |
| `prometheus.tls.{ca_file,cert_file,key_file,insecure_skip_verify}` | `--ca-file`, `--insecure` | TLS to the server. |
| `prometheus.headers` | `--header 'Name: value'` (repeatable) | Extra request headers, e.g. multi-tenancy `X-Scope-OrgID`. |
| `prometheus.timeout` | `--timeout` | Each request as a whole: connect, headers and body (default `30s`). |
| `prometheus.retries` | | Retries with exponential backoff on connection errors, timeouts and 5xx (default 2), all attempts within `timeout × (retries + 1)`. |
| `prometheus.max_answer_bytes` | | Largest answer read, in bytes (default 67108864 = 64 MiB; env `PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES`); a larger one ends the run with exit 3. |
| `concurrency` | `--concurrency` | Queries in flight (default 4). |
| `packs.paths` | `--pack PATH` (repeatable) | Extra pack files or directories; a pack with a built-in's name replaces it. |
| `packs.disable` | | Pack names not to load. |
| `parameters` | `--set [PACK.]NAME=VALUE` | Pack parameters; `NAME` sets it in every loaded pack that has it, `PACK.NAME` in one. An unknown name or a value of the wrong type is an error (exit 2) naming it. |
| `serve` | | `advisor serve`'s own settings ([below](#advisor-serve)). |

Any other top-level key is an error naming the known ones. Credentials never go on the command line; URLs in
messages never carry them. Identical queries in a run are sent once; warnings the server returns (e.g. partial
responses) are shown in the report.

"""

SERVE_INTRO = """\
### advisor serve

Every option of `advisor serve` is also a key of the config file's `serve:` section and a `PERFADVISOR_SERVE_*`
variable (the flag upper-cased, `.` and `-` turned into `_`). Precedence, per setting: **flag > variable >
config file > default**, as for the exporter. The section is validated against a JSON Schema generated from the
same table as the flags; a wrong value is one line naming where it came from and what is wrong, exit 2:
`/etc/perfadvisor/advisor.yml:4: serve.web.max_body: 10 is less than the minimum of 256`,
`/etc/perfadvisor/advisor.yml:7: serve.intervals.database: unknown pack 'databse' (loaded: host, …)`,
`PERFADVISOR_SERVE_INTERVAL: must be longer than 0s, got '0'`. Paths written in the file (`web.config_file`,
`storage.path`) are relative to the file.

```yaml
serve:
  web:
    listen_address: ":3019"
    config_file: web.yml            # TLS and basic auth, as the exporter's
    cors_origins: [https://grafana.example]
    max_body: 65536
    post_rate: 10                   # POSTs per minute and client ...
    post_burst: 5                   # ... with this burst
  interval: 5m                      # every pack without its own interval
  intervals: {host: 1m, database: 15m}
  storage: {path: /var/lib/perfadvisor/advisor.db, retention: 30d}
  sample_interval: 15s              # without a Prometheus
  log: {level: info}
```

`intervals` (`--interval.pack PACK=DURATION`, repeatable; `PERFADVISOR_SERVE_INTERVAL_PACK="host=1m
database=15m"`) gives packs their own cadence: each pack is due on its own grid, and one run evaluates every
pack due at that moment, never overlapping another (see [serve.md](serve.md#per-pack-intervals)).

| YAML key (under `serve:`) | flag | environment variable | default | meaning |
|---|---|---|---|---|
"""

ENV_INTRO = """\
### Environment variables

"""

ADVISOR_ENV = {
    "PERFADVISOR_CONFIG": "The config file (as `--config`).",
    "PERFADVISOR_PROMETHEUS_URL": "The Prometheus URL (as `--prometheus`).",
    "PERFADVISOR_PROMETHEUS_TOKEN": "Bearer token.",
    "PERFADVISOR_PROMETHEUS_TOKEN_FILE": "File holding the bearer token.",
    "PERFADVISOR_PROMETHEUS_USERNAME": "Basic-auth user.",
    "PERFADVISOR_PROMETHEUS_PASSWORD": "Basic-auth password.",
    "PERFADVISOR_PROMETHEUS_MAX_ANSWER_BYTES": "Largest answer read from Prometheus, in bytes (as "
                                               "`prometheus.max_answer_bytes`; default 64 MiB).",
    "PERFADVISOR_STORE": "Local mode: SQLite file that keeps samples between runs (as `--store`).",
    **{s.envvar: f"advisor serve: as `{s.flag}` (`serve.{'.'.join(s.path)}` in the config file)."
       for s in SERVE_SETTINGS},
    "PERFADVISOR_SERVE_STORAGE_PATH": "advisor serve / history: the history store, SQLite (as `--storage.path`).",
}
_ENV_RE = re.compile(r"['\"](PERFADVISOR_[A-Z0-9_]+)['\"]")


def _yaml_key(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _default(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


def _meaning(s) -> str:
    choices = s.schema.get("enum")
    return cell(s.help) + (f" One of {', '.join(f'`{c}`' for c in choices)}." if choices else "")


def exporter_settings() -> list[str]:
    return [f"| `{s.flag}` | `{s.envvar}` | `{_yaml_key(s.path)}` | {_default(s.default)} | {_meaning(s)} |"
            for s in BASE_SETTINGS]


def advisor_env() -> list[str]:
    """The variables the advisor reads: every PERFADVISOR_* name in its source, and the options' envvars."""
    names: dict[str, set[str]] = {}
    root = Path(perfadvisor.advisor.__file__).parent
    for f in sorted(root.rglob("*.py")):
        for name in _ENV_RE.findall(f.read_text()):
            names.setdefault(name, set())

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        for p in cmd.params:
            envvars = [p.envvar] if isinstance(p.envvar, str) else list(p.envvar or ())
            for e in envvars:
                names.setdefault(e, set()).add(" ".join(("advisor", *path)))
        if isinstance(cmd, click.Group):
            for n, sub in sorted(cmd.commands.items()):
                walk(sub, (*path, n))

    walk(advisor_cli, ())
    out = ["| variable | meaning | read by |", "|---|---|---|"]
    for name in sorted(names):
        users = ", ".join(f"`{u}`" for u in sorted(names[name])) or "the commands that query Prometheus"
        out.append(f"| `{name}` | {ADVISOR_ENV.get(name, '')} | {users} |")
    return out


def serve_settings() -> list[str]:
    return [f"| `{'.'.join(s.path)}` | `{s.flag}` | `{s.envvar}` | {_default(s.shown_default or None)} | "
            f"{cell(s.help)}{' One of ' + ', '.join(f'`{c}`' for c in s.schema['enum']) + '.' if 'enum' in s.schema else ''} |"
            for s in SERVE_SETTINGS]


def render() -> str:
    out = [header(SOURCE), "", "# Configuration", "",
           "How both programs are configured: [the exporter](#exporter) (flags, environment, YAML file, web "
           "config) and [the advisor](#advisor) (flags, config file, environment, credentials). The full list of "
           "flags of each command is in [cli.md](cli.md).", "",
           EXPORTER_INTRO.rstrip("\n")]
    out += exporter_settings()
    out += [EXPORTER_REST.rstrip("\n"), "", ADVISOR_INTRO.rstrip("\n"), "", SERVE_INTRO.rstrip("\n")]
    out += serve_settings()
    out += ["", ENV_INTRO.rstrip("\n"), ""]
    out += advisor_env()
    return "\n".join(out) + "\n"
