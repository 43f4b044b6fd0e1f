"""Parameter typing and the one escaping helper: what ends up in PromQL."""
import promql_parser
import pytest

from perfadvisor.advisor.errors import ParamError
from perfadvisor.advisor.packs.params import Parameter, promql_string, substitute

PARAMS = {
    "job": Parameter("job", "string", "node"),
    "re": Parameter("re", "regex", ".*"),
    "win": Parameter("win", "duration", "5m"),
    "n": Parameter("n", "number", 0.9),
}


def test_defaults_substituted():
    q = substitute('rate(x{job=$job, i=~$re}[$win]) > ${n}', PARAMS, {})
    assert q == 'rate(x{job="node", i=~".*"}[5m]) > 0.9'


@pytest.mark.parametrize("value, literal", [
    ('a"b', r'"a\"b"'),
    ("back\\slash", r'"back\\slash"'),
    ("new\nline", r'"new\nline"'),
    ('"} or vector(1) #', r'"\"} or vector(1) #"'),
])
def test_string_values_are_escaped_into_one_literal(value, literal):
    assert promql_string(value) == literal
    q = substitute("up{job=$job}", PARAMS, {"job": value})
    assert q == f"up{{job={literal}}}"
    # The injected text stays inside the label value: the query still parses as a single selector.
    parsed = promql_parser.parse(q)
    assert type(parsed).__name__ == "VectorSelector"


def test_injection_through_a_number_or_duration_is_rejected():
    with pytest.raises(ParamError, match="parameter n: expected a number"):
        substitute("x > $n", PARAMS, {"n": "1 or vector(1)"})
    with pytest.raises(ParamError, match="parameter win: not a Prometheus duration"):
        substitute("rate(x[$win])", PARAMS, {"win": "5m]) or vector(1"})
    with pytest.raises(ParamError, match="expected a finite number"):
        substitute("x > $n", PARAMS, {"n": "nan"})


def test_bad_regex_rejected():
    with pytest.raises(ParamError, match="invalid regex"):
        substitute("x{a=~$re}", PARAMS, {"re": "(unclosed"})


def test_unknown_placeholder():
    with pytest.raises(ParamError, match=r"unknown parameter \$nope"):
        substitute("x > $nope", PARAMS, {})


def test_dollar_escape():
    assert substitute("label_replace(x, 'a', '$$1', 'b', '(.*)')", PARAMS, {}) == "label_replace(x, 'a', '$1', 'b', '(.*)')"


def test_numbers_render_plainly():
    assert substitute("x > $n", PARAMS, {"n": "1073741824"}) == "x > 1073741824"
    assert substitute("x > $n", PARAMS, {"n": 0.05}) == "x > 0.05"
