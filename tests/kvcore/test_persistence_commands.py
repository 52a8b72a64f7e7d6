"""SAVE, BGSAVE, LASTSAVE, the save schedule, -MISCONF, SHUTDOWN's save and INFO persistence, on the pure core.

A `Runtime` stands in for net/sim: it keeps the `WriteFiles` effects the
node emits and finishes their jobs when a test says so, with success or a
disk error. Reply texts and INFO field names were checked with redis-server
7.0.15 (a failing save made by removing its ``dir``).
"""

from __future__ import annotations

import hiredis
import pytest

from kvcore import errors, rdb
from kvcore.effects import CancelJob, Close, LogMessage, ReadFiles, Send, Shutdown, WriteFiles
from kvcore.snapshots import parse_save_params, write_steps
from tests.kvcore.harness import CoreClient, encode_request, make_node

T0 = 1_700_000_000_000
IN_PROGRESS = "ERR Background save already in progress"
# INFO persistence as redis-server 7.0.15 lists it, up to the aof fields, and after them.
RDB_FIELDS = [
    "loading", "async_loading", "current_cow_peak", "current_cow_size", "current_cow_size_age",
    "current_fork_perc", "current_save_keys_processed", "current_save_keys_total",
    "rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_save_time", "rdb_last_bgsave_status",
    "rdb_last_bgsave_time_sec", "rdb_current_bgsave_time_sec", "rdb_saves", "rdb_last_cow_size",
    "rdb_last_load_keys_expired", "rdb_last_load_keys_loaded",
]
MODULE_FIELDS = ["module_fork_in_progress", "module_fork_last_cow_size"]

FINAL_SAVE = LogMessage("notice", "Saving the final RDB snapshot before exiting.")  # as prepareForShutdown logs


class Runtime:
    """Keeps the node's snapshot effects; `finish` reports the oldest one done."""

    def __init__(self, node) -> None:
        self.node = node
        self.snapshots: list[WriteFiles] = []
        self.others: list = []
        take_effects = node.take_effects

        def taking() -> list:
            effects = take_effects()
            self.snapshots += [e for e in effects if type(e) is WriteFiles]
            self.others += [e for e in effects if type(e) not in (Send, Close, WriteFiles)]
            return effects

        node.take_effects = taking

    def finish(self, c: CoreClient, ok: bool = True, at_ms: int | None = None) -> WriteFiles:
        effect = self.snapshots.pop(0)
        node = self.node
        node.job_done(effect.job, ok, node.now if at_ms is None else at_ms, "" if ok else "No space left on device")
        c._deliver(node.take_effects())
        return effect

    def tick(self, c: CoreClient, at_ms: int) -> None:
        self.node.tick(at_ms)
        c._deliver(self.node.take_effects())


def text(reply):
    return str(reply) if isinstance(reply, hiredis.ReplyError) else reply


def info_fields(c) -> dict[str, str]:
    body = c.call("INFO", "persistence").decode()
    return dict(line.split(":", 1) for line in body.split("\r\n") if line and not line.startswith("#"))


@pytest.fixture
def node():
    return make_node(now=T0)


@pytest.fixture
def runtime(node):
    return Runtime(node)


# -- SAVE ---------------------------------------------------------------------------------


def test_save_writes_a_point_in_time_image_and_answers_when_the_job_is_done(node, runtime, c):
    c.call("SET", "a", "1")
    assert c.send_raw(encode_request("SAVE")) == []  # held until the disk is done
    [effect] = runtime.snapshots
    assert not effect.background and effect.path == "dump.rdb"
    assert effect.steps == write_steps("temp-0.rdb", "dump.rdb")
    node.now += 3000
    runtime.finish(c)
    assert c.send_raw(b"") == [b"OK"]
    assert c.call("LASTSAVE") == (T0 + 3000) // 1000
    assert info_fields(c)["rdb_changes_since_last_save"] == "0"
    fresh = make_node(now=T0)
    rdb.load(fresh, effect.data)
    assert CoreClient(fresh).call("GET", "a") == b"1"


def test_the_steps_make_the_image_durable_before_renaming_it_then_sync_the_directory():
    assert write_steps("temp-7.rdb", "dump.rdb") == (
        ("write", "temp-7.rdb"), ("fsync", "temp-7.rdb"), ("rename", "temp-7.rdb", "dump.rdb"), ("fsync-dir",),
    )


def test_a_failed_save_replies_a_bare_err_and_does_not_stop_writes(runtime, c):
    c.send_raw(encode_request("SAVE"))
    runtime.finish(c, ok=False)
    assert [text(reply) for reply in c.send_raw(b"")] == ["ERR"]
    assert c.call("SET", "a", "1") == b"OK"
    fields = info_fields(c)
    assert fields["rdb_last_bgsave_status"] == "ok" and fields["rdb_saves"] == "1"
    assert fields["rdb_changes_since_last_save"] == "1"


def test_requests_pipelined_after_save_are_answered_after_it(runtime, c):
    assert c.send_raw(encode_request("SAVE") + encode_request("SET", "b", "2") + encode_request("GET", "b")) == []
    runtime.finish(c)
    assert c.send_raw(b"") == [b"OK", b"OK", b"2"]


def test_a_save_woken_by_client_unblock_is_answered_once(node, runtime, c):
    other = CoreClient(node)
    c.send_raw(encode_request("SAVE"))
    client_id = node.clients[c.conn].id
    assert other.call("CLIENT", "UNBLOCK", client_id) == 1
    runtime.finish(c)
    assert len(c.send_raw(b"")) == 1


def test_save_is_refused_in_multi(c):
    c.call("MULTI")
    assert text(c.call("SAVE")) == "ERR Command not allowed inside a transaction"


# -- BGSAVE -----------------------------------------------------------------------------------


def test_bgsave_answers_at_once_and_the_image_is_the_moment_it_was_asked(node, runtime, c):
    c.call("SET", "a", "1")
    assert c.call("BGSAVE") == b"Background saving started"
    c.call("SET", "b", "2")  # after the image was taken
    fields = info_fields(c)
    assert (fields["rdb_bgsave_in_progress"], fields["current_save_keys_total"]) == ("1", "1")
    assert text(c.call("BGSAVE")) == IN_PROGRESS
    assert text(c.call("BGSAVE", "SCHEDULE")) == IN_PROGRESS
    assert text(c.call("SAVE")) == IN_PROGRESS
    node.now += 2500
    effect = runtime.finish(c)
    assert effect.background
    fresh = make_node(now=T0)
    rdb.load(fresh, effect.data)
    assert CoreClient(fresh).call("KEYS", "*") == [b"a"]
    fields = info_fields(c)
    assert fields["rdb_bgsave_in_progress"] == "0" and fields["rdb_last_bgsave_time_sec"] == "2"
    assert fields["rdb_changes_since_last_save"] == "1"  # the SET made while saving
    assert fields["rdb_saves"] == "1" and fields["rdb_last_save_time"] == str((T0 + 2500) // 1000)



def test_the_child_s_progress_shows_in_info_while_it_saves_and_its_cow_after(node, runtime, c):
    """As Redis's child info pipe: the share of keys saved and the copy-on-write so far, then the last one."""
    for key in range(8):
        c.call("SET", f"k{key}", "v")
    c.call("BGSAVE")
    job = runtime.snapshots[0].job
    node.child_progress(job, 0.5, 8192, node.now)
    node.child_progress(job + 100, 1.0, 1 << 30, node.now)  # another job's report changes nothing
    node.now += 2000
    fields = info_fields(c)
    assert [fields[name] for name in RDB_FIELDS[2:8]] == ["8192", "8192", "2", "50.00", "4", "8"]
    node.child_progress(job, 1.0, 4096, node.now)
    runtime.finish(c)
    fields = info_fields(c)
    assert [fields[name] for name in RDB_FIELDS[2:8]] == ["0", "0", "0", "0.00", "0", "0"]
    assert fields["rdb_last_cow_size"] == "4096"


def test_a_killed_child_s_progress_leaves_info(node, runtime, c):
    """FLUSHALL kills the saving child: INFO's current figures go with it, as Redis resets them."""
    c.call("SET", "a", "1")
    c.call("BGSAVE")
    node.child_progress(runtime.snapshots[0].job, 0.5, 8192, node.now)
    c.call("FLUSHALL")
    fields = info_fields(c)
    assert [fields[name] for name in RDB_FIELDS[2:8]] == ["0", "0", "0", "0.00", "0", "0"]

@pytest.mark.parametrize("args", [["x"], ["schedule", "x"], ["now"]])
def test_bgsave_takes_only_schedule(c, args):
    assert text(c.call("BGSAVE", *args)) == "ERR syntax error"


def test_bgsave_schedule_with_nothing_running_starts_at_once(runtime, c):
    assert c.call("BGSAVE", "SCHEDULE") == b"Background saving started"
    assert len(runtime.snapshots) == 1


def test_bgsave_inside_exec_is_scheduled_for_the_cron(node, runtime, c):
    c.call("MULTI")
    c.call("BGSAVE")
    assert c.call("EXEC") == [b"Background saving scheduled"]
    assert runtime.snapshots == []
    runtime.tick(c, T0 + 100)
    assert len(runtime.snapshots) == 1 and runtime.snapshots[0].background


# -- MISCONF ------------------------------------------------------------------------------------

MISCONF_CASES = [
    (["SET", "k", "v"], errors.MISCONF),
    (["PING"], errors.MISCONF),
    (["DEL", "k"], errors.MISCONF),
    (["GET", "k"], None),
    (["EVAL", "return redis.call('set', KEYS[1], 1)", "1", "k"], errors.MISCONF),  # the write inside refused
    (["EVAL", "return redis.call('get', KEYS[1])", "1", "k"], None),
    (["EVAL", "#!lua\nreturn 1", "0"], errors.MISCONF),  # declares it may write: refused before it runs
    (["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0"], None),
    (["FCALL", "writer", "0"], errors.MISCONF),
    (["FCALL", "reader", "0"], None),
]
LIBRARY = ("#!lua name=lib\nredis.register_function('writer', function() return 1 end)\n"
           "redis.register_function{function_name='reader', callback=function() return 1 end, flags={'no-writes'}}")


@pytest.mark.parametrize(("argv", "refusal"), MISCONF_CASES)
def test_a_failed_bgsave_refuses_writes_and_ping(runtime, c, argv, refusal):
    c.call("FUNCTION", "LOAD", LIBRARY)
    c.call("BGSAVE")
    runtime.finish(c, ok=False)
    assert info_fields(c)["rdb_last_bgsave_status"] == "err"
    reply = text(c.call(*argv))
    # a write refused inside a script comes back as its error, where the script ran (' script: ...')
    assert str(reply).startswith(refusal) if refusal else not str(reply).startswith("MISCONF")


@pytest.mark.parametrize(("option", "value"), [("stop-writes-on-bgsave-error", "no"), ("save", "")])
def test_misconf_needs_stop_writes_on_bgsave_error_and_a_save_schedule(runtime, c, option, value):
    c.call("BGSAVE")
    runtime.finish(c, ok=False)
    default = c.call("CONFIG", "GET", option)[1]
    assert c.call("CONFIG", "SET", option, value) == b"OK"
    assert c.call("SET", "k", "v") == b"OK"
    c.call("CONFIG", "SET", option, default)
    assert text(c.call("SET", "k", "v")) == errors.MISCONF


def test_a_successful_save_lifts_misconf(runtime, c):
    c.call("BGSAVE")
    runtime.finish(c, ok=False)
    c.send_raw(encode_request("SAVE"))
    runtime.finish(c)
    assert c.send_raw(b"") == [b"OK"]
    assert c.call("SET", "k", "v") == b"OK"
    assert info_fields(c)["rdb_last_bgsave_status"] == "ok"


def test_a_failed_bgsave_in_multi_aborts_the_transaction(runtime, c):
    c.call("BGSAVE")
    runtime.finish(c, ok=False)
    c.call("MULTI")
    assert text(c.call("SET", "k", "v")) == errors.MISCONF
    assert text(c.call("EXEC")) == "EXECABORT Transaction discarded because of previous errors."


# -- the save schedule ---------------------------------------------------------------------------


def test_the_schedule_saves_once_enough_changes_are_older_than_its_seconds():
    node = make_node(now=T0, save="1 1")
    runtime, c = Runtime(node), CoreClient(node)
    runtime.tick(c, T0 + 5000)
    assert runtime.snapshots == []  # no change: nothing to save
    c.call("SET", "a", "1")
    runtime.tick(c, T0 + 1000)
    assert runtime.snapshots == []  # not more than 1 s since the last save
    runtime.tick(c, T0 + 2000)
    assert len(runtime.snapshots) == 1 and runtime.snapshots[0].background


def test_a_failed_scheduled_save_is_retried_after_five_seconds():
    node = make_node(now=T0, save="1 1")
    runtime, c = Runtime(node), CoreClient(node)
    c.call("SET", "a", "1")
    runtime.tick(c, T0 + 2000)
    runtime.finish(c, ok=False, at_ms=T0 + 2100)
    for at_ms in range(T0 + 3000, T0 + 7001, 1000):
        runtime.tick(c, at_ms)
        assert runtime.snapshots == [], at_ms
    runtime.tick(c, T0 + 8000)
    assert len(runtime.snapshots) == 1


def test_no_schedule_no_automatic_save():
    node = make_node(now=T0, save="")
    runtime, c = Runtime(node), CoreClient(node)
    c.call("SET", "a", "1")
    runtime.tick(c, T0 + 10_000_000)
    assert runtime.snapshots == []


@pytest.mark.parametrize(("text_", "params"), [
    ("3600 1 300 100 60 10000", [(3600, 1), (300, 100), (60, 10000)]),
    ("", []),
    ("1 1 x", []),
    ("10", []),
])
def test_save_parameters(text_, params):
    assert parse_save_params(text_) == params


# -- SHUTDOWN -----------------------------------------------------------------------------------


def test_shutdown_with_a_schedule_saves_then_exits(runtime, c):
    c.call("SET", "a", "1")
    assert c.send_raw(encode_request("SHUTDOWN")) == []
    assert len(runtime.snapshots) == 1 and not runtime.snapshots[0].background
    assert runtime.others == [FINAL_SAVE]  # not the exit: not before the save is done
    runtime.finish(c)
    assert runtime.others == [FINAL_SAVE, Shutdown(0)] and c.closed


@pytest.mark.parametrize(("config", "argv", "saves"), [
    ({}, ["SHUTDOWN", "NOSAVE"], False),
    ({"save": ""}, ["SHUTDOWN"], False),
    ({"save": ""}, ["SHUTDOWN", "SAVE"], True),
    ({}, ["SHUTDOWN", "NOW", "FORCE"], True),
])
def test_shutdown_saves_when_asked_or_scheduled(config, argv, saves):
    node = make_node(now=T0, **config)
    runtime, c = Runtime(node), CoreClient(node)
    c.send_raw(encode_request(*argv))
    assert bool(runtime.snapshots) == saves
    assert (Shutdown(0) in runtime.others) != saves


def test_a_failed_shutdown_save_keeps_the_server_running(node, runtime, c):
    c.send_raw(encode_request("SHUTDOWN"))
    runtime.finish(c, ok=False)
    assert [text(reply) for reply in c.send_raw(b"")] == ["ERR Errors trying to SHUTDOWN. Check logs."]
    assert runtime.others == [FINAL_SAVE, LogMessage("warning", "Error trying to save the DB, can't exit.")]
    assert not c.closed and node.shutdown_requested is None
    assert c.call("PING") == b"PONG"


def test_shutdown_force_exits_even_when_the_save_fails(runtime, c):
    c.send_raw(encode_request("SHUTDOWN", "FORCE"))
    runtime.finish(c, ok=False)
    assert runtime.others == [FINAL_SAVE, Shutdown(0)] and c.closed


def test_shutdown_during_a_bgsave_stops_it_and_saves_at_once(node, runtime, c):
    c.call("BGSAVE")
    background = runtime.snapshots.pop(0)
    c.send_raw(encode_request("SHUTDOWN"))
    assert runtime.others == [CancelJob(background.job), FINAL_SAVE]
    assert len(runtime.snapshots) == 1 and not runtime.snapshots[0].background
    node.job_done(background.job, False, node.now, "child process terminated by signal 10")  # ignored
    runtime.finish(c)
    assert runtime.others == [CancelJob(background.job), FINAL_SAVE, Shutdown(0)]


def test_flushall_stops_a_bgsave_without_failing_it():
    node = make_node(save="")
    runtime = Runtime(node)
    client = CoreClient(node, 1)
    client.call("SET", "k", "v")
    client.call("BGSAVE")
    (background,) = runtime.snapshots
    assert client.call("FLUSHALL") == b"OK"
    assert runtime.others == [CancelJob(background.job)]
    node.job_done(background.job, False, node.now, "child process terminated by signal 10")
    fields = info_fields(client)
    assert (fields["rdb_bgsave_in_progress"], fields["rdb_last_bgsave_status"]) == ("0", "ok")
    assert client.call("BGSAVE") == b"Background saving started"


def test_a_signal_saves_like_shutdown(node, runtime, c):
    node.snapshots.shutdown_on_signal(T0 + 10)
    c._deliver(node.take_effects())
    runtime.finish(c)
    assert runtime.others == [FINAL_SAVE, Shutdown(0)]


def test_a_signal_while_the_cron_is_paused_waits_for_it_and_shutdown_abort_cancels_it(node, runtime, c):
    assert text(c.call("SHUTDOWN", "ABORT")) == "ERR No shutdown in progress."
    c.call("DEBUG", "PAUSE-CRON", "1")
    node.snapshots.shutdown_on_signal(T0 + 10)
    node.tick(T0 + 200)
    c._deliver(node.take_effects())
    assert runtime.snapshots == [] and runtime.others == []
    assert c.call("SHUTDOWN", "ABORT") == b"OK"
    assert LogMessage("notice", "Shutdown manually aborted.") in runtime.others
    c.call("DEBUG", "PAUSE-CRON", "0")
    node.tick(T0 + 300)
    c._deliver(node.take_effects())
    assert runtime.snapshots == [] and c.call("PING") == b"PONG"
    assert text(c.call("SHUTDOWN", "ABORT")) == "ERR No shutdown in progress."


def test_a_signal_while_the_cron_is_paused_shuts_down_once_it_runs_again(node, runtime, c):
    c.call("DEBUG", "PAUSE-CRON", "1")
    node.snapshots.shutdown_on_signal(T0 + 10)
    c.call("DEBUG", "PAUSE-CRON", "0")
    node.tick(T0 + 100)
    c._deliver(node.take_effects())
    runtime.finish(c)
    assert runtime.others == [FINAL_SAVE, Shutdown(0)]


# -- DEBUG RELOAD, loading, INFO ----------------------------------------------------------------


def test_debug_reload_saves_and_loads_the_image_back(runtime, c):
    c.call("RPUSH", "l", "a", "b")
    c.call("SET", "n", "12")
    c.send_raw(encode_request("DEBUG", "RELOAD"))
    runtime.finish(c)
    assert c.send_raw(b"") == [b"OK"]
    assert c.call("LRANGE", "l", "0", "-1") == [b"a", b"b"]
    assert c.call("OBJECT", "ENCODING", "n") == b"int"
    assert info_fields(c)["rdb_changes_since_last_save"] == "0"


def test_debug_reload_options(c):
    assert text(c.call("DEBUG", "RELOAD", "x")) == "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."


def test_debug_reload_noflush_clashes_unless_merge(node, runtime, c):
    """As functions.tcl checks it: NOFLUSH loads over the data (a clash fails the load), MERGE lets the file win."""
    c.call("SET", "k", "saved")
    c.send_raw(encode_request("DEBUG", "RELOAD", "NOFLUSH"))
    runtime.finish(c)
    assert text(c.send_raw(b"")[0]) == "ERR Error trying to load the RDB dump, check server logs."
    c.send_raw(encode_request("DEBUG", "RELOAD", "NOFLUSH", "MERGE"))
    runtime.finish(c)
    assert c.send_raw(b"") == [b"OK"]
    assert c.call("GET", "k") == b"saved"


def test_debug_reload_nosave_loads_the_file_as_it_is(node, runtime, c):
    c.call("SET", "k", "saved")
    c.send_raw(encode_request("SAVE"))
    image = runtime.finish(c).data
    c.send_raw(b"")
    c.call("SET", "k", "changed")
    c.call("SET", "new", "1")
    c.send_raw(encode_request("DEBUG", "RELOAD", "NOSAVE"))
    read = next(effect for effect in runtime.others if type(effect) is ReadFiles)
    assert read.paths == ("dump.rdb",)
    node.files_read(read.job, {"dump.rdb": image}, node.now)
    c._deliver(node.take_effects())
    assert c.send_raw(b"") == [b"OK"]
    assert c.call("GET", "k") == b"saved" and c.call("EXISTS", "new") == 0


def test_loading_at_start_is_reported_and_counts_as_saved(c):
    c.call("SET", "a", "1")
    c.call("SET", "gone", "1", "PX", "10")
    image = rdb.write(c.node)
    node = make_node(now=T0 + 1000)
    node.snapshots.loaded(rdb.load(node, image))
    fields = info_fields(CoreClient(node))
    assert fields["rdb_last_load_keys_loaded"] == "1" and fields["rdb_last_load_keys_expired"] == "1"
    assert fields["rdb_changes_since_last_save"] == "0"


def test_info_persistence_lists_redis_fields_in_order(c):
    names = list(info_fields(c))
    assert names[: len(RDB_FIELDS)] == RDB_FIELDS
    assert names[-len(MODULE_FIELDS):] == MODULE_FIELDS
    assert all(name.startswith("aof_") for name in names[len(RDB_FIELDS): -len(MODULE_FIELDS)])


def test_a_fresh_node_reports_no_save_yet(c):
    fields = info_fields(c)
    assert fields["rdb_last_save_time"] == str(T0 // 1000) and fields["rdb_last_bgsave_status"] == "ok"
    assert fields["rdb_last_bgsave_time_sec"] == "-1" and fields["rdb_current_bgsave_time_sec"] == "-1"


def test_flushall_saves_the_empty_dataset_when_save_points_are_set():
    node = make_node(save="100 1")
    runtime = Runtime(node)
    client = CoreClient(node, 1)
    client.call("SET", "k", "v")
    assert client.call("FLUSHALL") == b"OK"
    (image,) = runtime.snapshots
    assert not image.background and rdb.load(make_node(), image.data).keys_loaded == 0
    runtime.finish(client)
    fields = info_fields(client)
    assert (fields["rdb_changes_since_last_save"], fields["rdb_saves"]) == ("0", "0")


def test_flushall_without_save_points_saves_nothing():
    node = make_node(save="")
    runtime = Runtime(node)
    assert CoreClient(node, 1).call("FLUSHALL") == b"OK"
    assert runtime.snapshots == []
