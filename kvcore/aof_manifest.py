"""The multi-part AOF manifest of Redis 7.0: its text, its validation, its file names.

A manifest lists the files whose replay rebuilds the dataset: at most one BASE
(a snapshot, RDB or AOF format), the INCR files written since (replayed in
order), and HISTORY files that a rewrite made obsolete and that wait to be
deleted. Redis writes it as one line per file, base first, then history, then
incr::

    file appendonly.aof.1.base.rdb seq 1 type b
    file appendonly.aof.1.incr.aof seq 1 type i

This module is pure: `parse_manifest` and `format_manifest` convert between
the text and a `Manifest`, and the other functions compute the manifest that
follows a step of Redis's life cycle (server start, rewrite start, rewrite
done, history deleted) with the names of the files that step creates. The
runtime does the file operations in the order Redis does them (write the new
file, then the manifest through a temp file and a rename).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kvcore.protocol import quote_repr, split_inline

BASE = "b"
HISTORY = "h"
INCR = "i"

BASE_SUFFIX = ".base"
INCR_SUFFIX = ".incr"
RDB_SUFFIX = ".rdb"
AOF_SUFFIX = ".aof"
MANIFEST_SUFFIX = ".manifest"
TEMP_PREFIX = "temp-"
MANIFEST_MAX_LINE = 1024

EMPTY_MANIFEST = "Found an empty AOF manifest"
TOO_LONG_LINE = "The AOF manifest file contains too long line"
INVALID_FORMAT = "Invalid AOF manifest file format"
NOT_A_BASENAME = "File can't be a path, just a filename"
DUPLICATE_BASE = "Found duplicate base file information"
NON_MONOTONIC = "Found a non-monotonic sequence number"
UNKNOWN_TYPE = "Unknown AOF file type"


@dataclass(frozen=True, slots=True)
class AofInfo:
    """One line of the manifest: a file name, its sequence number and type."""

    name: str
    seq: int
    type: str  # BASE, HISTORY or INCR


@dataclass(frozen=True, slots=True)
class Manifest:
    """Redis's aofManifest: the files, and the last sequence numbers handed out."""

    base: AofInfo | None = None
    history: tuple[AofInfo, ...] = ()
    incrs: tuple[AofInfo, ...] = ()
    base_seq: int = 0
    incr_seq: int = 0

    def load_order(self) -> list[AofInfo]:
        """The files a load replays, in order: the base, then every incr."""
        return ([self.base] if self.base else []) + list(self.incrs)

    def is_empty(self) -> bool:
        """No base and no incr: nothing to load (history does not count)."""
        return self.base is None and not self.incrs


class ManifestError(ValueError):
    """A manifest Redis refuses to start with (it exits after logging `log_lines`)."""

    def __init__(self, message: str, line_number: int | None = None, line: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line_number = line_number
        self.line = line

    def log_lines(self) -> list[str]:
        """What Redis logs before exiting, one entry per log call."""
        lines = ["\n*** FATAL AOF MANIFEST FILE ERROR ***\n"]
        if self.line is not None:
            lines.append("Reading the manifest file, at line %d\n" % self.line_number)
            lines.append(">>> '%s'\n" % self.line)
        lines.append(self.message + "\n")
        return lines


# -- names ---------------------------------------------------------------------
def manifest_name(aof_filename: str) -> str:
    """`appendonly.aof.manifest`, in the AOF directory."""
    return aof_filename + MANIFEST_SUFFIX


def temp_manifest_name(aof_filename: str) -> str:
    """The file a new manifest is written to before its rename over the real one."""
    return TEMP_PREFIX + aof_filename + MANIFEST_SUFFIX


def temp_incr_name(aof_filename: str) -> str:
    """The incr file used while AOF is being turned on (CONFIG SET appendonly yes)."""
    return TEMP_PREFIX + aof_filename + INCR_SUFFIX


def temp_rewrite_name(child_id: int) -> str:
    """The file a rewrite child writes the new base to (renamed when done)."""
    return "temp-rewriteaof-bg-%d.aof" % child_id


# -- text ----------------------------------------------------------------------
def format_manifest(manifest: Manifest) -> str:
    """The manifest text, exactly as Redis writes it: base, history, then incr."""
    infos = ([manifest.base] if manifest.base else []) + list(manifest.history) + list(manifest.incrs)
    return "".join("file %s seq %d type %s\n" % (_name_repr(i.name), i.seq, i.type) for i in infos)


def parse_manifest(text: str | bytes) -> Manifest:
    """Parse manifest text with Redis's rules; raise `ManifestError` where Redis exits."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    manifest = Manifest()
    max_seq = 0
    line_number = 0
    for chunk in fgets_lines(data, MANIFEST_MAX_LINE + 1):
        line_number += 1
        if chunk[:1] == b"#":
            continue
        chunk = chunk.split(b"\0", 1)[0]  # a C string ends at NUL
        if b"\n" not in chunk:
            raise ManifestError(TOO_LONG_LINE)
        line = chunk.strip(b" \t\r\n")
        shown = line.decode("utf-8", "surrogateescape")
        info = _parse_line(line, line_number, shown)
        manifest, max_seq = _add(manifest, info, max_seq, line_number, shown)
    if line_number == 0:
        raise ManifestError(EMPTY_MANIFEST)
    return manifest


def _parse_line(line: bytes, line_number: int, shown: str) -> AofInfo:
    args = split_inline(line) if line else None
    if not args or len(args) < 6 or len(args) % 2:
        raise ManifestError(INVALID_FORMAT, line_number, shown)
    name = type_ = None
    seq = 0
    for key, value in zip(args[::2], args[1::2]):
        key = key.lower()
        if key == b"file":
            name = value.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            if "/" in name or "\\" in name:
                raise ManifestError(NOT_A_BASENAME, line_number, shown)
        elif key == b"seq":
            seq = _atoll(value)
        elif key == b"type":
            type_ = value[:1].decode("latin-1") if value[:1] not in (b"", b"\0") else None
    if name is None or not seq or not type_:
        raise ManifestError(INVALID_FORMAT, line_number, shown)
    return AofInfo(name, seq, type_)


def _add(manifest: Manifest, info: AofInfo, max_seq: int, line_number: int, shown: str) -> tuple[Manifest, int]:
    if info.type == BASE:
        if manifest.base is not None:
            raise ManifestError(DUPLICATE_BASE, line_number, shown)
        return replace(manifest, base=info, base_seq=info.seq), max_seq
    if info.type == HISTORY:
        return replace(manifest, history=manifest.history + (info,)), max_seq
    if info.type == INCR:
        if info.seq <= max_seq:
            raise ManifestError(NON_MONOTONIC, line_number, shown)
        return replace(manifest, incrs=manifest.incrs + (info,), incr_seq=info.seq), info.seq
    raise ManifestError(UNKNOWN_TYPE, line_number, shown)


def fgets_lines(data: bytes, size: int):
    """The successive results of C's fgets(buf, size, fp) over data."""
    pos, end = 0, len(data)
    while pos < end:
        newline = data.find(b"\n", pos, pos + size - 1)
        stop = newline + 1 if newline >= 0 else min(end, pos + size - 1)
        yield data[pos:stop]
        pos = stop


def _atoll(text: bytes) -> int:
    """C's atoll: optional blanks and sign, then as many digits as there are."""
    text = text.lstrip(b" \t\n\v\f\r")
    sign = -1 if text[:1] == b"-" else 1
    if text[:1] in (b"-", b"+"):
        text = text[1:]
    digits = len(text) - len(text.lstrip(b"0123456789"))
    value = int(text[:digits]) if digits else 0
    return max(-(2**63), min(2**63 - 1, sign * value))


def _name_repr(name: str) -> str:
    """The name as is, or quoted and escaped (sdscatrepr) when sdsneedsrepr says so."""
    raw = name.encode("utf-8", "surrogateescape")
    if all(0x21 <= byte <= 0x7E and byte not in b'\\"' for byte in raw):
        return name
    return quote_repr(raw)


# -- life cycle ------------------------------------------------------------------
def new_base(manifest: Manifest, aof_filename: str, rdb_preamble: bool) -> tuple[Manifest, str]:
    """A new base file name; the current base (if any) becomes the first history file.

    Redis's getNewBaseFileNameAndMarkPreAsHistory: `<aof>.<seq>.base.rdb` when
    aof-use-rdb-preamble is yes, `.base.aof` otherwise.
    """
    history = manifest.history
    if manifest.base is not None:
        history = (replace(manifest.base, type=HISTORY),) + history
    seq = manifest.base_seq + 1
    suffix = RDB_SUFFIX if rdb_preamble else AOF_SUFFIX
    name = "%s.%d%s%s" % (aof_filename, seq, BASE_SUFFIX, suffix)
    return replace(manifest, base=AofInfo(name, seq, BASE), history=history, base_seq=seq), name


def new_incr(manifest: Manifest, aof_filename: str) -> tuple[Manifest, str]:
    """A new incr file name `<aof>.<seq>.incr.aof`, appended to the incr list."""
    seq = manifest.incr_seq + 1
    name = "%s.%d%s%s" % (aof_filename, seq, INCR_SUFFIX, AOF_SUFFIX)
    return replace(manifest, incrs=manifest.incrs + (AofInfo(name, seq, INCR),), incr_seq=seq), name


def last_incr(manifest: Manifest, aof_filename: str) -> tuple[Manifest, str]:
    """The incr file to append to: the last one listed, or a new one if there is none."""
    if manifest.incrs:
        return manifest, manifest.incrs[-1].name
    return new_incr(manifest, aof_filename)


def mark_incrs_history(manifest: Manifest, keep_last: bool) -> Manifest:
    """After a rewrite, the incr files it covers become history (markRewrittenIncrAofAsHistory).

    With AOF on, the last incr is the one being written and stays; the others
    move to the head of the history list, keeping their order (Redis walks
    them from the tail, adding each at the head).
    """
    covered = manifest.incrs[:-1] if keep_last else manifest.incrs
    kept = manifest.incrs[len(covered) :]
    moved = tuple(replace(info, type=HISTORY) for info in covered)
    return replace(manifest, incrs=kept, history=moved + manifest.history)


def drop_history(manifest: Manifest) -> tuple[Manifest, list[str]]:
    """The manifest without history, and the history files to delete (aofDelHistoryFiles)."""
    return replace(manifest, history=()), [info.name for info in manifest.history]


def upgrade(aof_filename: str) -> Manifest:
    """The manifest for an old single-file AOF moved into the AOF directory (aofUpgradePrepare)."""
    return Manifest(base=AofInfo(aof_filename, 1, BASE), base_seq=1)


def needs_upgrade(manifest: Manifest, aof_filename: str, dir_exists: bool, in_dir: bool) -> bool:
    """Whether an old-style `aof_filename` found in the working directory must be migrated.

    Call it only when that file exists; ``in_dir`` says whether a file of the
    same name already exists inside the AOF directory.
    """
    if not dir_exists or manifest.is_empty():
        return True
    base = manifest.base
    return base is not None and not manifest.incrs and base.name == aof_filename and not in_dir


@dataclass(frozen=True, slots=True)
class StartPlan:
    """What opening the AOF at server start does (aofOpenIfNeededOnServerStart).

    ``create_base``: the name of an empty base to write first (the dataset is
    empty: no base and no incr listed), else None. ``append_to``: the incr file
    to open for appending (created if missing). ``manifest``: to persist.
    """

    manifest: Manifest
    create_base: str | None
    append_to: str
    dirty: bool


def start(manifest: Manifest, aof_filename: str, rdb_preamble: bool) -> StartPlan:
    """The plan for a server starting with appendonly yes."""
    create_base = None
    if manifest.is_empty():
        manifest, create_base = new_base(manifest, aof_filename, rdb_preamble)
    had_incr = bool(manifest.incrs)
    manifest, append_to = last_incr(manifest, aof_filename)
    return StartPlan(manifest, create_base, append_to, create_base is not None or not had_incr)


def rewrite_started(manifest: Manifest, aof_filename: str) -> tuple[Manifest, str]:
    """A rewrite starts with AOF on: writes go to a new incr file from now (openNewIncrAofForAppend)."""
    return new_incr(manifest, aof_filename)


def rewrite_done(manifest: Manifest, aof_filename: str, rdb_preamble: bool, aof_on: bool = True) -> tuple[Manifest, str]:
    """A rewrite finished: its file becomes the new base (backgroundRewriteDoneHandler).

    Returns the manifest to persist and the new base name the rewrite's temp
    file is renamed to. The old base and the incr files the rewrite covers
    become history; with AOF on, the incr being written stays. Deleting the
    history afterwards is `drop_history`.
    """
    manifest, base_name = new_base(manifest, aof_filename, rdb_preamble)
    return mark_incrs_history(manifest, keep_last=aof_on), base_name


def enable_done(manifest: Manifest, aof_filename: str, rdb_preamble: bool) -> tuple[Manifest, str, str]:
    """The first rewrite after CONFIG SET appendonly yes finished (AOF_WAIT_REWRITE).

    Returns the manifest, the new base name (for the rewrite's temp file) and
    the new incr name (for `temp_incr_name`'s file, written meanwhile).
    """
    manifest, base_name = new_base(manifest, aof_filename, rdb_preamble)
    manifest, incr_name = new_incr(manifest, aof_filename)
    return mark_incrs_history(manifest, keep_last=True), base_name, incr_name
