"""Key specifications: where a command's keys are, and what it does to them.

A command declares a tuple of `KeySpec`s, as Redis 7.0 does in its command
JSON files. Each spec is a way to *begin the search* (at a fixed argument
index, or just after a keyword) and a way to *find the keys* from there (a
range, or a count read from the arguments), plus flags saying how the keys
are used (RW ACCESS DELETE...).

COMMAND INFO shows the specs and COMMAND GETKEYSANDFLAGS runs them
(`find_keys`, Redis's getKeysUsingKeySpecs). The dispatcher never reads
them: a request's key positions come from the table's first/last/step and
``keys_fn`` (`Command.key_positions`), which tests check agree with the specs.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from kvcore.reply import Map, SetReply, Simple


class KeyFlag(enum.Flag):
    RO = enum.auto()
    RW = enum.auto()
    OW = enum.auto()
    RM = enum.auto()
    ACCESS = enum.auto()
    UPDATE = enum.auto()
    INSERT = enum.auto()
    DELETE = enum.auto()
    NOT_KEY = enum.auto()
    INCOMPLETE = enum.auto()
    VARIABLE_FLAGS = enum.auto()
    NONE = 0


# The names Redis replies with, in its order: the four access kinds in capitals.
KEY_FLAG_NAMES = [
    (flag, flag.name if flag in (KeyFlag.RO, KeyFlag.RW, KeyFlag.OW, KeyFlag.RM) else flag.name.lower())
    for flag in KeyFlag if flag
]


def key_flags(text: str) -> KeyFlag:
    """Flags from their names separated by spaces: ``"RW ACCESS DELETE"``."""
    flags = KeyFlag.NONE
    for name in text.split():
        flags |= KeyFlag[name.upper()]
    return flags


def key_flags_reply(flags: KeyFlag) -> SetReply:
    return SetReply([Simple(name) for flag, name in KEY_FLAG_NAMES if flags & flag])


@dataclass(frozen=True, slots=True)
class Index:
    """The search begins at a fixed argument index (the command name is 0)."""

    pos: int


@dataclass(frozen=True, slots=True)
class Keyword:
    """The search begins after ``keyword``, looked for from ``startfrom``
    (negative: from the end, backwards)."""

    keyword: str
    startfrom: int


@dataclass(frozen=True, slots=True)
class Range:
    """Keys from the beginning to ``lastkey`` (relative to it; negative counts
    from the end of argv) every ``step``; ``limit`` n > 0 with lastkey -1
    means only the first 1/n of the remaining arguments."""

    lastkey: int = 0
    step: int = 1
    limit: int = 0


@dataclass(frozen=True, slots=True)
class Keynum:
    """The key count is at ``keynumidx`` past the beginning; the keys start at
    ``firstkey`` past it, every ``step``."""

    keynumidx: int
    firstkey: int
    step: int


@dataclass(frozen=True, slots=True)
class Unknown:
    """Redis cannot say where the keys are (SORT's BY/GET/STORE)."""


UNKNOWN = Unknown()


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One key spec; ``flags`` may be declared as names: ``"RW ACCESS DELETE"``."""

    flags: KeyFlag | str
    begin: Index | Keyword | Unknown
    find: Range | Keynum | Unknown = Range()
    notes: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.flags, str):
            object.__setattr__(self, "flags", key_flags(self.flags))


def _begin(spec: KeySpec, argv: list[bytes]) -> int | None:
    """Where the keys of one spec start in argv: 0 when its keyword is absent,
    None when the spec cannot say."""
    begin = spec.begin
    if isinstance(begin, Index):
        return begin.pos
    if not isinstance(begin, Keyword):
        return None
    argc, keyword = len(argv), begin.keyword.lower().encode()
    if begin.startfrom > 0:
        indexes = range(begin.startfrom, argc - 1)
    else:
        indexes = range(argc + begin.startfrom, 1, -1)
    for i in indexes:
        if i >= argc or i < 1:
            break
        if argv[i].lower() == keyword:
            return i + 1
    return 0


def _bounds(spec: KeySpec, argv: list[bytes], first: int) -> tuple[int, int, int] | None:
    """First and last key index and the step, or None when the spec cannot say."""
    find, argc = spec.find, len(argv)
    if isinstance(find, Range):
        if find.lastkey >= 0:
            last = first + find.lastkey
        elif not find.limit:
            last = argc + find.lastkey
        else:
            last = first + ((argc - first) // find.limit + find.lastkey)
        return first, last, find.step
    if isinstance(find, Keynum):
        at = first + find.keynumidx
        if at >= argc:
            return None
        try:
            numkeys = int(argv[at])
        except ValueError:
            return None
        if numkeys < 0:
            return None
        first += find.firstkey
        return first, first + numkeys - 1, find.step
    return None


def find_keys(
    specs: tuple[KeySpec, ...], argv: list[bytes], include_not_keys: bool = False
) -> list[tuple[int, KeyFlag]] | None:
    """The key positions in argv with each key's flags, spec after spec, as
    Redis's getKeysUsingKeySpecs finds them; None when a spec cannot say
    (the caller then asks the command itself). NOT_KEY specs (shard channels,
    which only route like keys) count only with ``include_not_keys``."""
    found: list[tuple[int, KeyFlag]] = []
    argc = len(argv)
    for spec in specs:
        if spec.flags & KeyFlag.NOT_KEY and not include_not_keys:
            continue
        first = _begin(spec, argv)
        if first == 0:
            continue  # the keyword is not there: this spec has no keys
        bounds = None if first is None else _bounds(spec, argv, first)
        if bounds is None:
            return None
        first, last, step = bounds
        if last >= argc or last < first or first >= argc:
            return None
        found.extend((i, spec.flags) for i in range(first, last + 1, step))
    return found


def legacy_range(specs: tuple[KeySpec, ...]) -> tuple[tuple[int, int, int], bool]:
    """COMMAND INFO's (first, last, step) derived from the specs, and whether
    the command has movable keys, by Redis's populateCommandLegacyRangeSpec."""
    if not specs:
        return (0, 0, 0), False
    plain = [s for s in specs if isinstance(s.begin, Index) and isinstance(s.find, Range)]
    if len(specs) == 1 and plain:
        spec = specs[0]
        return (spec.begin.pos, _absolute_last(spec), spec.find.step), bool(spec.flags & KeyFlag.INCOMPLETE)
    movable = len(plain) < len(specs)
    first, last, previous_last = None, 0, 0
    for spec in plain:
        if spec.find.step != 1 or (previous_last and previous_last != spec.begin.pos - 1):
            movable = True
            continue
        movable = movable or bool(spec.flags & KeyFlag.INCOMPLETE)
        first = spec.begin.pos if first is None else min(first, spec.begin.pos)
        absolute = spec.find.lastkey + (spec.begin.pos if spec.find.lastkey >= 0 else 0)
        last = max(last, absolute, key=lambda n: n % (1 << 32))  # unsigned: -1 beats every index
        previous_last = last
    if first is None:
        return (0, 0, 0), True
    return (first, last, 1), movable


def _absolute_last(spec: KeySpec) -> int:
    return spec.find.lastkey + spec.begin.pos if spec.find.lastkey >= 0 else spec.find.lastkey


def spec_reply(spec: KeySpec) -> Map:
    """One key spec as COMMAND INFO shows it."""
    pairs = [(b"notes", spec.notes.encode())] if spec.notes else []
    pairs.append((b"flags", key_flags_reply(spec.flags)))
    pairs.append((b"begin_search", _part_reply(spec.begin)))
    pairs.append((b"find_keys", _part_reply(spec.find)))
    return Map(pairs)


_PART_FIELDS = {
    Index: ("index", [("index", "pos")]),
    Keyword: ("keyword", [("keyword", "keyword"), ("startfrom", "startfrom")]),
    Range: ("range", [("lastkey", "lastkey"), ("keystep", "step"), ("limit", "limit")]),
    Keynum: ("keynum", [("keynumidx", "keynumidx"), ("firstkey", "firstkey"), ("keystep", "step")]),
    Unknown: ("unknown", []),
}


def _part_reply(part) -> Map:
    kind, fields = _PART_FIELDS[type(part)]
    values = [(name.encode(), _value(getattr(part, attr))) for name, attr in fields]
    return Map([(b"type", kind.encode()), (b"spec", Map(values))])


def _value(value: int | str) -> int | bytes:
    return value.encode() if isinstance(value, str) else value


def keys_and_flags(cmd, argv: list[bytes]) -> list[tuple[int, KeyFlag]]:
    """The keys of a request with their flags, as Redis's getKeysFromCommandWithSpecs
    finds them: from the key specs when their flags hold for every call and they
    find every key (none is INCOMPLETE, as MIGRATE's KEYS), else from the command
    itself (its flagged keys, or its key positions unflagged)."""
    found = find_keys(cmd.key_specs, argv) if cmd.specs_find_keys else None
    if found is not None:
        return found
    if cmd.flagged_keys_fn is not None:
        return cmd.flagged_keys_fn(argv)
    return [(i, KeyFlag.NONE) for i in cmd.key_positions(argv)]
