"""Settings helpers shared by the collectors: a bad value is reported naming the collector and the setting."""
from __future__ import annotations

import re


def regex(collector: str, key: str, pattern: str) -> re.Pattern:
    """Compile a regex setting; ValueError("netdev: device-exclude: invalid regular expression '(': …") if bad."""
    try:
        return re.compile(pattern)
    except re.error as e:
        raise ValueError(f"{collector}: {key}: invalid regular expression {pattern!r}: {e}") from None
