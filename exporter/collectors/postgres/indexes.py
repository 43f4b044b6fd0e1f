"""PgHero-style index checks for the postgres collector: unused indexes, duplicate (prefix) indexes, and the
index-scan share of large tables (a low share on a big table suggests a missing index).

The catalog is read with one query per database; the decisions are plain functions over ``IndexRow`` so they
are tested without a server.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

INDEX_SQL = """
SELECT n.nspname, t.relname, c.relname, coalesce(s.idx_scan, 0), pg_relation_size(i.indexrelid),
       i.indisunique, i.indisprimary, i.indkey::text, i.indexprs IS NULL,
       coalesce(pg_get_expr(i.indpred, i.indrelid), ''), am.amname, i.indisvalid
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = c.relam
JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
ORDER BY pg_relation_size(i.indexrelid) DESC
LIMIT %s
"""


@dataclass(frozen=True)
class IndexRow:
    schema: str
    table: str
    name: str
    scans: int
    size: int
    unique: bool
    primary: bool
    columns: tuple[int, ...]  # attribute numbers; 0 marks an expression column
    plain: bool  # no expression columns
    predicate: str
    method: str
    valid: bool = True

    @classmethod
    def from_db(cls, row: Sequence) -> "IndexRow":
        schema, table, name, scans, size, unique, primary, indkey, plain, pred, method, valid = row
        return cls(schema, table, name, int(scans), int(size), bool(unique), bool(primary),
                   tuple(int(x) for x in str(indkey).split()), bool(plain), pred or "", method, bool(valid))


def is_unused(ix: IndexRow) -> bool:
    """Never scanned, and not needed for a constraint (unique/primary indexes are kept regardless)."""
    return ix.scans == 0 and not ix.unique and not ix.primary and ix.valid


def _covers(big: IndexRow, small: IndexRow) -> bool:
    """Whether ``big`` makes ``small`` redundant (same table, method and predicate; small's columns lead big's)."""
    if big is small or (big.schema, big.table) != (small.schema, small.table):
        return False
    if big.method != small.method or big.predicate != small.predicate or not (big.plain and small.plain):
        return False
    if small.primary or not big.valid:
        return False
    n = len(small.columns)
    if big.columns[:n] != small.columns:
        return False
    if big.method != "btree" and big.columns != small.columns:
        return False  # leading-column use is a btree property
    if small.unique:
        # a unique index on fewer columns enforces something the wider one does not
        return big.unique and big.columns == small.columns and (big.primary or big.name < small.name)
    if big.columns == small.columns and not big.unique:
        return big.name < small.name  # exact twins: report only one of them
    return True


def duplicates(indexes: Iterable[IndexRow]) -> list[tuple[IndexRow, IndexRow]]:
    """(redundant index, an index that covers it) pairs, the widest cover first."""
    rows = list(indexes)
    out = []
    for small in rows:
        covers = [big for big in rows if _covers(big, small)]
        if covers:
            best = max(covers, key=lambda b: (b.primary, b.unique, len(b.columns), b.name))
            out.append((small, best))
    return out


def index_scan_share(seq_scan: int, idx_scan: int) -> float | None:
    """The share of scans that used an index; None when the table was never scanned."""
    total = seq_scan + idx_scan
    return idx_scan / total if total else None
