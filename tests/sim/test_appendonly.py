"""The append-only log in the simulator: its files on the simulated disk, recovery from them, and
what kill, power and disk faults may lose under each fsync policy.

- ``appendfsync always``: no acknowledged write is ever lost, whatever crashes,
  torn writes, full disks, failed fsyncs and rewrites (made frequent here with
  a small ``auto-aof-rewrite-min-size``) happen;
- ``everysec``: a kill loses nothing (the OS keeps the page cache); a power
  loss loses only writes acknowledged in the last `EVERYSEC_WINDOW_MS` before
  it, the fsync interval plus the cron's granularity;
- a planted bug of each kind the design guards against is found by a sweep
  of at most `PLANTED_SEEDS_MAX` seeds.
"""

from __future__ import annotations

import pytest

from kvcore import aof, appendonly
from kvcore import node as node_module
from kvcore.effects import AppendLog
from sim.persistence import recover_from_disk
from sim.world import Result, RunConfig, run
from tests.kvcore.harness import encode_request as request
from tests.sim.harness import Lab, lost_adds, replies, session

NS_PER_MS = 1_000_000
ALWAYS = (("appendonly", "yes"), ("appendfsync", "always"))
EVERYSEC = (("appendonly", "yes"), ("appendfsync", "everysec"))
FREQUENT_REWRITES = (("auto-aof-rewrite-min-size", "512"), ("auto-aof-rewrite-percentage", "10"))
WORKLOADS = ("register", "counter", "set", "append")
SWEEP_SEEDS = 100
PLANTED_SEEDS_MAX = 200
EVERYSEC_WINDOW_MS = 2000
CRASHES = ("kill", "power-off")
MANIFEST = "appendonlydir/appendonly.aof.manifest"


def _info(lab: Lab) -> dict[str, str]:
    (text,) = session(lab, ["INFO", "persistence"])
    return dict(line.split(":", 1) for line in text.decode().split("\r\n") if ":" in line)


def _aof_node(lab: Lab, **options: str):
    config = {"appendonly": "yes", "appendfsync": "always", **{k.replace("_", "-"): v for k, v in options.items()}}
    return lab.node(config=config, recover=recover_from_disk)


# -- scenarios -----------------------------------------------------------------------------------


def test_a_fresh_start_creates_base_incr_and_manifest_and_a_power_loss_keeps_acknowledged_writes():
    lab = Lab()
    node = _aof_node(lab)
    assert session(lab, ["SET", "k", "v"], ["RPUSH", "l", "a", "b"]) == [b"OK", 2]
    assert node.disk.durable(MANIFEST) == (
        b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    )
    assert node.disk.durable("appendonlydir/appendonly.aof.1.base.rdb").startswith(b"REDIS0010")
    assert b"RPUSH" in node.disk.durable("appendonlydir/appendonly.aof.1.incr.aof")
    node.power_off(torn_write_probability=0.0)
    node.power_on()
    assert session(lab, ["GET", "k"], ["LRANGE", "l", "0", "-1"]) == [b"v", [b"a", b"b"]]


def test_a_rewrite_switches_incr_and_base_and_deletes_the_old_files():
    lab = Lab()
    node = _aof_node(lab)
    session(lab, ["SET", "a", "1"], ["INCR", "n"])
    assert session(lab, ["BGREWRITEAOF"]) == [b"Background append only file rewriting started"]
    session(lab, ["INCR", "n"])
    assert node.disk.durable(MANIFEST) == (
        b"file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    )
    assert sorted(node.disk.files) == [
        "appendonlydir/appendonly.aof.2.base.rdb", "appendonlydir/appendonly.aof.2.incr.aof", MANIFEST,
    ]
    info = _info(lab)
    assert (info["aof_rewrites"], info["aof_last_bgrewrite_status"], info["aof_rewrite_in_progress"]) == ("1", "ok", "0")
    node.power_off(torn_write_probability=0.0)
    node.power_on()
    assert session(lab, ["GET", "a"], ["GET", "n"]) == [b"1", b"2"]


def test_a_rewrite_that_fails_leaves_the_old_files_valid():
    lab = Lab()
    node = _aof_node(lab)
    session(lab, ["SET", "a", "1"])
    node.disk.faults.full = 1
    assert session(lab, ["BGREWRITEAOF"], ms=500) == [b"Background append only file rewriting started"]
    assert _info(lab)["aof_last_bgrewrite_status"] == "err"
    node.disk.faults.full = 0
    assert session(lab, ["SET", "b", "2"], ms=2000) == [b"OK"]  # the failed write was retried
    node.power_off(torn_write_probability=0.0)
    node.power_on()
    assert session(lab, ["MGET", "a", "b"]) == [[b"1", b"2"]]


def test_a_torn_last_record_is_cut_off_at_the_restart():
    lab = Lab()
    node = _aof_node(lab, appendfsync="no")
    session(lab, ["SET", "a", "1"])
    node.disk.fsync("appendonlydir/appendonly.aof.1.incr.aof")
    session(lab, ["SET", "b", "2"])
    incr = "appendonlydir/appendonly.aof.1.incr.aof"
    node.power_off(torn_write_probability=1.0)
    torn = node.disk.durable(incr)
    node.power_on()
    assert session(lab, ["GET", "a"]) == [b"1"]
    kept = node.disk.read(incr)
    assert aof.parse_commands(kept).status == aof.OK  # only whole records are left
    assert torn.startswith(kept) and (aof.parse_commands(torn).status == aof.OK) == (kept == torn)


def test_everysec_fsyncs_in_the_background_once_a_second():
    lab = Lab()
    node = _aof_node(lab, appendfsync="everysec")
    session(lab, ["SET", "k", "v"], ms=50)
    incr = "appendonlydir/appendonly.aof.1.incr.aof"
    assert b"SET" not in node.disk.durable(incr) and b"SET" in node.disk.read(incr)
    lab.run(1500)
    assert b"SET" in node.disk.durable(incr)


def test_everysec_writes_wait_up_to_two_seconds_for_a_running_fsync():
    lab = Lab()
    node = _aof_node(lab, appendfsync="everysec")
    session(lab, ["SET", "k", "1"], ms=1200)  # the first fsync is due
    node.disk.faults.fsync_delay_ms = 5000
    session(lab, ["SET", "k", "2"], ms=1100)  # starts a slow fsync
    client = lab.recorder("slow")
    conn = lab.net.connect("slow", "n1")
    lab.net.send(conn, "slow", request("SET", "k", "3"))
    lab.run(1500)
    assert client.data() == b""  # held: the write waits for the running fsync
    lab.run(1000)
    assert replies(client.data()) == [b"OK"]  # written after 2 s anyway
    assert int(_info(lab)["aof_delayed_fsync"]) >= 1


def test_a_failed_everysec_fsync_refuses_writes_until_one_succeeds():
    lab = Lab()
    node = _aof_node(lab, appendfsync="everysec")
    lab.run(50)  # the log's files are created
    node.disk.faults.fsync_errors = 1
    session(lab, ["SET", "k", "1"], ms=1500)
    refused = session(lab, ["SET", "k", "2"])[0]
    assert str(refused).startswith("MISCONF Errors writing to the AOF file")
    assert session(lab, ["GET", "k"]) == [b"1"]  # reads keep working
    node.disk.faults.fsync_errors = 0
    lab.run(1500)
    assert session(lab, ["SET", "k", "3"]) == [b"OK"]


def test_config_set_appendonly_yes_starts_the_log_through_a_rewrite():
    lab = Lab()
    node = lab.node(config={"appendfsync": "always"}, recover=recover_from_disk)
    session(lab, ["SET", "before", "1"])
    assert session(lab, ["CONFIG", "SET", "appendonly", "yes"], ["SET", "after", "2"], ms=500) == [b"OK", b"OK"]
    assert node.disk.durable(MANIFEST) == (
        b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    )
    session(lab, ["SET", "later", "3"])
    node.config["appendonly"] = "yes"  # as a CONFIG REWRITE would have kept it
    node.power_off(torn_write_probability=0.0)
    node.power_on()
    assert session(lab, ["MGET", "before", "after", "later"]) == [[b"1", b"2", b"3"]]


def test_a_disk_full_at_start_stops_the_node_without_serving():
    lab = Lab()
    node = lab.node(config={"appendonly": "yes"}, recover=recover_from_disk)
    node.kill()
    node.disk.files.clear()
    node.disk.faults.full = 1
    node.start()
    client = lab.recorder("c")
    conn = lab.net.connect("c", "n1")
    lab.net.send(conn, "c", request("SET", "k", "v"))
    lab.run(500)
    assert not node.up and replies(client.data()) == []



# -- sweeps --------------------------------------------------------------------------------------


def aof_run(seed: int, workload: str, faults: tuple[str, ...], options=ALWAYS + FREQUENT_REWRITES,
            duration_ms: int = 10_000) -> Result:
    config = RunConfig(seed=seed, workload=workload, clients=5, duration_ms=duration_ms, faults=faults, config=options)
    return run(config, keep_trace=True)


def start_failures(result: Result) -> list[tuple]:
    return [record for record in result.records if record[0] == "node" and record[3] == "start-failed"]


def problems(result: Result) -> list[str]:
    """Failed checkers, and starts the node refused: a correct node has none under ``always``."""
    return list(result.failed_checkers) + ["start-failed"] * bool(start_failures(result))


@pytest.mark.parametrize("workload", WORKLOADS)
def test_always_loses_nothing_under_kill_power_and_disk_faults(workload):
    rewrites = 0
    for seed in range(1, SWEEP_SEEDS + 1):
        result = aof_run(seed, workload, ("kill", "power", "disk"))
        assert problems(result) == [], (seed, result.verdicts)
        rewrites += sum(1 for record in result.records if record[0] == "effect" and record[3] == "snapshot-start")
    assert rewrites > SWEEP_SEEDS  # the sweep did rewrite the log under the faults


def crash_times_ms(result: Result, node: str = "n1") -> list[int]:
    return [record[1] for record in result.records if record[0] == "node" and record[2] == node and record[3] in CRASHES]


def loss_ages_ms(result: Result) -> list[int]:
    """For each lost acknowledged add: how long before the crash that lost it it was acknowledged."""
    crashes = crash_times_ms(result)
    ages = []
    for write in lost_adds(result):
        after = [t for t in crashes if t * NS_PER_MS >= write.start_ns]
        ages.append(after[0] - write.ack_ns // NS_PER_MS if after else 10**9)
    return ages


def test_everysec_loses_nothing_to_kills():
    for seed in range(1, SWEEP_SEEDS + 1):
        result = aof_run(seed, "set", ("kill",), EVERYSEC)
        assert problems(result) == [] and not lost_adds(result), (seed, result.verdicts)


def test_everysec_loses_only_the_last_seconds_before_a_power_loss():
    lost = []
    for seed in range(1, SWEEP_SEEDS + 1):
        result = aof_run(seed, "set", ("power",), EVERYSEC)
        assert [name for name in ("liveness", "client") if result.verdicts[name].valid is not True] == []
        assert not start_failures(result)
        lost += loss_ages_ms(result)
    assert lost, "power losses under everysec should lose something in this many seeds"
    assert max(lost) <= EVERYSEC_WINDOW_MS, sorted(lost)[-5:]


@pytest.mark.parametrize("options", [EVERYSEC, (("appendonly", "yes"), ("appendfsync", "no"))], ids=["everysec", "no"])
def test_torn_writes_full_disks_and_fsync_errors_never_keep_the_node_down(options):
    for seed in range(1, SWEEP_SEEDS // 2 + 1):
        result = aof_run(seed, "append", ("kill", "power", "disk"), options + FREQUENT_REWRITES)
        assert not start_failures(result), seed
        assert [name for name in ("liveness", "client") if result.verdicts[name].valid is not True] == [], seed


def test_the_loss_window_rule_rejects_an_older_loss():
    lost_seed = next(seed for seed in range(1, SWEEP_SEEDS + 1) if lost_adds(aof_run(seed, "set", ("power",), EVERYSEC)))
    result = aof_run(lost_seed, "set", ("power",), EVERYSEC)
    shifted = [record if not (record[0] == "node" and record[3] in CRASHES) else (record[0], record[1] + 5000, *record[2:])
               for record in result.records]
    result.records = shifted  # as if each crash had come 5 s later: the same losses are now too old
    assert max(loss_ages_ms(result)) > EVERYSEC_WINDOW_MS


# -- planted bugs --------------------------------------------------------------------------------


def reply_before_log_write(monkeypatch) -> None:
    """Replies leave with their log write instead of after it is done."""
    take_effects = node_module.Node.take_effects

    def releasing(node):
        effects = take_effects(node)
        while node._held:
            _, sends, closes = node._held.popleft()
            effects += [node_module.Send(conn, data) for conn, data in sends]
            effects += [node_module.Close(conn) for conn in closes]
        return effects

    monkeypatch.setattr(node_module.Node, "take_effects", releasing)


def fsync_skipped_under_always(monkeypatch) -> None:
    """The log write under ``always`` forgets its fsync."""
    start = node_module.Node._start_log_job

    def without_fsync(node, effects):
        start(node, effects)
        effect = effects[-1]
        effects[-1] = AppendLog(effect.job, effect.data, False, effect.path)

    monkeypatch.setattr(node_module.Node, "_start_log_job", without_fsync)


def manifest_renamed_before_fsync(monkeypatch) -> None:
    """The new manifest is renamed into place before its contents are fsynced."""
    monkeypatch.setattr(
        appendonly, "manifest_steps", lambda temp, path: (("write", temp), ("rename", temp, path), ("fsync", path), ("fsync-dir",))
    )


def truncated_tail_loaded_as_complete(monkeypatch) -> None:
    """A record cut short by a torn write is loaded with the bytes that are there."""

    def lenient(stream):
        line = stream.fgets(aof.LINE_MAX)
        if line is None or line[:1] != b"$":
            return b""
        arg = stream.fread(aof._line_number(line))
        stream.fread(2)
        return arg

    monkeypatch.setattr(aof, "_read_argument", lenient)


def transaction_logged_unwrapped(monkeypatch) -> None:
    """A transaction's writes go to the log without the MULTI and EXEC around them, so a power
    cut that tears the write keeps its first half (a transfer's debit without its credit)."""
    end_block = node_module.Node.end_propagation_block
    multi, exec_ = aof.encode_command([b"MULTI"]), aof.encode_command([b"EXEC"])

    def unwrapped(node, marker):
        records = node._log_records
        before = len(records)
        end_block(node, marker)
        if len(records) == before + 2 and records[-1] == exec_:
            records.pop()
            del records[records.index(multi, marker)]

    monkeypatch.setattr(node_module.Node, "end_propagation_block", unwrapped)


PLANTED = [
    (reply_before_log_write, "set", ("power", "disk"), ALWAYS),
    (transaction_logged_unwrapped, "bank", ("power",), ALWAYS),
    (fsync_skipped_under_always, "set", ("power",), ALWAYS),
    (manifest_renamed_before_fsync, "set", ("power", "disk"), ALWAYS + FREQUENT_REWRITES),
    (truncated_tail_loaded_as_complete, "append", ("power",), ALWAYS),
]


@pytest.mark.parametrize(("plant", "workload", "faults", "options"), PLANTED, ids=[p[0].__name__ for p in PLANTED])
def test_a_sweep_finds_the_planted_bug(monkeypatch, plant, workload, faults, options):
    found = None
    with monkeypatch.context() as patched:
        plant(patched)
        for seed in range(1, PLANTED_SEEDS_MAX + 1):
            result = aof_run(seed, workload, faults, options)
            if problems(result):
                found = seed, problems(result)
                break
    assert found is not None, f"no failure in {PLANTED_SEEDS_MAX} seeds"
    seed, _ = found
    assert problems(aof_run(seed, workload, faults, options)) == [], f"seed {seed} fails even without the bug"

