"""Keyspace notifications: which events are on, and publishing them.

`notify-keyspace-events` is a string of class letters (Redis's own): K and E
choose the __keyspace@db__ and __keyevent@db__ channels, the others choose
event classes. Families name only the event (``"lpush"``); its class comes
from `EVENT_CLASSES`, so the classification lives in one place: an event
not listed there is generic ('g': del, expire, persist, rename_from,
rename_to, copy_to, move_from, move_to, restore). The database publishes
``new`` itself whenever a key is created (Database.added).
"""

from __future__ import annotations

KEYSPACE, KEYEVENT = "K", "E"
ALL_CLASSES = "g$lshzxetd"  # what 'A' stands for
VALID = set("KEg$lshzxetmdnA")

EVENT_CLASSES = {
    **dict.fromkeys(["set", "setrange", "incrby", "incrbyfloat", "append", "setbit", "pfadd"], "$"),
    **dict.fromkeys(["lpush", "rpush", "lpop", "rpop", "linsert", "lset", "lrem", "ltrim", "sortstore"], "l"),
    **dict.fromkeys(["sadd", "srem", "spop", "sinterstore", "sunionstore", "sdiffstore"], "s"),
    **dict.fromkeys(["hset", "hdel", "hincrby", "hincrbyfloat"], "h"),
    **dict.fromkeys(
        ["zadd", "zincr", "zrem", "zremrangebyscore", "zremrangebyrank", "zremrangebylex", "zpopmin", "zpopmax",
         "zunionstore", "zinterstore", "zdiffstore", "zrangestore", "georadiusstore", "geosearchstore"],
        "z",
    ),
    **dict.fromkeys(
        ["xadd", "xdel", "xtrim", "xsetid", "xgroup-create", "xgroup-createconsumer", "xgroup-delconsumer",
         "xgroup-destroy", "xgroup-setid"],
        "t",
    ),
    "expired": "x",
    "evicted": "e",
    "new": "n",
    "keymiss": "m",
}


class Flags(str):
    """A normalised flag string (what CONFIG GET shows) that remembers the classes in force.

    Redis's spelling loses 'n' next to 'A' ("KEAn" reads back "AKE") while
    the class stays on, so the letters that count are kept apart in ``active``.
    """

    active: str


def normalise(text: str) -> Flags:
    """CONFIG's spelling of a flag string, as keyspaceEventsFlagsToString writes it.

    Raises ValueError with Redis's text for a letter it does not know.
    """
    if not set(text) <= VALID:
        raise ValueError("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    flags = set(text.replace("A", ALL_CLASSES))
    if set(ALL_CLASSES) <= flags:
        out = "A"
    else:
        out = "".join(c for c in ALL_CLASSES + "n" if c in flags)
    result = Flags(out + "".join(c for c in "KEm" if c in flags))
    result.active = "".join(c for c in ALL_CLASSES + "nmKE" if c in flags)
    return result


def enabled(flags: str) -> bool:
    """Whether any notification can be published under these flags."""
    return bool(flags) and (KEYSPACE in flags or KEYEVENT in flags)


def notify(node, flags: Flags, event: str, key: bytes, db_index: int) -> None:
    """Publish one event on the channels the flags (as `normalise` made them) ask for."""
    from kvcore.commands.pubsub import publish_message

    if EVENT_CLASSES.get(event, "g") not in flags.active:
        return
    name = event.encode()
    if KEYSPACE in flags:
        publish_message(node, b"__keyspace@%d__:%s" % (db_index, key), name)
    if KEYEVENT in flags:
        publish_message(node, b"__keyevent@%d__:%s" % (db_index, name), key)
