"""Convergence: once faults heal, every replica holds the same data.

Owns the convergence checker. The input maps each replica's name to its final
dump (a mapping key -> value) or to a digest of it (str or bytes); all
replicas must be given the same way. Dumps are compared key by key in sorted
order, and the first differing key is reported with every replica's value
there; digests are compared whole. The reference replica (the leader, say)
defaults to the first name in sorted order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jepsen_like.verdict import Verdict, invalid, unknown, valid

CHECKER = "convergence"
MISSING = "<missing>"


def check(replicas: Mapping[str, Mapping[Any, Any] | str | bytes], reference: str | None = None) -> Verdict:
    """Are all replicas identical? Reports the first differing key (sorted order)."""
    if not replicas:
        return unknown(CHECKER, "no replicas to compare")
    names = sorted(replicas)
    reference = names[0] if reference is None else reference
    if reference not in replicas:
        raise ValueError(f"reference replica {reference!r} is not among {names}")
    digests = [isinstance(replicas[name], (str, bytes)) for name in names]
    if all(digests):
        return _by_digest(replicas, names, reference)
    if any(digests):
        raise TypeError("give every replica as a dump, or every replica as a digest, not a mix")
    return _by_dump(replicas, names, reference)


def _by_digest(replicas: Mapping[str, Any], names: list[str], reference: str) -> Verdict:
    differing = [name for name in names if replicas[name] != replicas[reference]]
    groups: dict[str, list[str]] = {}
    for name in names:
        groups.setdefault(_show(replicas[name]), []).append(name)
    if differing:
        return invalid(CHECKER, f"{len(differing)} of {len(names)} replicas' digests differ from {reference!r}'s",
                       reference=reference, differing_replicas=differing, digests=groups)
    return valid(CHECKER, f"all {len(names)} replicas have the same digest", reference=reference, digests=groups)


def _by_dump(replicas: Mapping[str, Mapping[Any, Any]], names: list[str], reference: str) -> Verdict:
    keys = sorted(set().union(*(replicas[name].keys() for name in names)), key=_key_order)
    differing_keys = [key for key in keys if not _same(replicas, names, key)]
    if not differing_keys:
        return valid(CHECKER, f"all {len(names)} replicas hold the same {len(keys)} keys", reference=reference)
    first = differing_keys[0]
    values = {name: _show(replicas[name][first]) if first in replicas[name] else MISSING for name in names}
    differing = [name for name in names if not _equal(replicas[name], replicas[reference])]
    return invalid(
        CHECKER, f"replicas differ on {len(differing_keys)} keys; the first is {_show(first)!r}",
        reference=reference, first_key=_show(first), values=values,
        differing_key_count=len(differing_keys), differing_replicas=differing,
    )


def _same(replicas: Mapping[str, Mapping[Any, Any]], names: list[str], key: Any) -> bool:
    first = replicas[names[0]]
    return all(
        (key in replicas[name]) == (key in first) and replicas[name].get(key) == first.get(key) for name in names
    )


def _equal(left: Mapping[Any, Any], right: Mapping[Any, Any]) -> bool:
    return left.keys() == right.keys() and all(left[key] == right[key] for key in left)


def _key_order(key: Any) -> tuple[str, Any]:
    """Sort keys of one type by value; keys of different types by type name first."""
    return (type(key).__name__, key)


def _show(value: Any) -> Any:
    """A JSON-ready rendering of a key or value."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if isinstance(value, (set, frozenset)):
        return sorted((_show(item) for item in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [_show(item) for item in value]
    if isinstance(value, Mapping):
        return {str(_show(key)): _show(item) for key, item in value.items()}
    return value
