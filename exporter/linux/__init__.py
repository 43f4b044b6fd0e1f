"""Linux /proc and /sys parsers: plain functions over strings, so they are tested on fixture text."""

import sys

LINUX = sys.platform.startswith("linux")  # elsewhere the collectors that have a psutil source use it
