"""``advisor history``: the runs `advisor serve` recorded, and what changed between two of them."""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import click

from .. import config as C
from ..errors import ConfigError
from ..reports.charts import sparkline
from .exits import errors_to_exit
from .options import debug_option

DEFAULT_STORE = "./perfadvisor-advisor.db"


def storage_option(fn):
    fn = click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="PERFADVISOR_CONFIG",
                      metavar="FILE", help="advisor serve's config file: its serve.storage.path is the store "
                                           "unless --storage.path is given. Env: PERFADVISOR_CONFIG.")(fn)
    return click.option("--storage.path", "storage_path", default=None, envvar="PERFADVISOR_SERVE_STORAGE_PATH",
                        metavar="FILE",
                        help="The history store advisor serve writes (SQLite). Env: PERFADVISOR_SERVE_STORAGE_PATH. "
                             f"[default: the config file's serve.storage.path, else {DEFAULT_STORE}]")(fn)


def store_path(storage_path: str | None, config_path: str | None) -> str:
    """The store as advisor serve resolves it: flag > environment variable > config file > default (a path in
    the config file is relative to the file)."""
    if storage_path:
        return storage_path
    if config_path:
        node = ((C.load_file(config_path).get("serve") or {}).get("storage") or {}).get("path")
        if node:
            node = str(node)
            return node if os.path.isabs(node) else os.path.join(os.path.dirname(os.path.abspath(config_path)), node)
    return DEFAULT_STORE


def _open(path: str):
    from ..history import HistoryStore
    return HistoryStore(path, readonly=True)


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _score(v) -> str:
    return "—" if v is None else f"{v:.0f}"


@click.group("history", invoke_without_command=True)
@storage_option
@click.option("--limit", type=click.IntRange(1, 10000), default=20, show_default=True, metavar="N",
              help="Show the newest N runs.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@debug_option
@click.pass_context
def history_group(ctx, storage_path, config_path, limit, fmt, debug):
    """List the runs advisor serve recorded, newest first, with the overall score's sparkline.

    Exit codes: 0 ok, 2 no or unusable history store.

    Example:

    \b
        advisor history --storage.path /var/lib/perfadvisor/advisor.db
        advisor history --config /etc/perfadvisor/advisor.yml
        advisor history --limit 100 --format json
        advisor history diff 41 42
    """
    ctx.ensure_object(dict)
    with errors_to_exit(debug):
        storage_path = ctx.obj["storage_path"] = store_path(storage_path, config_path)
    if ctx.invoked_subcommand is not None:
        return
    with errors_to_exit(debug):
        with _open(storage_path) as store:
            runs = store.runs(limit=limit)
        if fmt == "json":
            click.echo(json.dumps({"runs": runs}, indent=2))
            return
        if not runs:
            click.echo(f"no runs recorded in {storage_path} yet")
            return
        # The sparkline follows the scheduled runs over every pack; an area's run scores only that area.
        full = [r for r in reversed(runs) if r["scope"] == "all"]
        scores = [r["overall"] if r["overall"] is not None else float("nan") for r in full]
        click.echo(f"score {sparkline(scores, width=min(60, len(scores)))}  "
                   f"({len(full)} full run(s), oldest left)")
        click.echo(f"{'RUN':>6}  {'FINISHED':20}  {'TOOK':>7}  {'SCORE':>5}  {'RULES':>7}  {'FINDINGS':>8}  "
                   f"{'TRIGGER':14}  SOURCE")
        for r in runs:
            rules = f"{r['rules_evaluated']}/{r['rules_total']}"
            src = r["source"] + (f" (error: {r['error']})" if r["error"] else "")
            click.echo(f"{r['id']:>6}  {_when(r['finished_at']):20}  {r['duration_seconds']:>6.1f}s  "
                       f"{_score(r['overall']):>5}  {rules:>7}  {r['findings']:>8}  {r['trigger']:14}  {src}")


@history_group.command("diff")
@click.argument("a", type=int)
@click.argument("b", type=int)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@debug_option
@click.pass_context
def diff(ctx, a, b, fmt, debug):
    """Show the findings new in run B, resolved since run A, and changed between them.

    A finding is the same across runs when its rule and target labels are; it changed when its severity did
    or its value moved by more than 10%.

    Example:

    \b
        advisor history diff 41 42
        advisor history --storage.path advisor.db diff 1 42 --format json
    """
    with errors_to_exit(debug):
        with _open(ctx.obj["storage_path"]) as store:
            try:
                d = store.diff(a, b)
            except KeyError as e:
                raise ConfigError(f"no run {e.args[0]} in {ctx.obj['storage_path']} "
                                  "(advisor history lists them)") from None
        if fmt == "json":
            click.echo(json.dumps(d.as_dict(), indent=2))
            return
        click.echo(f"run {a} → run {b}: {len(d.new)} new, {len(d.resolved)} resolved, {len(d.changed)} changed, "
                   f"{d.unchanged} unchanged")

        def target(f) -> str:
            return ", ".join(f"{k}={v}" for k, v in f["target"].items()) or "(all)"
        for mark, rows in (("+", d.new), ("-", d.resolved)):
            for f in rows:
                click.echo(f"  {mark} {f['severity']:8} {f['rule_id']}  {target(f)}: {f['summary']}")
        for f in d.changed:
            click.echo(f"  ~ {f['severity']:8} {f['rule_id']}  {target(f)}: {'; '.join(f['changes'])}")
