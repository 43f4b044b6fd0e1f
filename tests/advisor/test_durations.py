"""The one duration grammar: Prometheus' (units in order y w d h m s ms), bare seconds only where asked."""
import pytest

from perfadvisor.advisor.durations import format_duration, parse_duration, parse_duration_ms
from tests.advisor.conftest import advisor


@pytest.mark.parametrize("text, seconds", [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1d", 86400),
                                           ("2w", 1209600), ("500ms", 0.5), ("1y", 365 * 86400),
                                           ("1h0m30s500ms", 3630.5), ("0", 0), ("0s", 0)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("bad", ["", "5", "m", "5 m", "-5m", "5m5h", "1.5h", "1m1m", "5M", "1e3"])
def test_bad_durations(bad):
    with pytest.raises(ValueError, match="not a Prometheus duration"):
        parse_duration(bad)


@pytest.mark.parametrize("text, ms", [("15", 15000), ("0.5", 500), ("1e3", 1_000_000), ("1m", 60000)])
def test_bare_seconds_where_asked(text, ms):
    assert parse_duration_ms(text, bare_seconds=True) == ms


@pytest.mark.parametrize("bad", ["nan", "inf", "5m5h", "1.5h"])
def test_bare_seconds_still_refuse_what_is_neither(bad):
    with pytest.raises(ValueError):
        parse_duration_ms(bad, bare_seconds=True)


def test_format_picks_the_shortest_form():
    assert [format_duration(s) for s in (0, 0.25, 90, 5400, 86400 + 1, -3)] == ["0s", "250ms", "1m30s", "1h30m",
                                                                                  "1d1s", "0s"]


def test_flags_share_the_grammar():
    r = advisor("run", "--interval", "1m1m", "--duration", "1s")
    assert r.exit_code == 2 and "--interval: not a Prometheus duration" in r.stderr
    r = advisor("query", "--load", "/dev/null", "--lookback-delta", "5m5h", "up")
    assert r.exit_code == 2 and "'5m5h' is not a duration" in r.stderr
