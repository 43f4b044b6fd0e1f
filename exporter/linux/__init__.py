"""Linux /proc and /sys parsers: plain functions over strings, so they are tested on fixture text."""
