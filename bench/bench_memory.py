"""Memory per key of small collections, kvserver against redis-server, measured in the same run.

For each family, a fresh pair of servers is loaded with ``--keys`` keys
through ``redis-cli --pipe`` (the RESP text is generated here):

- hash: ``HSET key:<i> f1 v1 f2 v2``
- set:  ``SADD key:<i> a b c``
- zset: ``ZADD key:<i> 1 a 2 b``

Printed per family, in bytes per key: redis-server's ``used_memory`` delta
(INFO memory) and its RSS delta, kvserver's RSS delta (/proc/<pid>/statm:
kvserver's own ``used_memory`` is its RSS), and kvserver RSS over Redis
``used_memory``, the ratio held to the target (<= 3x).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys

from common import REPO, redis_and_kvserver, require, table

PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
KEYS = 1_000_000
QUICK_KEYS = 100_000
RATIO_TARGET = 3.0
FAMILIES = {
    "hash": (b"HSET", b"f1", b"v1", b"f2", b"v2"),
    "set": (b"SADD", b"a", b"b", b"c"),
    "zset": (b"ZADD", b"1", b"a", b"2", b"b"),
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_memory", description=__doc__.split("\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--quick", action="store_true", help=f"load {QUICK_KEYS} keys per family")
    parser.add_argument("--keys", type=int, default=0, help=f"keys per family (default {KEYS})")
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated: hash,set,zset")
    parser.add_argument("--kv-tree", default=REPO, help="run kvserver from this checkout (default: this one)")
    args, ignored = parser.parse_known_args(argv)
    if ignored:  # bench/run.py passes every option on to every benchmark
        print(f"{parser.prog}: ignoring {' '.join(ignored)}", file=sys.stderr)
    return args


# -- loading -----------------------------------------------------------------------------
def bulk(arg: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(arg), arg)


def protocol(family: str, keys: int) -> bytes:
    """The RESP text of ``keys`` commands of the family, one per key ``key:<i>``."""
    name, *rest = FAMILIES[family]
    head = b"*%d\r\n%s" % (len(rest) + 2, bulk(name))
    tail = b"".join(map(bulk, rest))
    return b"".join(b"%s$%d\r\nkey:%d\r\n%s" % (head, len(b"key:%d" % i), i, tail) for i in range(keys))


def pipe(port: int, payload: bytes, expected_replies: int) -> None:
    """Send the RESP text through ``redis-cli --pipe``; fail unless every reply came back without error."""
    done = subprocess.run([require("redis-cli"), "-h", "127.0.0.1", "-p", str(port), "--pipe"],
                          input=payload, capture_output=True, timeout=1800)
    output = done.stdout.decode("utf-8", "replace")
    counts = re.search(r"errors: (\d+), replies: (\d+)", output)
    if done.returncode != 0 or counts is None or counts.groups() != ("0", str(expected_replies)):
        raise RuntimeError(f"redis-cli --pipe on port {port}: {output.strip()} {done.stderr.decode().strip()}")


def cli(port: int, *args: str) -> str:
    done = subprocess.run([require("redis-cli"), "-h", "127.0.0.1", "-p", str(port), *args],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip()


# -- measuring ---------------------------------------------------------------------------
def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as handle:
        return int(handle.read().split()[1]) * PAGE_BYTES


def redis_memory(port: int) -> dict[str, int]:
    """INFO memory's integer fields."""
    fields = {}
    for line in cli(port, "INFO", "memory").splitlines():
        name, _, value = line.strip().partition(":")
        if value.isdigit():
            fields[name] = int(value)
    return fields


def measure(family: str, keys: int, args: argparse.Namespace) -> dict:
    """Load one family into a fresh pair of servers; the memory deltas per key."""
    payload = protocol(family, keys)
    with redis_and_kvserver(kv_tree=args.kv_tree) as (redis, kv):
        redis_before, kv_before = redis_memory(redis.port), rss_bytes(kv.proc.pid)
        for server in (redis, kv):
            pipe(server.port, payload, keys)
            size = cli(server.port, "DBSIZE")
            if size != str(keys):
                raise RuntimeError(f"{server.name} holds {size} keys after loading {keys}")
        redis_after, kv_after = redis_memory(redis.port), rss_bytes(kv.proc.pid)
        encodings = (cli(redis.port, "OBJECT", "ENCODING", "key:0"), cli(kv.port, "OBJECT", "ENCODING", "key:0"))
    return {
        "family": family, "keys": keys, "encoding": encodings,
        "redis_used": (redis_after["used_memory"] - redis_before["used_memory"]) / keys,
        "redis_rss": (redis_after["used_memory_rss"] - redis_before["used_memory_rss"]) / keys,
        "kv_rss": (kv_after - kv_before) / keys,
    }


def report(rows: list[dict]) -> str:
    headers = ["family", "keys", "encoding redis/kv", "redis used_memory B/key", "redis RSS B/key",
               "kvserver RSS B/key", "kv RSS/redis used", "target"]
    lines = []
    for row in rows:
        ratio = row["kv_rss"] / row["redis_used"]
        lines.append([
            row["family"], str(row["keys"]), "/".join(row["encoding"]), f"{row['redis_used']:.0f}",
            f"{row['redis_rss']:.0f}", f"{row['kv_rss']:.0f}", f"{ratio:.2f}",
            "ok" if ratio <= RATIO_TARGET else f"MISSED (target <={RATIO_TARGET:.0f}x)",
        ])
    return table(headers, lines)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    keys = args.keys or (QUICK_KEYS if args.quick else KEYS)
    families = [name.strip() for name in args.families.split(",") if name.strip()]
    unknown = set(families) - set(FAMILIES)
    if unknown:
        sys.exit(f"unknown families: {', '.join(sorted(unknown))}; known: {', '.join(FAMILIES)}")
    print(f"bench_memory: {keys} keys per family, loaded with redis-cli --pipe into fresh servers", flush=True)
    rows = []
    for family in families:
        rows.append(measure(family, keys, args))
        print(f"{family} done", file=sys.stderr, flush=True)
    print(report(rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
