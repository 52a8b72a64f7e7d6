"""What a command does to each of its keys: read it, write it, both, or neither.

ACL key patterns grant read (``%R~``), write (``%W~``) or both (``~``). Redis
7.0 decides which a key needs from its command's key specs (COMMAND INFO): a
key whose value the command reveals (ACCESS) needs read, one it inserts,
deletes or updates needs write, and one it only looks at the existence, type
or size of (EXISTS, TYPE, TTL...) needs neither, so any pattern that matches
it will do. The table below holds those facts per command; a command with
several key specs (``ZUNIONSTORE dest numkeys key...``) lists one access per
spec, the first for its first key and the last for every later one, which is
how our key positions line up with Redis's specs.
"""

from __future__ import annotations

READ = 1
WRITE = 2
_ACCESS = {"-": 0, "R": READ, "W": WRITE, "RW": READ | WRITE}

_BY_ACCESS = {
    "R": """bitcount bitfield_ro bitpos dump eval_ro evalsha_ro expiretime fcall_ro geodist geohash geopos
        georadius_ro georadiusbymember_ro geosearch get getbit getrange hget hgetall hkeys hmget hrandfield hscan
        hvals lcs lindex lpos lrange mget pexpiretime pfcount pfdebug pttl sdiff sinter sintercard smembers
        smismember srandmember sscan substr sunion ttl xinfo|consumers xinfo|groups xinfo|stream xpending xrange
        xread xreadgroup xrevrange zcount zdiff zinter zintercard zlexcount zmscore zrandmember zrange zrangebylex
        zrangebyscore zrank zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunion sort_ro""",
    "W": """append del expire expireat geoadd hdel hmset hset hsetnx linsert lpush lpushx lrem lset ltrim mset
        msetnx persist pexpire pexpireat pfadd psetex restore restore-asking rpush rpushx sadd setex setnx
        setrange srem unlink xack xadd xautoclaim xclaim xdel xgroup|create xgroup|createconsumer
        xgroup|delconsumer xgroup|destroy xgroup|setid xsetid xtrim zadd zrem zremrangebylex zremrangebyrank
        zremrangebyscore""",
    "RW": """bitfield blmpop blpop brpop bzmpop bzpopmax bzpopmin decr decrby eval evalsha fcall getdel getex
        getset hincrby hincrbyfloat incr incrby incrbyfloat lmpop lpop move rpop set setbit spop zincrby zmpop
        zpopmax zpopmin""",
    "-": """exists hexists hlen hstrlen llen memory|usage object|encoding object|freq object|idletime
        object|refcount scard sismember strlen touch type watch xlen zcard""",
    "W R": """bitop geosearchstore sdiffstore sinterstore sunionstore zdiffstore zinterstore zrangestore
        zunionstore""",
    "RW W": "blmove brpoplpush lmove rename renamenx rpoplpush smove",
    "R W": "copy georadius georadiusbymember sort",
    "RW R": "pfmerge",
    "RW RW": "migrate",
}
SPECS: dict[str, tuple[int, ...]] = {
    name: tuple(_ACCESS[word] for word in access.split())
    for access, names in _BY_ACCESS.items()
    for name in names.split()
}


# Shard channels sit where keys do (for the cluster's slot checks), but are no keys (NOT_KEY).
_CHANNELS_AT_KEY_POSITIONS = frozenset(("spublish", "ssubscribe", "sunsubscribe"))


def key_access(cmd, argv: list[bytes]) -> list[tuple[bytes, int]]:
    """Each key of a request with the access (READ | WRITE bits) it needs."""
    if cmd.fullname in _CHANNELS_AT_KEY_POSITIONS:
        return []
    positions = cmd.key_positions(argv)
    if not positions:
        return []
    specs = SPECS.get(cmd.fullname)
    if specs is None:  # a command Redis 7.0 does not have (JSON.*): as its flags say
        from kvcore.commands.table import Flag  # the command table's families import this module

        specs = (READ,) if cmd.flags & Flag.READONLY else (READ | WRITE,)
    elif cmd.fullname in _VARIABLE:
        specs = _VARIABLE[cmd.fullname](argv)
    first, rest = specs[0], specs[-1]
    return [(argv[pos], first if index == 0 else rest) for index, pos in enumerate(positions)]


def _set_access(argv: list[bytes]) -> tuple[int, ...]:
    """SET reads its key only with GET (it replies the old value)."""
    return (READ | WRITE,) if any(arg.lower() == b"get" for arg in argv[3:]) else (WRITE,)


def _bitfield_access(argv: list[bytes]) -> tuple[int, ...]:
    """BITFIELD writes only with SET or INCRBY operations."""
    return (READ | WRITE,) if any(arg.lower() in (b"set", b"incrby") for arg in argv[2:]) else (READ,)


_VARIABLE = {"set": _set_access, "bitfield": _bitfield_access}

