"""``advisor test``: run rule-pack unit tests (promtool-style files) on the embedded engine."""
from __future__ import annotations

import re
import sys

import click
import yaml

from ..durations import format_duration
from ..errors import EXIT_FAIL_ON, EXIT_OK, EXIT_USAGE, AdvisorError
from ..ruletest import Outcome, coverage_gaps, parse_file, run_file
from .exits import echo_error, errors_to_exit
from .options import debug_option


def _yaml(value) -> str:
    """A compact one-line rendering of expected/got values."""
    if isinstance(value, str):
        return value
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10_000, allow_unicode=True).strip()


def format_outcome(o: Outcome) -> str:
    t = o.test
    if o.ok:
        return f"  {t.title}: SUCCESS"
    lines = [f"  {t.title}: FAILED (line {t.line}):"]
    for f in o.failures:
        lines.append(f"    rule: {f.rule}, eval_time: {format_duration(t.eval_time)}, expected {f.what}:")
        lines.append(f"        exp: {_yaml(f.expected)}")
        lines.append(f"        got: {_yaml(f.got)}")
    return "\n".join(lines)


@click.command("test")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--run", "run_pattern", metavar="REGEX", help="Only run tests whose name matches this regex.")
@click.option("--coverage", is_flag=True,
              help="Also fail unless every rule of the tested packs has a firing and a not-firing case.")
@debug_option
def rule_tests(files, run_pattern, coverage, debug):
    """Run rule-pack unit tests: input series, evaluation time, expected findings (like `promtool test rules`).

    Each FILE names packs (built-in names or paths) and tests; see rules/tests/*.test.yaml for examples.

    Exit codes: 0 all tests pass, 1 a test failed, 2 a test file is invalid (FILE:LINE: field: reason).

    Example:

    \b
        advisor test rules/tests/host.test.yaml
        advisor test my-pack.test.yaml --run 'memory'
        advisor test --coverage rules/tests/*.test.yaml
    """
    with errors_to_exit(debug):
        try:
            rx = re.compile(run_pattern) if run_pattern else None
        except re.error as e:
            raise click.BadParameter(f"invalid regex: {e}", param_hint="--run") from None
        bad = failed = passed = 0
        parsed = []
        for path in files:
            click.echo(f"Unit Testing: {path}")
            try:
                tf = parse_file(path)
            except AdvisorError as e:   # the test file, or a pack it names, is invalid: report it, go on
                if debug:
                    raise
                click.echo(f"  FAILED: {e}")
                echo_error(e)
                bad += 1
                continue
            parsed.append(tf)
            outcomes = run_file(tf, (lambda t: bool(rx.search(t.name))) if rx else None)
            for o in outcomes:
                click.echo(format_outcome(o))
            passed += sum(o.ok for o in outcomes)
            failed += sum(not o.ok for o in outcomes)
            click.echo(f"  {'SUCCESS' if all(o.ok for o in outcomes) else 'FAILED'}\n")
        click.echo(f"{passed} passed, {failed} failed" + (f", {bad} invalid file(s)" if bad else ""))
        if coverage:
            missing = coverage_gaps(parsed)
            for line in missing:
                click.echo(f"  untested: {line}")
            click.echo("coverage: " + (f"{len(missing)} rule(s) lack a case" if missing else
                                       "every rule has a firing and a not-firing case"))
            failed += len(missing)
    sys.exit(EXIT_USAGE if bad else EXIT_FAIL_ON if failed else EXIT_OK)
