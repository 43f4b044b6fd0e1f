"""Error types the advisor raises, each mapped by the CLI to one line and a documented exit code.

Exit codes: 0 ok, 1 ``--fail-on`` reached, 2 usage/config/pack error, 3 data source unreachable or failing.
"""
from __future__ import annotations

__all__ = ["AdvisorError", "ConfigError", "PackError", "ParamError", "TemplateError",
           "SourceError", "QueryError", "EXIT_OK", "EXIT_FAIL_ON", "EXIT_USAGE", "EXIT_SOURCE"]

EXIT_OK, EXIT_FAIL_ON, EXIT_USAGE, EXIT_SOURCE = 0, 1, 2, 3


class SourceError(Exception):
    """The data source is unreachable or failing (the CLI maps this to exit code 3)."""


class QueryError(SourceError):
    """A query was rejected or failed; carries the query and the server's message."""

    def __init__(self, query: str, message: str):
        super().__init__(f"query failed: {message} (query: {query})")
        self.query = query
        self.message = message


class AdvisorError(Exception):
    """Base of the advisor's own errors; ``exit_code`` is what the CLI exits with."""

    exit_code = EXIT_USAGE


class ConfigError(AdvisorError):
    """Bad configuration: config file, flags, environment."""


class ParamError(ConfigError):
    """An unknown parameter, or a value that does not fit the parameter's type."""


class PackError(AdvisorError):
    """A rule pack that does not load or validate; names file, line and field."""

    def __init__(self, path: str, line: int | None, field: str, reason: str):
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {field}: {reason}" if field else f"{where}: {reason}")
        self.path, self.line, self.field, self.reason = path, line, field, reason


class TemplateError(AdvisorError):
    """A recommendation template failed to render (syntax, or an attempt to reach Python internals)."""

    def __init__(self, rule_id: str, reason: str, field: str = "recommendation"):
        super().__init__(f"rule {rule_id}: {field} template: {reason}")
        self.rule_id, self.reason, self.field = rule_id, reason, field
