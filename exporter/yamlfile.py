"""YAML files validated by JSON Schema, with errors that point at FILE:LINE.

The document is composed once into nodes (which carry line marks) and constructed into plain data from them,
so a jsonschema error path (``web.max_requests``) can be mapped back to the line a user has to fix.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from . import schemacheck


@dataclass(frozen=True)
class FileError(Exception):
    """A bad input file: rendered as one line ``FILE:LINE: field.path: reason``."""

    file: str | None
    line: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        return f"{where}{self.field + ': ' if self.field else ''}{self.reason}"


@dataclass(frozen=True)
class YamlDoc:
    file: str
    data: Any
    root: yaml.Node | None

    def line_of(self, path: Sequence[Any], key: bool = False) -> int | None:
        """1-based line of the node at path (of its key when key=True); the deepest existing node otherwise."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == str(part):
                        node = v
                        line = (k if key else v).start_mark.line + 1
                        break
                else:
                    return line
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                return line
        return line

    def error(self, path: Sequence[Any], reason: str, key: bool = False) -> FileError:
        return FileError(self.file, self.line_of(path, key), dotted(path), reason)


def dotted(path: Sequence[Any]) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def load(file: str | Path) -> YamlDoc:
    """Read and parse a YAML file; unreadable or malformed → FileError with the line of the problem."""
    name = str(file)
    try:
        text = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FileError(name, None, "", f"cannot read: {getattr(e, 'strerror', None) or e}") from None
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else None
        raise FileError(name, line, "", f"invalid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise FileError(name, None, "", f"invalid YAML: {e}") from None
    finally:
        loader.dispose()
    return YamlDoc(name, data if data is not None else {}, root)


def validate(doc: YamlDoc, schema: dict[str, Any], unknown_hint=None) -> None:
    """Validate doc.data against schema; raise the first error (by line) as a FileError.

    unknown_hint(path, key) may return a better reason for an unknown key (e.g. listing known collectors).
    """
    if schemacheck.check_or_none(schema, doc.data):
        return  # valid: jsonschema (~5 MB resident) is needed only to word an error
    import jsonschema
    from jsonschema.exceptions import best_match

    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(doc.data))
    if not errors:
        return
    located = []
    for e in errors:
        path = list(e.absolute_path)
        key = False
        reason = e.message
        if e.validator == "additionalProperties" and isinstance(e.instance, dict):
            allowed = set(e.schema.get("properties", {}))
            extra = sorted(k for k in e.instance if k not in allowed)
            if extra:
                reason = (unknown_hint(path, extra[0]) if unknown_hint else None) or "unknown field"
                path = path + [extra[0]]
                key = True
        located.append((doc.line_of(path, key) or 0, e, path, reason, key))
    first_line = min(x[0] for x in located)
    at_line = [x for x in located if x[0] == first_line]
    chosen = best_match([x[1] for x in at_line])
    for line, e, path, reason, key in at_line:
        if e is chosen:
            break
    else:  # best_match descended into a sub-error of an anyOf/oneOf
        line, path, reason = first_line, list(chosen.absolute_path), chosen.message
    raise FileError(doc.file, line or None, dotted(path), reason)
