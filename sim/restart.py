"""The restart check: a node stopped cleanly comes back with the data it held.

After the final reads (and the replicas' catching up), every node that keeps
its data on disk (``appendonly yes``, or save points, with which a shutdown
saves a snapshot) is stopped as SIGTERM stops redis-server and started
again, one node at a time; what it loads must be what it held, key by key
(each value's DEBUG DIGEST-VALUE and its deadline, and a stream's consumer
groups: `sim.dataset`), and each function library. Keys whose deadline passed
in between are left out of both sides. With ``appendonly yes`` it is done
three times: from the log as the run left it (every command as it was logged
and propagated), then after a BGREWRITEAOF whose base is what the node's
``aof-use-rdb-preamble`` says (a snapshot, or commands), then after one with
the other kind of base, so both ways of rewriting are proven in every run.

Faults are healed by then, so a difference is a bug in what is saved, logged
or loaded, even in a run with no faults at all, where nothing else restarts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jepsen_like import convergence
from jepsen_like.verdict import Verdict, invalid, unknown, valid
from sim.dataset import key_state, libraries_state

if TYPE_CHECKING:
    from sim.node import SimNode

CHECKER = "restart"
POLL_MS = 50
STOP_MS_MAX = 30_000  # a clean stop waits for replicas (shutdown-timeout, 10 s) and saves
TERM_AGAIN_MS = 1000  # a multiple of POLL_MS
LIBRARIES = -1  # the "database" a dataset lists function libraries under
REWRITE_MS_MAX = 30_000
SKIPPED_NO_DATA = "keeps no data on disk (appendonly no, no save points)"

Dataset = dict[tuple[int, bytes], tuple[str, int | None]]


def keeps_data(node: SimNode) -> bool:
    """Does a clean stop leave the node's data on its disk?"""
    core = node.core
    return bool(core.config["appendonly"] or core.snapshots.save_params())


def dataset(core) -> Dataset:
    """Every key of every database: (database, key) -> (value digest, deadline or None); and every
    function library, as (`LIBRARIES`, name) -> (code digest, None)."""
    keys = {(db.index, key): (key_state(db, key), db.expires.get(key)) for db in core.dbs for key in db.data}
    libraries = {(LIBRARIES, name.encode()): (code, None) for name, code in libraries_state(core).items()}
    return {**keys, **libraries}


def alive(data: Dataset, now_ms: int) -> Dataset:
    """The keys not expired at `now_ms` (a key lives through its deadline's millisecond)."""
    return {key: entry for key, entry in data.items() if entry[1] is None or entry[1] >= now_ms}


def compare(name: str, how: str, before: Dataset, after: Dataset, now_ms: int) -> Verdict | None:
    """None if the node came back with its data; else the invalid verdict naming the first difference."""
    states = {"before": alive(before, now_ms), "after": alive(after, now_ms)}
    verdict = convergence.check(states, reference="before")
    if verdict.valid:
        return None
    return invalid(CHECKER, f"{name} came back from {how} with other data: {verdict.reason}",
                   node=name, restart=how, **verdict.evidence)


def restart_all(env, nodes: dict[str, SimNode]):
    """The restart phase (a SimPy process body, used with ``yield from``): each node in turn; its
    value is the verdict."""
    checked = []
    skipped = {}
    for name, node in nodes.items():
        if node.core is None:
            skipped[name] = "down"
            continue
        if not keeps_data(node):
            skipped[name] = SKIPPED_NO_DATA
            continue
        failure = yield from _restart_once(env, node, "the log" if node.core.config["appendonly"] else "a snapshot")
        if failure is None and node.core.config["appendonly"]:
            failure = yield from _rewrite_and_restart(env, node)
        if failure is None and node.core.config["appendonly"]:
            preamble = node.core.config["aof-use-rdb-preamble"]
            node.core.config.set_many([("aof-use-rdb-preamble", "no" if preamble else "yes")])
            failure = yield from _rewrite_and_restart(env, node)  # and the other kind of base
        if failure is not None:
            return failure
        checked.append(name)
    if not checked:
        return unknown(CHECKER, "no node was restarted", skipped=skipped)
    return valid(CHECKER, f"{len(checked)} nodes came back from a clean restart with their data",
                 nodes=checked, skipped=skipped)


def _restart_once(env, node: SimNode, how: str):
    before = dataset(node.core)
    if not (yield from _terminate(env, node)):
        return invalid(CHECKER, f"{node.name} did not stop within {STOP_MS_MAX} ms of SIGTERM", node=node.name)
    node.start()
    if node.core is None:
        return invalid(CHECKER, f"{node.name} did not start again after a clean stop", node=node.name)
    return compare(node.name, how, before, dataset(node.core), node.clock.now())


def _rewrite_and_restart(env, node: SimNode):
    base = "a snapshot" if node.core.config["aof-use-rdb-preamble"] else "commands"
    failure = yield from _rewrite(env, node)
    if failure is None:
        failure = yield from _restart_once(env, node, f"the log rewritten with {base} for its base")
    return failure


def _rewrite(env, node: SimNode):
    node.core.aof.bgrewriteaof(in_exec=False)
    node.schedule_run()
    aof = node.core.aof
    if not (yield from _wait_until(env, lambda: not (aof.in_progress() or aof.scheduled), REWRITE_MS_MAX)):
        return invalid(CHECKER, f"{node.name}'s BGREWRITEAOF did not finish within {REWRITE_MS_MAX} ms",
                       node=node.name)
    if node.core is None or node.core.aof is not aof:
        return invalid(CHECKER, f"{node.name} went down during BGREWRITEAOF", node=node.name)
    return None


def _terminate(env, node: SimNode):
    """SIGTERM, again every `TERM_AGAIN_MS` until the node stops (True) or `STOP_MS_MAX` passes: a
    node may refuse one, as redis-server does while it writes the first file of a log just turned on
    (a replica's after a full sync: "Writing initial AOF, can't exit"), and forgets it."""
    waited = 0
    while node.core is not None:
        if waited >= STOP_MS_MAX:
            return False
        if waited % TERM_AGAIN_MS == 0:
            node.terminate()
        yield env.timeout(POLL_MS)
        waited += POLL_MS
    return True


def _wait_until(env, done, limit_ms: int):
    """Poll `done()` every `POLL_MS` of simulated time: True once it holds, False after `limit_ms`."""
    waited = 0
    while not done():
        if waited >= limit_ms:
            return False
        yield env.timeout(POLL_MS)
        waited += POLL_MS
    return True
