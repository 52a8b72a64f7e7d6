"""Streams and their consumer groups in the sequential reference (`jepsen_like.redis_model`).

The reference workload adds entries only as ``0-*`` (Redis 7.0 picks the next
sequence number after the stream's last ID), so every entry ID is ``0-n`` and
predictable, and commands may name IDs the stream holds or held: XDEL, XACK,
XCLAIM, ranges, XTRIM MINID, XSETID. Claims name no minimum idle time, so
none depends on the clock; the one clock-made value, an entry's idle time in
XPENDING's extended form, is taken as observed. Replies follow Redis 7.0:
an emptied stream stays; XCLAIM and XAUTOCLAIM drop from the PEL entries the
stream no longer holds; a re-delivered entry is reassigned with one delivery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

StreamID = tuple[int, int]
MAX_ID: StreamID = (2**64 - 1, 2**64 - 1)
NEED_KEY = {"error": "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
                     "to use the MKSTREAM option to create an empty stream automatically."}
SMALLER_THAN_TOP = {"error": "ERR The ID specified in XSETID is smaller than the target stream top item"}
BUSYGROUP = {"error": "BUSYGROUP Consumer Group name already exists"}
AUTOCLAIM_COUNT = 100  # XAUTOCLAIM's default COUNT


@dataclass
class Pending:
    """An entry delivered to a group and not acknowledged: who holds it, how many deliveries."""

    consumer: str
    deliveries: int


@dataclass
class Group:
    last_id: StreamID
    pending: dict[StreamID, Pending] = field(default_factory=dict)
    consumers: set[str] = field(default_factory=set)

    def copy(self) -> Group:
        return Group(self.last_id, {ident: Pending(p.consumer, p.deliveries) for ident, p in self.pending.items()},
                     set(self.consumers))

    def held_by(self, consumer: str) -> list[StreamID]:
        return sorted(ident for ident, entry in self.pending.items() if entry.consumer == consumer)


@dataclass
class Stream:
    """Entries by ID (added in ID order), the last ID made, and the groups."""

    entries: dict[StreamID, list[str]] = field(default_factory=dict)
    last_id: StreamID = (0, 0)
    groups: dict[str, Group] = field(default_factory=dict)

    def copy(self) -> Stream:
        return Stream(dict(self.entries), self.last_id, {name: group.copy() for name, group in self.groups.items()})

    def entry(self, ident: StreamID) -> list:
        return [text(ident), list(self.entries[ident])]


def text(ident: StreamID) -> str:
    return "%d-%d" % ident


def parse(arg: str) -> StreamID:
    """A whole ID, ``ms-seq`` or ``ms`` (sequence 0)."""
    ms, _, seq = arg.partition("-")
    return int(ms), int(seq or 0)


def _bound(arg: str, start: bool) -> StreamID:
    """A range's end: ``-``, ``+``, a whole ID, or ``(ID``, exclusive."""
    if arg == "-":
        return (0, 0)
    if arg == "+":
        return MAX_ID
    if arg.startswith("("):
        ms, seq = parse(arg[1:])
        return (ms, seq + 1) if start else (ms, seq - 1)
    return parse(arg)


def _no_group(key: str, group: str, command: str = "") -> dict:
    return {"error": f"NOGROUP No such key '{key}' or consumer group '{group}'{command}"}


class StreamCommands:
    """The stream commands of `RedisModel` (which provides ``data`` and ``observed``)."""

    data: dict[str, Any]
    observed: Any

    def _stream(self, key: str) -> Stream | None:
        return self.data.get(key)

    def xadd(self, args):
        """XADD key [NOMKSTREAM] [MAXLEN [=] n] 0-* field value"""
        key, rest = args[0], args[1:]
        stream = self._stream(key)
        if rest[0].upper() == "NOMKSTREAM":
            if stream is None:
                return None
            rest = rest[1:]
        maxlen = None
        if rest[0].upper() == "MAXLEN":
            rest = rest[2:] if rest[1] == "=" else rest[1:]
            maxlen, rest = int(rest[0]), rest[1:]
        if stream is None:
            stream = self.data[key] = Stream()
        ms = int(rest[0].partition("-")[0])
        ident = (ms, stream.last_id[1] + 1 if stream.last_id[0] == ms else 0)
        stream.entries[ident] = list(rest[1:])
        stream.last_id = ident
        if maxlen is not None:
            _trim(stream, lambda entry, index: index < len(stream.entries) - maxlen)
        return text(ident)

    def xlen(self, args):
        stream = self._stream(args[0])
        return 0 if stream is None else len(stream.entries)

    def xrange(self, args, reverse: bool = False):
        """XRANGE key start end [COUNT n] (XREVRANGE: key end start)."""
        stream = self._stream(args[0])
        low, high = (args[2], args[1]) if reverse else (args[1], args[2])
        start, end = _bound(low, True), _bound(high, False)
        count = int(args[4]) if len(args) > 4 else None
        if stream is None:
            return []
        found = [ident for ident in stream.entries if start <= ident <= end]
        if reverse:
            found.reverse()
        return [stream.entry(ident) for ident in found[:count]]

    def xrevrange(self, args):
        return self.xrange(args, reverse=True)

    def xdel(self, args):
        stream = self._stream(args[0])
        if stream is None:
            return 0
        deleted = 0
        for ident in dict.fromkeys(parse(arg) for arg in args[1:]):
            deleted += stream.entries.pop(ident, None) is not None
        return deleted

    def xtrim(self, args):
        """XTRIM key MAXLEN|MINID [=] threshold (exact trimming only)."""
        stream = self._stream(args[0])
        strategy, threshold = args[1].upper(), args[-1]
        if stream is None:
            return 0
        if strategy == "MAXLEN":
            return _trim(stream, lambda entry, index: index < len(stream.entries) - int(threshold))
        return _trim(stream, lambda entry, index: entry < parse(threshold))

    def xsetid(self, args):
        stream = self._stream(args[0])
        if stream is None:
            return {"error": "ERR no such key"}
        ident = parse(args[1])
        if stream.entries and ident < max(stream.entries):
            return SMALLER_THAN_TOP
        stream.last_id = ident
        return "OK"

    # -- consumer groups -----------------------------------------------------------------------
    def xgroup(self, args):
        subcommand, key, name = args[0].upper(), args[1], args[2]
        stream = self._stream(key)
        if subcommand == "CREATE" and stream is None and "MKSTREAM" in (arg.upper() for arg in args[4:]):
            stream = self.data[key] = Stream()
        if stream is None:
            return NEED_KEY
        group = stream.groups.get(name)
        if subcommand == "CREATE":
            if group is not None:
                return BUSYGROUP
            stream.groups[name] = Group(self._group_start(stream, args[3]))
            return "OK"
        if subcommand == "DESTROY":
            return int(stream.groups.pop(name, None) is not None)
        if group is None:
            return {"error": f"NOGROUP No such consumer group '{name}' for key name '{key}'"}
        if subcommand == "SETID":
            group.last_id = self._group_start(stream, args[3])
            return "OK"
        consumer = args[3]
        if subcommand == "CREATECONSUMER":
            created = consumer not in group.consumers
            group.consumers.add(consumer)
            return int(created)
        held = group.held_by(consumer)  # DELCONSUMER
        for ident in held:
            del group.pending[ident]
        group.consumers.discard(consumer)
        return len(held)

    @staticmethod
    def _group_start(stream: Stream, arg: str) -> StreamID:
        return stream.last_id if arg == "$" else parse(arg)

    def _group(self, key: str, name: str) -> Group | None:
        stream = self._stream(key)
        return None if stream is None else stream.groups.get(name)

    def xread(self, args):
        """XREAD [COUNT n] [BLOCK ms] STREAMS key... id...: each stream's entries after its ID (``$``: after
        the last ID made), the streams with none left out; nil if none has any (a group's keys have one
        client, so a BLOCK waits out its time)."""
        at = [arg.upper() for arg in args].index("STREAMS")
        options = [arg.upper() for arg in args[:at]]
        count = int(args[options.index("COUNT") + 1]) if "COUNT" in options else None
        names = args[at + 1:]
        reply = []
        for key, start in zip(names[:len(names) // 2], names[len(names) // 2:]):
            stream = self._stream(key)
            if stream is None:
                continue
            after = stream.last_id if start == "$" else parse(start)
            found = [ident for ident in stream.entries if ident > after][:count]
            if found:
                reply.append([key, [stream.entry(ident) for ident in found]])
        return reply or None

    def xreadgroup(self, args):
        """XREADGROUP GROUP group consumer [COUNT n] [NOACK] STREAMS key id"""
        name, consumer, key, start = args[1], args[2], args[-2], args[-1]
        options = [arg.upper() for arg in args[3:-3]]
        count = int(args[3 + options.index("COUNT") + 1]) if "COUNT" in options else None
        stream, group = self._stream(key), self._group(key, name)
        if group is None:
            return _no_group(key, name, " in XREADGROUP with GROUP option")
        if start == ">":
            if not stream.entries or max(stream.entries) <= group.last_id:
                return None  # nothing past the group's last ID (a trimmed tail does not count)
            group.consumers.add(consumer)
            served = [ident for ident in stream.entries if ident > group.last_id][:count]
            for ident in served:
                group.last_id = ident
                if "NOACK" not in options:
                    group.pending[ident] = Pending(consumer, 1)
            return [[key, [stream.entry(ident) for ident in served]]]
        group.consumers.add(consumer)
        history = [ident for ident in group.held_by(consumer) if ident > parse(start)][:count]
        reply = []
        for ident in history:
            if ident in stream.entries:
                group.pending[ident].deliveries += 1
                reply.append(stream.entry(ident))
            else:
                reply.append([text(ident), None])
        return [[key, reply]]

    def xack(self, args):
        group = self._group(args[0], args[1])
        if group is None:
            return 0
        return sum(group.pending.pop(ident, None) is not None for ident in dict.fromkeys(map(parse, args[2:])))

    def xpending(self, args):
        """XPENDING key group [start end count [consumer]]: the idle times are the ones observed."""
        group = self._group(args[0], args[1])
        if group is None:
            return _no_group(args[0], args[1])
        if len(args) == 2:
            if not group.pending:
                return [0, None, None, None]
            holders = sorted({entry.consumer for entry in group.pending.values()})
            return [len(group.pending), text(min(group.pending)), text(max(group.pending)),
                    [[holder, str(len(group.held_by(holder)))] for holder in holders]]
        start, end, count = _bound(args[2], True), _bound(args[3], False), int(args[4])
        listed = sorted(ident for ident, entry in group.pending.items()
                        if start <= ident <= end and (len(args) < 6 or entry.consumer == args[5]))[:max(count, 0)]
        observed = self.observed if isinstance(self.observed, list) else []
        reply = []
        for index, ident in enumerate(listed):
            seen = observed[index] if index < len(observed) else None
            idle = seen[2] if isinstance(seen, list) and len(seen) == 4 and isinstance(seen[2], int) \
                and seen[2] >= 0 else 0
            reply.append([text(ident), group.pending[ident].consumer, idle, group.pending[ident].deliveries])
        return reply

    def xclaim(self, args):
        """XCLAIM key group consumer 0 id... [JUSTID]"""
        key, name, consumer = args[0], args[1], args[2]
        justid = args[-1].upper() == "JUSTID"
        stream, group = self._stream(key), self._group(key, name)
        if group is None:
            return _no_group(key, name)
        reply = []
        for ident in map(parse, args[4:len(args) - justid]):  # an ID given twice is claimed twice, as by Redis
            if group.pending.get(ident) is None:
                continue
            if ident not in stream.entries:
                del group.pending[ident]
                continue
            reply.append(self._claim(stream, group, ident, consumer, justid))
        return reply

    def xautoclaim(self, args):
        """XAUTOCLAIM key group consumer 0 start [COUNT n] [JUSTID]"""
        key, name, consumer, start = args[0], args[1], args[2], _bound(args[4], True)
        options = [arg.upper() for arg in args[5:]]
        count = int(args[5 + options.index("COUNT") + 1]) if "COUNT" in options else AUTOCLAIM_COUNT
        stream, group = self._stream(key), self._group(key, name)
        if group is None:
            return _no_group(key, name)
        claimed, deleted = [], []
        candidates = sorted(ident for ident in group.pending if ident >= start)
        for ident in candidates[:count]:
            if ident not in stream.entries:
                del group.pending[ident]
                deleted.append(text(ident))
            else:
                claimed.append(self._claim(stream, group, ident, consumer, "JUSTID" in options))
        cursor = candidates[count] if len(candidates) > count else (0, 0)
        return [text(cursor), claimed, deleted]

    @staticmethod
    def _claim(stream: Stream, group: Group, ident: StreamID, consumer: str, justid: bool) -> Any:
        group.consumers.add(consumer)
        entry = group.pending[ident]
        entry.consumer = consumer
        if not justid:
            entry.deliveries += 1
        return text(ident) if justid else stream.entry(ident)


def _trim(stream: Stream, goes) -> int:
    """Drop the oldest entries while `goes(id, index)` holds (they stay in the PELs); how many went."""
    going = []
    for index, ident in enumerate(stream.entries):
        if not goes(ident, index):
            break
        going.append(ident)
    for ident in going:
        del stream.entries[ident]
    return len(going)
