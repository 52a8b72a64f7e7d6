"""Judging a random draw with values (HRANDFIELD, ZRANDMEMBER) in the sequential reference.

Redis chooses at random, so the model takes the reply observed if Redis could
have given it: for a positive count, that many distinct entries (at most all);
for a negative one, that many with repeats allowed; each with its value when
asked. If it could not, the model answers with a description of what Redis
could have given, which the reply is not.
"""

from __future__ import annotations

from typing import Any


def drawn(entries: dict[str, Any], args: list[str], got: Any, noun: str) -> Any:
    """``key [count [WITH...]]`` over `entries` (name -> value): `got` if Redis could have drawn it."""
    if len(args) == 1:
        if not entries:
            return None
        return got if type(got) is str and got in entries else f"<one of {sorted(entries)}>"
    count, with_values = int(args[1]), len(args) > 2
    wanted = 0 if not entries else -count if count < 0 else min(count, len(entries))
    names = got[::2] if with_values and type(got) is list else got
    fits = (type(got) is list and len(names) == wanted and all(name in entries for name in names)
            and (count < 0 or len(set(names)) == len(names))
            and (not with_values or got[1::2] == [str(entries[name]) for name in names]))
    return got if fits else f"<{wanted} {noun} of {sorted(entries)}{' with values' if with_values else ''}>"
