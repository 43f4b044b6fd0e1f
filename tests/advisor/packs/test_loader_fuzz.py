"""Property-based fuzzing of the pack loader: whatever the bytes, it loads a pack or raises PackError with
``FILE[:LINE]: …`` — never another exception."""
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfadvisor.advisor.errors import PackError
from perfadvisor.advisor.packs import load_text
from perfadvisor.advisor.packs.model import Pack
from tests.advisor.packs.test_loader import GOOD

pytestmark = pytest.mark.timeout(300)
FUZZ = settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
WHERE = re.compile(r"fuzz\.yaml(:\d+)?: \S")

TOKENS = list("-:?,[]{}&*!|>'\"#%@`~ \n\t\\0123456789.eEaz_$") + [
    "{{", "}}", "{%", "%}", "!!str ", "!!python/name:x ", "&a ", "*a", "<<: ", "\x00", "\ufeff", "é", "\U0001f600",
    "\x85", "\ud800", "apiVersion: perfadvisor.dev/v1\n", "rules:\n  - id: x\n"]
YAMLISH = st.lists(st.sampled_from(TOKENS), max_size=200).map("".join)


@st.composite
def mutated_pack(draw):
    """GOOD with a few bytes inserted, deleted or replaced: mostly near-valid packs."""
    data = bytearray(GOOD.encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = draw(st.one_of(st.binary(min_size=1, max_size=8),
                               st.sampled_from([b"&a ", b"*a", b"!!binary ", b"\n  ", b": ", b"- ", b"{{ x", b"}}",
                                                b"{% for i in range(9**9) %}", b"$limit", b"\xff", b"\x00"])))
        if op == "insert":
            data[at:at] = chunk
        elif op == "delete":
            del data[at:at + len(chunk)]
        else:
            data[at:at + len(chunk)] = chunk
    return bytes(data)


def loads_or_refuses(data) -> None:
    try:
        pack = load_text(data, "fuzz.yaml")
    except PackError as e:
        assert WHERE.match(str(e)), str(e)
        assert "\n" not in str(e).rstrip("\n") or str(e).count("\n") <= 3, str(e)   # a short message
        return
    assert isinstance(pack, Pack)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(data):
    loads_or_refuses(data)


@FUZZ
@given(YAMLISH)
def test_yamlish_text(text):
    loads_or_refuses(text)


@FUZZ
@given(mutated_pack())
def test_mutated_packs(data):
    loads_or_refuses(data)
