"""Replication in a world: who replicates whom, and whether the replicas caught up.

With ``RunConfig.replicas`` R, each primary ``n<i>`` (address 10.0.0.<i>) has R
replicas ``n<i>r<j>`` (10.0.<j>.<i>), started with ``replicaof 10.0.0.<i> 6379``
and restarted with it after every fault, as a configured redis-server would be.
Clients talk to primaries only; faults hit replicas and the links between
them as they hit any node. Every node of a replicated world runs with
replication timeouts scaled to the faults (`TIMEOUTS`: seconds, where Redis's
defaults are a minute), so that links drop and replicas resync, partially
from the backlog or in full, within a run; ``--config`` overrides them.

Once the final reads are done (nothing writes any more), every replica must
catch up with its primary within `CONVERGE_MS_MAX`: its link up, at the same
replication id and offset (everything the primary produced has been run), and
holding the same data (`dataset_state`: every value and every TTL). Catching
up is waited for; a replica at its primary's offset with other data is a
divergence, reported at once.
"""

from __future__ import annotations

import hashlib

from jepsen_like import convergence
from jepsen_like.verdict import Verdict, invalid, unknown, valid
from kvcore.digest import dataset_digest
from kvcore.replica import CONNECTED
from kvcore.types_stream import StreamValue
from sim.dataset import groups_state, libraries_state
from sim.rng import derive

TIMEOUTS = {"repl-timeout": "2", "repl-ping-replica-period": "1", "repl-diskless-sync-delay": "1"}  # seconds; repl-timeout must exceed the period
CONVERGE_MS_MIN = 20_000
DISKLESS_LOADS = ("disabled", "on-empty-db", "swapdb")
BACKLOG_SIZES = ("1mb", "16kb", "2kb")  # Redis's default, and backlogs a few seconds of writes outgrow


def sync_mode(seed: int) -> dict[str, str]:
    """Full syncs diskless (a child writes the image to the replicas) or disk-based (a BGSAVE,
    then its file sent), replicas that load a payload whole once it is in or as it arrives
    (repl-diskless-load), and a backlog of Redis's size or one small enough that a replica
    away for a while is past it (so partial resyncs meet the backlog's first byte, and fail
    beyond it), as the seed draws: all of them meet the faults."""
    return {"repl-diskless-sync": "yes" if derive(seed, "replication/diskless").random() < 0.5 else "no",
            "repl-diskless-load": derive(seed, "replication/diskless-load").choice(DISKLESS_LOADS),
            "repl-backlog-size": derive(seed, "replication/backlog").choice(BACKLOG_SIZES)}


def converge_ms_max(options: dict[str, str]) -> int:
    """How long replicas may take to catch up: two link timeouts (one to notice a dead link,
    one for a stalled resync), then room for a reconnect and a full sync."""
    return max(CONVERGE_MS_MIN, 2 * int(options["repl-timeout"]) * 1000 + 10_000)


def replica_name(primary: str, index: int) -> str:
    return f"{primary}r{index}"


def layout(primaries: int, replicas: int) -> list[tuple[str, str, str | None]]:
    """Every node of a world as (name, address, its primary's address or None), primaries first."""
    nodes: list[tuple[str, str, str | None]] = [(f"n{i}", f"10.0.0.{i}", None) for i in range(1, primaries + 1)]
    for j in range(1, replicas + 1):
        nodes += [(replica_name(f"n{i}", j), f"10.0.{j}.{i}", f"10.0.0.{i}") for i in range(1, primaries + 1)]
    return nodes


def groups(primaries: int, replicas: int) -> dict[str, list[str]]:
    """Each primary's replicas, by name."""
    return {f"n{i}": [replica_name(f"n{i}", j) for j in range(1, replicas + 1)] for i in range(1, primaries + 1)}


def dataset_state(core) -> str:
    """One digest of a node's data: every value (DEBUG DIGEST's), every TTL, every stream's
    consumer groups and every function library (`sim.dataset`), exactly."""
    state = hashlib.sha1(dataset_digest(core).encode())
    for name, code in libraries_state(core).items():
        state.update(b"library %s %s\n" % (name.encode(), code.encode()))
    for db in core.dbs:
        for key, when in sorted(db.expires.items()):
            state.update(b"%d %s %d\n" % (db.index, key.hex().encode(), when))
        for key in sorted(key for key, value in db.data.items() if type(value) is StreamValue and value.groups):
            state.update(b"%d %s %s\n" % (db.index, key.hex().encode(), groups_state(db.data[key]).encode()))
    return state.hexdigest()


def lag(primary, replica) -> str | None:
    """Why ``replica`` (a core, None if down) has not caught up with ``primary``; None if it has."""
    if primary is None:
        return "its primary is down"
    if replica is None:
        return "down"
    link = replica.master_link
    if link is None or link.state != CONNECTED:
        return f"its link is {'gone' if link is None else link.state}"
    ours, theirs = replica.replication, primary.replication
    if (ours.replid, ours.offset) != (theirs.replid, theirs.offset):
        return f"at {ours.replid[:8]}:{ours.offset}, its primary at {theirs.replid[:8]}:{theirs.offset}"
    return None


class Convergence:
    """The wait for replicas to catch up, and its verdict."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.groups = {primary: names for primary, names in groups.items() if names}

    def group_of(self, name: str) -> tuple[str, list[str]] | None:
        """The (primary, replicas) group `name` is in, if it has replicas."""
        for primary, names in self.groups.items():
            if name == primary or name in names:
                return primary, names
        return None

    def promote(self, old: str, new: str) -> None:
        """`new`, a replica of `old`, is the group's primary now; `old` one of its replicas."""
        names = self.groups.pop(old)
        self.groups[new] = [old, *(name for name in names if name != new)]

    def lagging(self, cores: dict) -> dict[str, str]:
        """Every replica that has not caught up, with why."""
        out = {}
        for primary, names in self.groups.items():
            for name in names:
                why = lag(cores[primary], cores[name])
                if why is not None:
                    out[name] = why
        return out

    def verdict(self, cores: dict, waited_ms: int) -> Verdict:
        """After the wait: replicas still behind, or the first group whose data differ, or all in sync.

        Unknown when every replica behind has a primary refusing writes (and so its replicas'
        PING, as redis-server does) because its last background save failed: nothing retries that
        save before a save point is due, so the replicas cannot sync, as they could not with Redis.
        """
        behind = self.lagging(cores)
        if behind:
            misconf = {name for primary, names in self.groups.items() if cores[primary] is not None
                       and cores[primary].snapshots.refuses_writes() for name in names if name in behind}
            if misconf == set(behind):
                return unknown(convergence.CHECKER, f"{len(behind)} replicas cannot sync: their primary refuses "
                               "their PING with -MISCONF (its last background save failed)",
                               replicas=behind, waited_ms=waited_ms)
            return invalid(convergence.CHECKER, f"{len(behind)} replicas had not caught up {waited_ms} ms after "
                           "the final reads", replicas=behind, waited_ms=waited_ms)
        for primary, names in self.groups.items():
            states = {name: dataset_state(cores[name]) for name in [primary, *names]}
            verdict = convergence.check(states, reference=primary)
            if not verdict.valid:
                return verdict
        count = sum(map(len, self.groups.values()))
        return valid(convergence.CHECKER, f"all {count} replicas caught up with their primaries {waited_ms} ms "
                     "after the final reads, with the same data", waited_ms=waited_ms)
