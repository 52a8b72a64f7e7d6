"""The append-only log's pure parts: records, loading rules, replay, checking, rewriting.

Records are RESP multibulk commands, as Redis writes them; a line starting
with ``#`` is an annotation (``#TS:<unix seconds>`` when aof-timestamp-enabled)
and is skipped on load. A file may start with an RDB image ("REDIS" magic: an
RDB base file, or an old-style RDB preamble) which `kvcore.rdb` reads.

- `load_commands` replays one file into a `Node` with redis-server 7.0's
  loadSingleAppendOnlyFile rules: a fake client with no output, MULTI queued
  until EXEC, no expiry while loading, and a truncated tail (or an unfinished
  MULTI at the end) reported with the offset to truncate to, which
  aof-load-truncated accepts or refuses. `load_files` loads the files of a
  manifest in order, as loadAppendOnlyFiles does.
- `check_aof`, `fix_aof` and `run_check_aof` are redis-check-aof: the same
  (stricter) reading rules, messages and exit codes, with the I/O injected.
- `rewrite_dataset` writes a dataset as the commands that rebuild it (an AOF
  rewrite with aof-use-rdb-preamble no).

No file I/O here: functions take bytes and return results; the runtime reads
and truncates files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import hiredis

from kvcore import aof_manifest
from kvcore.client import Client, ReplyMode
from kvcore.corrupt import CorruptValue
from kvcore.protocol import Limits
from kvcore.reply import Error
from kvcore.types_stream import ID_MAX, format_id

LINE_MAX = 1024  # AOF_ANNOTATION_LINE_MAX_LEN: fgets reads lines of up to 1023 bytes
CLIENT_ID_AOF = 2**64 - 1
RDB_MAGIC = b"REDIS"
ITEMS_PER_COMMAND = 64  # AOF_REWRITE_ITEMS_PER_CMD

# Load outcomes, as loadSingleAppendOnlyFile's return values.
OK = "ok"
EMPTY = "empty"
TRUNCATED = "truncated"
FAILED = "failed"
NOT_EXIST = "not-exist"

BAD_FORMAT = (
    "Bad file format reading the append only file %s: make a backup of your AOF file, "
    "then use ./redis-check-aof --fix <filename.manifest>"
)
UNRECOVERABLE = "Unrecoverable error reading the append only file %s: %s"
UNEXPECTED_EOF = (
    "Unexpected end of file reading the append only file %s. You can: 1) Make a backup of your AOF file, "
    "then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the "
    "'aof-load-truncated' configuration option to yes and restart the server."
)
UNKNOWN_COMMAND = "Unknown command '%s' reading the append only file %s"
SHORT_READ = "!!! Warning: short read while loading the AOF file %s!!!"
TRUNCATING = "!!! Truncating the AOF %s at offset %d !!!"
LOADED_ANYWAY = "AOF %s loaded anyway because aof-load-truncated is enabled"
REVERT_MULTI = "Revert incomplete MULTI/EXEC transaction in AOF file %s"
RDB_PREAMBLE_ERROR = "Error reading the RDB preamble of the AOF file %s, AOF loading aborted"
RDB_BASE_ERROR = "Error reading the RDB base file %s, AOF loading aborted"
TRUNCATED_NOT_LAST = "Fatal error: the truncated file is not the last file"
NO_FILE = "Unable to obtain the AOF file %s length. stat: No such file or directory"

RdbLoader = Callable[..., int]
"""``rdb_loader(node, data) -> end``: load the RDB image at the start of ``data``
into ``node`` (as rdbLoadRio with RDBFLAGS_AOF_PREAMBLE: keys already expired
are kept) and return the offset just past it (EOF opcode and checksum). It
raises an exception on a corrupt image. `default_rdb_loader` is kvcore.rdb's."""


# -- records -------------------------------------------------------------------
def encode_command(argv: list[bytes]) -> bytes:
    """One record: the command as a RESP multibulk of bulk strings.

    Every write is encoded here (for the log and the replicas), so the
    headers of short arguments come from tables and the commonest shape
    (two or three arguments: INCR, SET, SADD, INCRBY...) is one join.
    """
    if len(argv) == 3:
        a, b, c = argv
        if len(a) < _SHORT and len(b) < _SHORT and len(c) < _SHORT:
            return b"".join((b"*3\r\n", _BULK_HEADER[len(a)], a, b"\r\n", _BULK_HEADER[len(b)], b, b"\r\n",
                             _BULK_HEADER[len(c)], c, b"\r\n"))
    elif len(argv) == 2:
        a, b = argv
        if len(a) < _SHORT and len(b) < _SHORT:
            return b"".join((b"*2\r\n", _BULK_HEADER[len(a)], a, b"\r\n", _BULK_HEADER[len(b)], b, b"\r\n"))
    parts = [_MULTIBULK_HEADER[len(argv)] if len(argv) < _SHORT else b"*%d\r\n" % len(argv)]
    for arg in argv:
        size = len(arg)
        parts += (_BULK_HEADER[size] if size < _SHORT else b"$%d\r\n" % size, arg, b"\r\n")
    return b"".join(parts)


_SHORT = 256
_BULK_HEADER = tuple(b"$%d\r\n" % size for size in range(_SHORT))
_MULTIBULK_HEADER = tuple(b"*%d\r\n" % count for count in range(_SHORT))


def timestamp_annotation(unix_seconds: int) -> bytes:
    """The annotation aof-timestamp-enabled writes before records of a new second."""
    return b"#TS:%d\r\n" % unix_seconds


def is_rdb(data: bytes) -> bool:
    """Whether a file starts with an RDB image (a base in RDB format, or an RDB preamble)."""
    return data[:5] == RDB_MAGIC


# -- C helpers -------------------------------------------------------------------
def _strtol(text: bytes, start: int) -> tuple[int, int]:
    """C's strtol(text + start, &end, 10) on a C string: (value, end index)."""
    n = len(text)
    i = start
    while i < n and text[i] in b" \t\n\v\f\r":
        i += 1
    sign = 1
    if i < n and text[i] in b"+-":
        sign = -1 if text[i] == 0x2D else 1
        i += 1
    j = i
    while j < n and 0x30 <= text[j] <= 0x39:
        j += 1
    if j == i:
        return 0, start
    value = sign * int(text[i:j])
    return max(-(2**63), min(2**63 - 1, value)), j


def _line_number(line: bytes) -> int:
    """strtol of a "*<n>" or "$<n>" line after its type byte (plain digits and CRLF: at once)."""
    digits = line[1:-2]
    if line[-2:] == b"\r\n" and digits.isdigit() and len(digits) < 19:
        return int(digits)
    return _strtol(_c_string(line), 1)[0]


def _c_string(chunk: bytes) -> bytes:
    """What C sees of a buffer: the bytes before the first NUL."""
    nul = chunk.find(b"\0")
    return chunk if nul < 0 else chunk[:nul]


class _Stream:
    """A file read with fgets and fread, keeping C's end-of-file flag."""

    __slots__ = ("data", "pos", "eof")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos
        self.eof = False

    def fgets(self, size: int) -> bytes | None:
        """Up to size - 1 bytes, through the first newline; None at the end."""
        data, pos = self.data, self.pos
        if pos >= len(data):
            self.eof = True
            return None
        limit = pos + size - 1
        newline = data.find(b"\n", pos, limit)
        if newline >= 0:
            stop = newline + 1
        else:
            stop = min(len(data), limit)
            if stop < limit:
                self.eof = True
        self.pos = stop
        return data[pos:stop]

    def fread(self, size: int) -> bytes:
        chunk = self.data[self.pos : self.pos + size]
        self.pos += len(chunk)
        if len(chunk) < size:
            self.eof = True
        return chunk


# -- reading for load ------------------------------------------------------------
class _Format(Exception):
    """loadSingleAppendOnlyFile's fmterr."""


class _Read(Exception):
    """loadSingleAppendOnlyFile's readerr: a short read (at EOF) or a read error."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


def _read_command(stream: _Stream) -> list[bytes] | None:
    """The next command, None at a clean end; skips annotations.

    Raises `_Format` or `_Read` where Redis jumps to fmterr or readerr.
    """
    while True:
        line = stream.fgets(LINE_MAX)
        if line is None:
            return None
        if line[:1] != b"#":
            break
    if line[:1] != b"*":
        raise _Format
    if len(line) < 2 or line[1] == 0:
        raise _Read("NUL byte after '*'")
    argc = (_line_number(line) + 2**31) % 2**32 - 2**31  # atoi's int
    if argc < 1:
        raise _Format
    return [_read_argument(stream) for _ in range(argc)]


def _read_argument(stream: _Stream) -> bytes:
    line = stream.fgets(LINE_MAX)
    if line is None:
        raise _Read
    if line[:1] != b"$":
        raise _Format
    size = _line_number(line)
    if size < 0:
        raise _Format  # Redis would try to allocate ~2**64 bytes and abort
    arg = stream.fread(size) if size else b""
    if len(arg) < size or len(stream.fread(2)) < 2:  # the CRLF is skipped unchecked
        raise _Read
    return arg


@dataclass(slots=True)
class Parsed:
    """`parse_commands`' outcome: the complete commands and how reading stopped."""

    commands: list[tuple[list[bytes], int]]  # (argv, offset just past it)
    status: str  # OK, TRUNCATED or FAILED
    offset: int  # where reading stopped (FAILED: where the bad line starts)
    error: str = ""


def parse_commands(data: bytes, start: int = 0) -> Parsed:
    """Every command of an AOF (from ``start``) with the loader's reading rules.

    The status is TRUNCATED when the data ends inside a command, FAILED on a
    format or read error; no MULTI/EXEC accounting (that is the replay's).
    """
    stream = _Stream(data, start)
    commands = []
    while True:
        at = stream.pos
        try:
            argv = _read_command(stream)
        except _Format:
            return Parsed(commands, FAILED, at, "format")
        except _Read as exc:
            if stream.eof:
                return Parsed(commands, TRUNCATED, at)
            return Parsed(commands, FAILED, at, exc.reason)
        if argv is None:
            return Parsed(commands, OK, stream.pos)
        commands.append((argv, stream.pos))


# -- replay ----------------------------------------------------------------------
@dataclass(slots=True)
class LoadResult:
    """What loading one file (or a manifest's files) did.

    ``truncate_to``: with status TRUNCATED, the runtime truncates the file
    there (Redis does before going on). ``loaded_bytes``: bytes read. ``log``:
    the lines Redis logs, in order; a FAILED result's reason is the last.
    After FAILED the node holds a partial dataset: Redis exits.
    """

    status: str
    commands: int = 0
    loaded_bytes: int = 0
    truncate_to: int | None = None
    offset: int | None = None
    log: list[str] = field(default_factory=list)
    file: str = ""

    @property
    def ok(self) -> bool:
        return self.status in (OK, EMPTY, TRUNCATED)

    @property
    def error(self) -> str:
        return self.log[-1] if self.status == FAILED and self.log else ""


def aof_client(node) -> Client:
    """Redis's AOF client: never listed, never answered, never blocked."""
    client = Client(-1, CLIENT_ID_AOF, node, "", "", Limits())
    client.reply_mode = ReplyMode.OFF
    return client


def load_commands(
    node,
    data: bytes,
    *,
    filename: str = "appendonly.aof",
    load_truncated: bool | None = None,
    rdb_loader: RdbLoader | None = None,
) -> LoadResult:
    """Replay one AOF file into ``node``, as redis-server's loadSingleAppendOnlyFile.

    ``load_truncated`` defaults to the node's aof-load-truncated. Commands run
    without replies, propagation or expiry (``node.loading``); an RDB image
    at the start goes to ``rdb_loader`` (default: `kvcore.rdb`'s).
    """
    if not data:
        return LoadResult(EMPTY, file=filename)
    if load_truncated is None:
        load_truncated = node.config["aof-load-truncated"]
    was_loading, node.loading = node.loading, True
    try:
        return _replay(node, data, filename, load_truncated, rdb_loader)
    finally:
        node.loading = was_loading


def _replay(node, data: bytes, filename: str, load_truncated: bool, rdb_loader) -> LoadResult:
    result = LoadResult(OK, file=filename)
    start = 0
    if is_rdb(data):
        old_style = filename == node.config["appendfilename"]
        try:
            start = (rdb_loader or default_rdb_loader())(node, data)
        except Exception as exc:  # any failure of the RDB reader aborts the load, as in Redis
            result.log.append(str(exc))
            result.log.append((RDB_PREAMBLE_ERROR if old_style else RDB_BASE_ERROR) % filename)
            return _failed(result, 0)
    client = aof_client(node)
    valid_up_to = before_multi = 0
    table, multi = node.table, node.table.get(b"multi")
    known: dict[bytes, object] = {}  # argv[0] as written -> its command (those without subcommands)
    pos = start
    while True:
        # The fast path as far as it goes, then one command (after any annotations) read
        # with the exact rules, then the fast path again: a #TS: line costs one slow read.
        for argv, end in _plain_commands(data, pos):
            cmd = known.get(argv[0])
            if cmd is None:
                cmd = _lookup(table, argv)
                if cmd is None:
                    break  # the exact reader below reports it
                if cmd.container is None:  # a subcommand depends on argv[1] too
                    known[argv[0]] = cmd
            if cmd is multi:
                before_multi = valid_up_to
            _run(node, client, cmd, argv)
            result.commands += 1
            valid_up_to = pos = end
        stream = _Stream(data, pos)
        at = stream.pos
        try:
            argv = _read_command(stream)
        except _Format:
            result.log.append(BAD_FORMAT % filename)
            return _failed(result, at)
        except _Read as exc:
            if not stream.eof:
                result.log.append(UNRECOVERABLE % (filename, exc.reason))
                return _failed(result, at)
            # Cut inside a transaction: back to before its MULTI, where redis-check-aof --fix
            # cuts too. Redis 7.0's loader cuts after the transaction's last whole command,
            # which leaves an open MULTI in the file: the commands appended after the restart
            # would join it at the next load, and the torn transaction's first half would run
            # with them (found by kvsim's expiry sweep).
            cut = before_multi if client.multi is not None else valid_up_to
            return _unexpected_eof(result, filename, cut, load_truncated, at)
        if argv is None:
            break
        cmd = _lookup(table, argv)
        if cmd is None:
            result.log.append(UNKNOWN_COMMAND % (argv[0].decode("utf-8", "replace"), filename))
            return _failed(result, at)
        if cmd is multi:
            before_multi = valid_up_to
        _run(node, client, cmd, argv)
        result.commands += 1
        valid_up_to = pos = stream.pos
    if client.multi is not None:
        result.log.append(REVERT_MULTI % filename)
        return _unexpected_eof(result, filename, before_multi, load_truncated, len(data))
    result.loaded_bytes = len(data)
    return result


def _plain_commands(data: bytes, start: int):
    """The commands at the start of ``data[start:]`` that hiredis reads, each with the offset past it.

    The fast path of the loader: hiredis checks lengths as strictly as a
    canonical encoding (no sign, no leading zero, CRLF after each header), so
    a multibulk of bulk strings it returns was written as ``*N\\r\\n`` then
    ``$L\\r\\n<L bytes>`` and two bytes, and its size follows from the
    arguments. It stops before anything else (an annotation, another reply
    type, an empty multibulk, a protocol error, a truncated tail), where the
    exact reader (`_read_command`) takes over with Redis's rules.
    """
    reader = hiredis.Reader()
    end = start
    for chunk_start in range(start, len(data), _FEED_BYTES):
        reader.feed(data, chunk_start, min(_FEED_BYTES, len(data) - chunk_start))
        while True:
            try:
                argv = reader.gets()
            except hiredis.ProtocolError:
                return
            if argv is False:
                break
            try:
                size = len(_JOIN(argv))
            except TypeError:  # not a list of bulk strings
                return
            if not argv:
                return
            try:
                size += _HEADER_SIZE[len(argv)] + sum(map(_BULK_OVERHEAD_OF, map(len, argv)))
            except IndexError:
                size += len(b"*%d\r\n" % len(argv)) + sum(len(b"$%d\r\n" % len(arg)) + 2 for arg in argv)
            end += size
            yield argv, end


_FEED_BYTES = 1 << 20
_JOIN = b"".join
_HEADER_SIZE = [len(b"*%d\r\n" % count) for count in range(1024)]
_BULK_OVERHEAD_OF = [len(b"$%d\r\n" % length) + 2 for length in range(1 << 16)].__getitem__


def _lookup(table, argv: list[bytes]):
    """lookupCommand: the command or subcommand argv names, None if unknown."""
    cmd = table.get(argv[0].lower())
    if cmd is not None and cmd.subcommands and len(argv) > 1:
        cmd = cmd.subcommands.get(argv[1].lower())
    if cmd is None or cmd.handler is None:
        return None
    return cmd


def _run(node, client: Client, cmd, argv: list[bytes]) -> None:
    """Run a command for the AOF client: queued inside MULTI (all but EXEC), else called.

    Redis calls the handler directly, unchecked; a command of the wrong arity
    is skipped here (its error reply would have gone nowhere). A MULTI or
    WATCH inside MULTI is dropped: Redis queues it, and EXEC runs it into an
    error.
    """
    if client.multi is not None and cmd is not node.table.get(b"exec"):
        if cmd.name not in ("multi", "watch"):
            client.multi.append((cmd, argv))
        return
    if not cmd.arity_ok(len(argv)):
        return
    try:
        cmd.handler(client, argv)
    except Error:
        pass
    client.propagate_as = None


def _unexpected_eof(result: LoadResult, filename: str, valid_up_to: int, load_truncated: bool, at: int) -> LoadResult:
    """The file ends inside a command (or a MULTI): truncate and go on, or fail."""
    if load_truncated:
        result.log += [SHORT_READ % filename, TRUNCATING % (filename, valid_up_to), LOADED_ANYWAY % filename]
        result.status = TRUNCATED
        result.truncate_to = result.loaded_bytes = valid_up_to
        result.offset = at
        return result
    result.log.append(UNEXPECTED_EOF % filename)
    return _failed(result, at)


def _failed(result: LoadResult, at: int) -> LoadResult:
    result.status = FAILED
    result.offset = result.loaded_bytes = at
    return result


def default_rdb_loader() -> RdbLoader:
    """`kvcore.rdb.load` for an RDB image before the commands: expired keys kept, as Redis keeps them."""
    from kvcore import rdb

    def load(node, data: bytes) -> int:
        return rdb.load(node, data, drop_expired=False).end

    return load


def load_files(
    node,
    manifest: aof_manifest.Manifest,
    files: dict[str, bytes],
    *,
    load_truncated: bool | None = None,
    rdb_loader: RdbLoader | None = None,
) -> LoadResult:
    """Load a manifest's base and incr files in order, as loadAppendOnlyFiles.

    ``files`` maps the names the manifest lists to their contents (a missing
    name is a missing file). Only the last file may be truncated; an empty
    incr counts as loaded. The result's ``file`` names the file to truncate
    (TRUNCATED) or the one that failed. NOT_EXIST: the manifest lists nothing;
    EMPTY: every file is empty.
    """
    infos = manifest.load_order()
    if not infos:
        return LoadResult(NOT_EXIST)
    missing = [info.name for info in infos if info.name not in files]
    if missing:
        return LoadResult(FAILED, log=[NO_FILE % missing[0]], file=missing[0])
    if not any(files[info.name] for info in infos):
        return LoadResult(EMPTY)
    total = LoadResult(OK)
    for index, info in enumerate(infos):
        one = load_commands(node, files[info.name], filename=info.name, load_truncated=load_truncated, rdb_loader=rdb_loader)
        total.commands += one.commands
        total.loaded_bytes += one.loaded_bytes
        total.log += one.log
        total.file = info.name
        if one.status == TRUNCATED and index < len(infos) - 1:
            total.log.append(TRUNCATED_NOT_LAST)
            one.status = FAILED
        if one.status in (FAILED, TRUNCATED):
            total.status, total.truncate_to, total.offset = one.status, one.truncate_to, one.offset
            if one.status == FAILED:
                return total
    return total


# -- redis-check-aof ---------------------------------------------------------------
CHECK_OK = "ok"
CHECK_EMPTY = "empty"
CHECK_TRUNCATED = "truncated"
CHECK_TIMESTAMP_TRUNCATED = "timestamp-truncated"


class CheckExit(Exception):
    """redis-check-aof exits with ``code`` (after printing what it printed)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class CheckIO:
    """What redis-check-aof does to the world; the runtime's CLI supplies the real one.

    ``read(path)`` returns a file's bytes or None when it cannot be opened;
    ``truncate(path, size)`` returns False when it fails; ``confirm()`` reads
    the answer to "Continue? [y/N]: " (True for an answer starting with y).
    """

    def write(self, text: str) -> None:
        raise NotImplementedError

    def read(self, path: str) -> bytes | None:
        raise NotImplementedError

    def truncate(self, path: str, size: int) -> bool:
        raise NotImplementedError

    def confirm(self) -> bool:
        raise NotImplementedError


def _char(byte: int) -> str:
    return bytes([byte]).decode("utf-8", "surrogateescape")


def _hex_char(byte: int) -> str:
    """printf("%02x") of a C (signed) char."""
    return "%02x" % byte if byte < 0x80 else "%08x" % (byte | 0xFFFFFF00)


class _Checker:
    """redis-check-aof's reader: strict CRLFs, error text at ``epos``, a line count.

    ``line`` runs on across the files of one check, as the tool's static does.
    """

    def __init__(self, to_timestamp: int = 0) -> None:
        self.to_timestamp = to_timestamp
        self.line = 1
        self.error = ""
        self.epos = 0
        self.multi = 0
        self.stream = _Stream(b"")

    def fail(self, text: str) -> bool:
        self.error = "0x%16x: %s" % (self.epos, text.split("\0", 1)[0])
        return False

    def newline(self, buf: bytes, at: int) -> bool:
        """consumeNewline. Past the end of a line cut by the end of the file C reads
        the terminator, then a stale byte of its buffer: shown here as 00."""
        pair = buf[at : at + 2] + b"\0\0"
        if pair[:2] != b"\r\n":
            return self.fail("Expected \\r\\n, got: %s%s" % (_hex_char(pair[0]), _hex_char(pair[1])))
        self.line += 1
        return True

    def read_long(self, prefix: bytes) -> int | None:
        self.epos = self.stream.pos
        buf = self.stream.fgets(128)
        if buf is None:
            return None
        if buf[:1] != prefix:
            self.fail("Expected prefix '%s', got: '%s'" % (prefix.decode(), _char(buf[0])))
            return None
        value, end = _strtol(_c_string(buf), 1)
        return value if self.newline(buf, end) else None

    def read_string(self) -> bytes | None:
        size = self.read_long(b"$")
        if size is None:
            return None
        if size < 0 or size > 2**63 - 3:
            self.fail("Expected to read string of %d bytes, which is not in the suitable range" % size)
            return None
        self.epos = self.stream.pos
        data = self.stream.fread(size + 2)
        if len(data) != size + 2:
            self.fail("Expected to read %d bytes, got %d bytes" % (size + 2, len(data)))
            return None
        if not self.newline(data, size):
            return None
        return _c_string(data[:size])

    def process_resp(self, path: str) -> bool:
        """One record; MULTI and EXEC must alternate (``multi`` counts the open one)."""
        argc = self.read_long(b"*")
        if argc is None:
            return False
        for i in range(argc):
            arg = self.read_string()
            if arg is None:
                return False
            if i == 0 and arg.lower() == b"multi":
                self.multi += 1
                if self.multi > 1:
                    return self.fail("Unexpected MULTI in AOF %s" % path)
            elif i == 0 and arg.lower() == b"exec":
                self.multi -= 1
                if self.multi:
                    return self.fail("Unexpected EXEC in AOF %s" % path)
        return True

    def process_annotation(self, io: CheckIO, path: str, last_file: bool) -> bool:
        """Skip an annotation; in --truncate-to-timestamp mode, cut the file at a later #TS."""
        self.epos = self.stream.pos
        buf = self.stream.fgets(LINE_MAX)
        if not self.to_timestamp or not buf.startswith(b"#TS:"):
            return True
        ts, end = _strtol(_c_string(buf), 4)
        if end >= len(buf) or buf[end] != 0x0D or not -(2**63) < ts < 2**63 - 1:
            io.write("Invalid timestamp annotation\n")
            raise CheckExit(1)
        if ts <= self.to_timestamp:
            return True
        if self.epos == 0:
            io.write("AOF %s has nothing before timestamp %d, aborting...\n" % (path, self.to_timestamp))
            raise CheckExit(1)
        if not last_file:
            io.write(
                "Failed to truncate AOF %s to timestamp %d to offset %d because it is not the last file.\n"
                % (path, self.to_timestamp, self.epos)
            )
            io.write(
                "If you insist, please delete all files after this file according to the manifest file and "
                "delete the corresponding records in manifest file manually. Then re-run redis-check-aof.\n"
            )
            raise CheckExit(1)
        if not io.truncate(path, self.epos):
            io.write("Failed to truncate AOF %s to timestamp %d\n" % (path, self.to_timestamp))
            raise CheckExit(1)
        return False

    def scan(self, io: CheckIO, data: bytes, start: int, path: str, name: str, last_file: bool) -> int | None:
        """Walk the records; the offset of the last complete one's end, None if cut at a timestamp."""
        self.stream = stream = _Stream(data, start)
        self.multi = 0
        pos = start
        while True:
            if not self.multi:
                pos = stream.pos
            if stream.pos >= len(data):
                stream.eof = True
                break
            first = data[stream.pos]
            if first == 0x23:  # '#'
                if not self.process_annotation(io, path, last_file):
                    return None
            elif first == 0x2A:  # '*'
                if not self.process_resp(path):
                    break
            else:
                io.write("AOF %s format error\n" % name)
                break
        if stream.eof and self.multi and not self.error:
            self.fail("Reached EOF before reading EXEC for MULTI")
        if self.error:
            io.write(self.error + "\n")
        return pos


RdbCheck = Callable[..., int]
"""``rdb_check(io, data, path) -> end``: redis-check-rdb on the RDB image at the
start of ``data``, printing through ``io.write``; the offset just past the
image, or -1 when it is not sane."""


def _check_single(
    io: CheckIO,
    checker: _Checker,
    name: str,
    path: str,
    *,
    last_file: bool = True,
    fix: bool = False,
    preamble: bool = False,
    rdb_check: RdbCheck | None = None,
) -> str:
    """checkSingleAof: check (and with ``fix`` truncate) one file; its CHECK_* status."""
    data = io.read(path)
    if data is None:
        io.write("Cannot open file %s: No such file or directory, aborting...\n" % path)
        raise CheckExit(1)
    if not data:
        return CHECK_EMPTY
    start = 0
    if preamble:
        start = (rdb_check or default_rdb_check())(io, data, path)
        if start < 0:
            io.write("RDB preamble of AOF file is not sane, aborting.\n")
            raise CheckExit(1)
        io.write("RDB preamble is OK, proceeding with AOF tail...\n")
    pos = checker.scan(io, data, start, path, name, last_file)
    if pos is None:
        return CHECK_TIMESTAMP_TRUNCATED
    diff = len(data) - pos
    if diff == 0 and checker.to_timestamp:
        io.write("Truncate nothing in AOF %s to timestamp %d\n" % (name, checker.to_timestamp))
        return CHECK_OK
    io.write(
        "AOF analyzed: filename=%s, size=%d, ok_up_to=%d, ok_up_to_line=%d, diff=%d\n"
        % (name, len(data), pos, checker.line, diff)
    )
    if diff > 0:
        _fix(io, name, path, len(data), pos, last_file, fix)
        return CHECK_TRUNCATED
    return CHECK_OK


def _fix(io: CheckIO, name: str, path: str, size: int, pos: int, last_file: bool, fix: bool) -> None:
    if not fix:
        io.write("AOF %s is not valid. Use the --fix option to try fixing it.\n" % name)
        raise CheckExit(1)
    if not last_file:
        io.write("Failed to truncate AOF %s because it is not the last file\n" % name)
        raise CheckExit(1)
    io.write("This will shrink the AOF %s from %d bytes, with %d bytes, to %d bytes\n" % (name, size, size - pos, pos))
    io.write("Continue? [y/N]: ")
    if not io.confirm():
        io.write("Aborting...\n")
        raise CheckExit(1)
    if not io.truncate(path, pos):
        io.write("Failed to truncate AOF %s\n" % name)
        raise CheckExit(1)


def _print_status(io: CheckIO, status: str, name: str, kind: str, to_timestamp: int) -> None:
    """printAofStyle."""
    if status == CHECK_OK:
        io.write("%s %s is valid\n" % (kind, name))
    elif status == CHECK_EMPTY:
        io.write("%s %s is empty\n" % (kind, name))
    elif status == CHECK_TIMESTAMP_TRUNCATED:
        io.write("Successfully truncated AOF %s to timestamp %d\n" % (name, to_timestamp))
    elif status == CHECK_TRUNCATED:
        io.write("Successfully truncated AOF %s\n" % name)


def default_rdb_check() -> RdbCheck:
    """`kvcore.rdb.parse` as the RDB checker: its error line, or nothing, instead of redis-check-rdb's report."""
    from kvcore import rdb

    def check(io: CheckIO, data: bytes, path: str) -> int:
        try:
            return rdb.parse(data).end
        except rdb.RdbError as exc:
            io.write("--- RDB ERROR DETECTED ---\n%s\n" % exc)
            return -1

    return check


def input_file_type(data: bytes) -> str:
    """"manifest" (a non-comment line starts with "file"), "rdb" (RDB magic) or "resp"."""
    for chunk in aof_manifest.fgets_lines(data, aof_manifest.MANIFEST_MAX_LINE + 1):
        if chunk[:1] != b"#" and chunk[:4] == b"file":
            return "manifest"
    if len(data) >= 8 and is_rdb(data):
        return "rdb"
    return "resp"


def run_check_aof(io: CheckIO, argv: list[str], rdb_check: RdbCheck | None = None) -> int:
    """redis-check-aof's main: ``argv`` as on its command line; returns the exit code.

    ``[--fix | --truncate-to-timestamp <ts>] <file.manifest | file.aof>``.
    Files starting with an RDB image go to ``rdb_check`` first (default:
    `default_rdb_check`).
    """
    try:
        fix, to_timestamp, path = _check_arguments(io, argv)
        data = io.read(path)
        if data is None:
            io.write("Cannot open file %s: No such file or directory\n" % path)
            raise CheckExit(1)
        checker = _Checker(to_timestamp)
        kind = input_file_type(data)
        if kind == "manifest":
            _check_multi_part(io, checker, data, _dirname(path), fix, rdb_check)
        else:
            io.write("Start checking Old-Style AOF\n")
            status = _check_single(io, checker, path, path, fix=fix, preamble=kind == "rdb", rdb_check=rdb_check)
            _print_status(io, status, path, "AOF", to_timestamp)
    except CheckExit as done:
        return done.code
    return 0


def _check_arguments(io: CheckIO, argv: list[str]) -> tuple[bool, int, str]:
    program = argv[0] if argv else "redis-check-aof"
    args = argv[1:]
    if len(args) == 1:
        return False, 0, args[0]
    if len(args) == 2 and args[0] == "--fix":
        return True, 0, args[1]
    if len(args) == 3 and args[0] == "--truncate-to-timestamp":
        text = args[1].encode()
        value, end = _strtol(text, 0)
        if end != len(text) or not -(2**63) < value < 2**63 - 1:
            io.write("Invalid timestamp, aborting...\n")
            raise CheckExit(1)
        return False, value, args[2]
    io.write("Usage: %s [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>\n" % program)
    raise CheckExit(1)


def _dirname(path: str) -> str:
    """C's dirname: "." for a bare name, "/" at the root, trailing slashes ignored."""
    trimmed = path.rstrip("/")
    if not trimmed:
        return "/" if path else "."
    head = trimmed.rpartition("/")[0].rstrip("/")
    if "/" not in trimmed:
        return "."
    return head or "/"


def _check_multi_part(io: CheckIO, checker: _Checker, text: bytes, dirpath: str, fix: bool, rdb_check) -> None:
    """checkMultiPartAof: the manifest, then the base and every incr, only the last one fixable."""
    io.write("Start checking Multi Part AOF\n")
    try:
        manifest = aof_manifest.parse_manifest(text)
    except aof_manifest.ManifestError as exc:
        io.write("".join(exc.log_lines()))
        raise CheckExit(1) from None
    infos = manifest.load_order()
    for index, info in enumerate(infos):
        path = dirpath + "/" + info.name
        preamble = info is manifest.base and _is_rdb_file(io, path)
        if info is manifest.base:
            io.write("Start to check BASE AOF (%s format).\n" % ("RDB" if preamble else "RESP"))
        elif index == (1 if manifest.base else 0):
            io.write("Start to check INCR files.\n")
        last_file = index == len(infos) - 1
        status = _check_single(io, checker, info.name, path, last_file=last_file, fix=fix, preamble=preamble, rdb_check=rdb_check)
        _print_status(io, status, info.name, "BASE AOF" if info is manifest.base else "INCR AOF", checker.to_timestamp)
    io.write("All AOF files and manifest are valid\n")


def _is_rdb_file(io: CheckIO, path: str) -> bool:
    """fileIsRDB: at least 8 bytes, starting with the RDB magic."""
    data = io.read(path)
    if data is None:
        io.write("Cannot open file %s: No such file or directory\n" % path)
        raise CheckExit(1)
    return len(data) >= 8 and is_rdb(data)


class _MemoryIO(CheckIO):
    """One file in memory, for `check_aof` and `fix_aof`."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.out: list[str] = []

    def write(self, text: str) -> None:
        self.out.append(text)

    def read(self, path: str) -> bytes | None:
        return self.data

    def truncate(self, path: str, size: int) -> bool:
        self.data = self.data[:size]
        return True

    def confirm(self) -> bool:
        return True


def check_aof(data: bytes, filename: str = "appendonly.aof") -> tuple[bool, int, str]:
    """Check one AOF file's records: (valid, offset of the end of the last good record, message).

    The message is redis-check-aof's diagnosis of the file named ``filename``
    ("0x...: Expected \\r\\n, got: ..."), empty for a valid file. RESP records
    only: a file starting with an RDB image needs `run_check_aof`.
    """
    io = _MemoryIO(data)
    pos = _Checker().scan(io, data, 0, filename, filename, True)
    return pos == len(data), pos, "".join(io.out).strip()


def fix_aof(data: bytes) -> bytes:
    """What `redis-check-aof --fix` leaves of an AOF file: its records up to the last good one."""
    return data[: check_aof(data)[1]]


# -- rewrite -------------------------------------------------------------------------
def rewrite_dataset(node, timestamp_s: int | None = None) -> bytes:
    """The dataset as the commands that rebuild it: an AOF base (rewriteAppendOnlyFileRio).

    First a FUNCTION LOAD per library; per non-empty db a SELECT, then per key one command per type (collections
    in batches of 64 items: RPUSH, SADD, ZADD, HMSET; JSON.SET for JSON) and a
    PEXPIREAT for a key with a TTL, even one already past, as Redis writes it.
    With ``timestamp_s`` (aof-timestamp-enabled) the file starts with a
    timestamp annotation.
    """
    out = [timestamp_annotation(timestamp_s)] if timestamp_s is not None else []
    for library in node.functions.libraries.values():
        out.append(encode_command([b"FUNCTION", b"LOAD", library.code]))
    for db in node.dbs:
        if not db.data:
            continue
        out.append(encode_command([b"SELECT", b"%d" % db.index]))
        expires = db.expires
        for key, value in db.data.items():
            out.extend(encode_command(argv) for argv in rewrite_key(key, value))
            when = expires.get(key)
            if when is not None:
                out.append(encode_command([b"PEXPIREAT", key, b"%d" % when]))
    return b"".join(out)


def rewrite_key(key: bytes, value) -> list[list[bytes]]:
    """The commands that recreate one value (without its TTL)."""
    if type(value) is bytes:
        return [[b"SET", key, value]]
    if type(value) is CorruptValue:  # restored undecoded: it comes back as it came in
        return [[b"RESTORE", key, b"0", value.payload]]
    kind = value.TYPE
    if kind == "list":
        return _batches(b"RPUSH", key, [[item] for item in value])
    if kind == "set":
        return _batches(b"SADD", key, [[member] for member in value])
    if kind == "zset":
        return _batches(b"ZADD", key, [[b"%.17g" % score, member] for score, member in value.order])
    if kind == "hash":
        return _batches(b"HMSET", key, [[field, item] for field, item in value.items()])
    if kind == "stream":
        return _stream_commands(key, value)
    if kind == "ReJSON-RL":
        from kvcore.commands.json import encoded

        return [[b"JSON.SET", key, b"$", encoded(value.root, value)]]
    raise ValueError("no AOF rewrite for type %s" % kind)


def _stream_commands(key: bytes, stream) -> list[list[bytes]]:
    """rewriteStreamObject: an XADD per entry (``XADD key MAXLEN 0 0-1 x y`` for an empty stream), an
    XSETID with the counters, then per group an XGROUP CREATE, and per consumer an XCLAIM per pending
    entry, or an XGROUP CREATECONSUMER for one with none."""
    entries = stream.range(0, ID_MAX)
    commands = [[b"XADD", key, format_id(ident), *flat] for ident, flat in entries]
    if not entries:
        commands.append([b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"])
    commands.append([b"XSETID", key, format_id(stream.last_id), b"ENTRIESADDED", b"%d" % stream.entries_added,
                     b"MAXDELETEDID", format_id(stream.max_deleted_id)])
    for name in sorted(stream.groups):
        group = stream.groups[name]
        commands.append([b"XGROUP", b"CREATE", key, name, format_id(group.last_id), b"ENTRIESREAD",
                         b"%d" % group.entries_read])
        for consumer in group.sorted_consumers():
            if not len(consumer.pending):
                commands.append([b"XGROUP", b"CREATECONSUMER", key, name, consumer.name])
            for ident in consumer.pending.ids:
                nack = consumer.pending.get(ident)
                commands.append([b"XCLAIM", key, name, consumer.name, b"0", format_id(ident), b"TIME",
                                 b"%d" % nack.delivery_ms, b"RETRYCOUNT", b"%d" % nack.delivery_count, b"JUSTID",
                                 b"FORCE"])
    return commands


def _batches(name: bytes, key: bytes, items: list[list[bytes]]) -> list[list[bytes]]:
    commands = []
    for start in range(0, len(items), ITEMS_PER_COMMAND):
        argv = [name, key]
        for item in items[start : start + ITEMS_PER_COMMAND]:
            argv.extend(item)
        commands.append(argv)
    return commands
