"""The log's life cycle in the pure core (kvcore.appendonly): files, rewrites, fsyncs, turning it on.

`Files` stands in for a runtime: it carries out AppendLog, Fsync and
WriteFiles effects on a dict of file contents at once (or fails them when a
test says so), so a test can restart a node from "disk" with
`kvcore.appendonly.recover`. Reply texts were checked with redis-server 7.0.15.
"""

from __future__ import annotations

import hiredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvcore import appendonly
from kvcore.effects import AppendLog, CancelJob, Fsync, LogMessage, ReadFiles, Send, Shutdown, WriteFiles
from tests.kvcore.harness import encode_request, make_node
from tests.kvcore.test_aof import dataset
from tests.kvcore.test_propagation import command

MANIFEST = "appendonlydir/appendonly.aof.manifest"
NOW = 1_700_000_000_000


class Files:
    """A runtime whose disk is a dict; jobs finish as soon as they are carried out."""

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        self.files = files if files is not None else {}
        self.fail = False  # every file operation fails while set
        self.hold = False  # background jobs wait in `held` while set (a child still writing)
        self.held: list[WriteFiles] = []
        self.effects: list = []
        self.replies: dict[int, hiredis.Reader] = {}

    def start(self, **options: str):
        node = make_node(now=NOW, **options)
        recovery = appendonly.recover(node, self.files.get)
        assert recovery.ok, recovery.log
        if recovery.truncate:
            path, size = recovery.truncate
            self.files[path] = self.files[path][:size]
        node.open(1, node.now)
        self.drain(node)
        return node

    def call(self, node, *args):
        node.receive(1, encode_request(*args), node.now)
        self.drain(node)
        reader = self.replies.setdefault(1, hiredis.Reader())
        reply = reader.gets()
        return reply

    def drain(self, node) -> None:
        pending = node.take_effects()
        while pending:
            effect = pending.pop(0)
            self.effects.append(effect)
            kind = type(effect)
            if kind is Send:
                self.replies.setdefault(effect.conn, hiredis.Reader()).feed(effect.data)
            elif kind is AppendLog:
                if not self.fail:
                    self.files[effect.path] = self.files.get(effect.path, b"") + effect.data
                node.job_done(effect.job, not self.fail, node.now, "No space left on device" * self.fail)
            elif kind is Fsync:
                node.job_done(effect.job, not self.fail, node.now, "Input/output error" * self.fail)
            elif kind is WriteFiles and effect.background and self.hold:
                self.held.append(effect)
            elif kind is WriteFiles:
                ok = not self.fail and all(self._step(step, effect.data) for step in effect.steps)
                node.job_done(effect.job, ok, node.now, "" if ok else "No space left on device", len(effect.data))
            elif kind is ReadFiles:
                node.files_read(effect.job, {path: self.files.get(path) for path in effect.paths}, node.now)
            pending += node.take_effects()

    def finish_held(self, node, index: int) -> None:
        """The held background job ``index`` finishes now."""
        effect = self.held.pop(index)
        for step in effect.steps:
            self._step(step, effect.data)
        node.job_done(effect.job, True, node.now, "", len(effect.data))
        self.drain(node)

    def _step(self, step: tuple[str, ...], data: bytes) -> bool:
        op = step[0]
        if op == "write":
            self.files[step[1]] = data
        elif op == "truncate":
            self.files[step[1]] = b""
        elif op == "touch":
            self.files.setdefault(step[1], b"")
        elif op == "rename":
            self.files[step[2]] = self.files.pop(step[1])
        elif op == "remove":
            self.files.pop(step[1], None)
        return True

    def names(self) -> list[str]:
        return sorted(name.split("/", 1)[1] for name in self.files if name.startswith("appendonlydir/"))


def info(files: Files, node) -> dict[str, str]:
    text = files.call(node, "INFO", "persistence").decode()
    return dict(line.split(":", 1) for line in text.split("\r\n") if ":" in line)


# -- start ---------------------------------------------------------------------------------------


def test_a_first_start_creates_the_base_the_incr_and_the_manifest():
    files = Files()
    node = files.start(appendonly="yes")
    assert files.names() == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
    assert files.files[MANIFEST] == b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    files.call(node, "SET", "k", "v")
    assert b"$1\r\nk\r\n$1\r\nv" in files.files["appendonlydir/appendonly.aof.1.incr.aof"]
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)


def test_a_restart_appends_to_the_last_incr_without_rewriting_the_manifest():
    files = Files()
    node = files.start(appendonly="yes", aof_use_rdb_preamble="no")
    files.call(node, "RPUSH", "l", "a")
    manifest = files.files[MANIFEST]
    again = Files(files.files)
    node = again.start(appendonly="yes", aof_use_rdb_preamble="no")
    assert not [e for e in again.effects if type(e) is WriteFiles and any(step[0] == "write" for step in e.steps)]
    again.call(node, "RPUSH", "l", "b")
    assert files.files[MANIFEST] == manifest
    assert again.call(node, "LRANGE", "l", "0", "-1") == [b"a", b"b"]


def test_a_failed_start_stops_the_node_and_answers_nobody():
    files = Files()
    files.fail = True
    node = files.start(appendonly="yes")
    assert node.halted and Shutdown(1) in files.effects
    assert files.call(node, "PING") is False


def test_with_the_log_off_the_manifest_is_read_and_kept_for_later():
    files = Files()
    node = files.start(appendonly="yes")
    files.call(node, "BGREWRITEAOF")
    off = Files(files.files)
    node = off.start()
    assert node.aof.manifest.base.name == "appendonly.aof.2.base.rdb"
    assert "aof_current_size" not in info(off, node) and info(off, node)["aof_enabled"] == "0"


# -- rewrite -------------------------------------------------------------------------------------


def test_bgrewriteaof_switches_to_a_new_incr_then_a_new_base():
    files = Files()
    node = files.start(appendonly="yes")
    files.call(node, "SET", "a", "1")
    assert files.call(node, "BGREWRITEAOF") == b"Background append only file rewriting started"
    files.call(node, "SET", "b", "2")
    assert files.names() == ["appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", "appendonly.aof.manifest"]
    assert files.files["appendonlydir/appendonly.aof.2.incr.aof"].startswith(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n")
    fields = info(files, node)
    assert (fields["aof_rewrites"], fields["aof_last_bgrewrite_status"]) == ("1", "ok")
    assert int(fields["aof_base_size"]) == len(files.files["appendonlydir/appendonly.aof.2.base.rdb"])
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)


def test_a_rewrite_without_the_log_writes_only_a_base():
    files = Files()
    node = files.start()
    files.call(node, "SET", "a", "1")
    assert files.call(node, "BGREWRITEAOF") == b"Background append only file rewriting started"
    assert files.files[MANIFEST] == b"file appendonly.aof.1.base.rdb seq 1 type b\n"


def test_a_rewrite_s_child_reports_its_progress_and_its_cow():
    files = Files()
    files.hold = True
    node = files.start()
    for key in range(4):
        files.call(node, "SET", f"k{key}", "v")
    files.call(node, "BGREWRITEAOF")
    (image,) = files.held
    node.child_progress(image.job, 0.25, 12288, node.now)
    fields = info(files, node)
    assert (fields["current_fork_perc"], fields["current_save_keys_processed"], fields["current_cow_size"]) == \
        ("25.00", "1", "12288")
    files.finish_held(node, 0)
    fields = info(files, node)
    assert (fields["aof_last_cow_size"], fields["rdb_last_cow_size"], fields["current_cow_size"]) == ("12288", "0", "0")


def test_a_rewrite_stopped_takes_its_child_s_progress_with_it():
    files = Files()
    files.hold = True
    node = files.start(appendonly="yes")
    files.call(node, "SET", "k", "v")
    files.call(node, "BGREWRITEAOF")
    node.child_progress(files.held[0].job, 0.5, 4096, node.now)
    assert info(files, node)["current_save_keys_total"] == "1"
    files.call(node, "CONFIG", "SET", "appendonly", "no")  # kills the rewrite's child, as Redis
    fields = info(files, node)
    assert (fields["current_save_keys_total"], fields["current_cow_size"], fields["aof_rewrite_in_progress"]) == \
        ("0", "0", "0")


def test_one_child_at_a_time_as_redis():
    files = Files()
    node = files.start(appendonly="yes")
    node.aof.rewrite = appendonly.Rewrite("temp", node.now)  # a rewrite in flight
    assert str(files.call(node, "BGREWRITEAOF")) == appendonly.REWRITE_IN_PROGRESS
    assert str(files.call(node, "BGSAVE")).startswith("ERR Another child process is active (AOF?)")
    assert files.call(node, "BGSAVE", "SCHEDULE") == b"Background saving scheduled"
    node.aof.rewrite = None
    files.call(node, "MULTI")
    files.call(node, "BGREWRITEAOF")
    assert files.call(node, "EXEC") == [b"Background append only file rewriting scheduled"]
    assert info(files, node)["aof_rewrite_scheduled"] == "1"


def test_appendonly_no_kills_the_rewrite_in_flight_without_failing_it():
    files = Files()
    node = files.start(appendonly="yes")
    files.hold = True
    assert files.call(node, "BGREWRITEAOF") == b"Background append only file rewriting started"
    (image,) = files.held
    manifest = files.files[MANIFEST]
    assert files.call(node, "CONFIG", "SET", "appendonly", "no") == b"OK"
    assert CancelJob(image.job) in files.effects
    node.job_done(image.job, False, node.now, "child process terminated by signal 10")  # ignored
    files.drain(node)
    fields = info(files, node)
    assert (fields["aof_rewrite_in_progress"], fields["aof_last_bgrewrite_status"]) == ("0", "ok")
    assert files.files[MANIFEST] == manifest


def test_appendonly_yes_replaces_a_rewrite_started_with_the_log_off():
    files = Files()
    node = files.start()
    files.hold = True
    files.call(node, "SET", "k", "v")
    assert files.call(node, "BGREWRITEAOF") == b"Background append only file rewriting started"
    (old,) = files.held
    assert files.call(node, "CONFIG", "SET", "appendonly", "yes") == b"OK"
    assert CancelJob(old.job) in files.effects
    files.hold = False
    files.call(node, "SET", "k", "w")  # logged to the temp incr while the new rewrite writes the base
    files.finish_held(node, 1)
    assert info(files, node)["aof_rewrite_in_progress"] == "0"
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)


def test_a_failed_rewrite_keeps_the_old_files_and_counts_the_failure():
    files = Files()
    node = files.start(appendonly="yes")
    files.call(node, "SET", "a", "1")
    before = dict(files.files)
    node.aof.start_rewrite()
    files.fail = True
    files.drain(node)
    files.fail = False
    fields = info(files, node)
    assert (fields["aof_last_bgrewrite_status"], fields["aof_rewrites_consecutive_failures"]) == ("err", "1")
    assert files.files[MANIFEST] == before[MANIFEST]
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)


def test_the_log_rewrites_itself_once_it_doubled_past_the_minimum_size():
    files = Files()
    node = files.start(appendonly="yes", auto_aof_rewrite_min_size="1024", auto_aof_rewrite_percentage="100")
    for i in range(30):
        files.call(node, "SET", "key", "x" * 40 + str(i))
    node.tick(node.now + 100)
    files.drain(node)
    assert info(files, node)["aof_rewrites"] == "1"
    assert int(info(files, node)["aof_current_size"]) < 1024


def logged(files: Files) -> list[str]:
    return [effect.text for effect in files.effects if type(effect) is LogMessage]


def failed_rewrite(files: Files, node) -> None:
    """A rewrite whose image cannot be written (the child died)."""
    files.fail = True
    node.aof.start_rewrite()
    files.drain(node)
    files.fail = False


def test_automatic_rewrites_wait_after_three_failures_in_a_row_and_manual_ones_do_not():
    files = Files()
    node = files.start(appendonly="yes", auto_aof_rewrite_min_size="1024", auto_aof_rewrite_percentage="1")
    for _ in range(3):
        failed_rewrite(files, node)
    files.call(node, "SET", "big", "x" * 2048)
    limit = "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minutes"
    for ms in (2_000, 30_000, 61_999):  # past the retry delay of a failed rewrite, the limit holds
        node.tick(NOW + ms)
        files.drain(node)
    assert logged(files).count(limit) == 1
    assert info(files, node)["aof_rewrite_in_progress"] == "0"
    assert info(files, node)["aof_rewrites_consecutive_failures"] == "3"
    node.tick(NOW + 62_000)  # the minute has passed: one more try, which works
    files.drain(node)
    assert "Starting automatic rewriting of AOF on" in logged(files)[-1]
    assert info(files, node)["aof_rewrites_consecutive_failures"] == "0"
    for _ in range(3):
        failed_rewrite(files, node)
    assert files.call(node, "BGREWRITEAOF") == b"Background append only file rewriting started"
    assert info(files, node)["aof_last_bgrewrite_status"] == "ok"


def test_a_failed_first_rewrite_after_appendonly_yes_removes_the_temp_incr():
    files = Files()
    node = files.start()
    files.call(node, "SET", "before", "1")
    files.fail = True
    assert files.call(node, "CONFIG", "SET", "appendonly", "yes") == b"OK"
    files.fail = False
    files.drain(node)
    assert "Removing the temp incr aof file temp-appendonly.aof.incr in the background" in logged(files)
    assert files.names() == []
    node.tick(NOW + 2000)  # the retry
    files.drain(node)
    files.call(node, "SET", "after", "2")
    assert files.names() == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)


def test_aof_disable_auto_gc_keeps_the_history_until_it_is_set_back_to_no():
    files = Files()
    node = files.start(appendonly="yes", aof_disable_auto_gc="yes")
    files.call(node, "SET", "a", "1")
    for _ in range(2):
        assert files.call(node, "BGREWRITEAOF") == b"Background append only file rewriting started"
    manifest = files.files[MANIFEST].decode()
    assert manifest.count(" type h\n") == 4 and files.names() == [
        "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.2.base.rdb",
        "appendonly.aof.2.incr.aof", "appendonly.aof.3.base.rdb", "appendonly.aof.3.incr.aof",
        "appendonly.aof.manifest"]
    assert dataset(Files(dict(files.files)).start(appendonly="yes", aof_disable_auto_gc="yes")) == dataset(node)
    assert files.call(node, "CONFIG", "SET", "aof-disable-auto-gc", "no") == b"OK"
    assert " type h\n" not in files.files[MANIFEST].decode()
    assert files.names() == ["appendonly.aof.3.base.rdb", "appendonly.aof.3.incr.aof", "appendonly.aof.manifest"]


# -- fsync ---------------------------------------------------------------------------------------


def test_everysec_asks_for_an_fsync_a_second_after_the_last_and_refuses_writes_when_it_fails():
    files = Files()
    node = files.start(appendonly="yes", appendfsync="everysec")
    files.call(node, "SET", "k", "1")
    assert not [e for e in files.effects if type(e) is Fsync]
    node.now += 1000
    files.fail = True
    node.tick(node.now)
    files.drain(node)
    files.fail = False
    assert [e.path for e in files.effects if type(e) is Fsync] == ["appendonlydir/appendonly.aof.1.incr.aof"]
    assert str(files.call(node, "SET", "k", "2")) == "MISCONF Errors writing to the AOF file: Input/output error"
    node.now += 1000
    node.tick(node.now)
    files.drain(node)
    assert files.call(node, "SET", "k", "3") == b"OK"


def test_appendfsync_always_asks_for_the_fsync_with_the_write():
    files = Files()
    node = files.start(appendonly="yes", appendfsync="always")
    files.call(node, "SET", "k", "1")
    assert [e.fsync for e in files.effects if type(e) is AppendLog] == [True]


def test_records_wait_for_a_log_job_until_one_takes_them():
    node = Files().start(appendonly="yes", appendfsync="always")
    node.take_effects()
    assert not node.log_records_waiting
    node.receive(1, encode_request("SET", "k", "1"), node.now)
    node.take_effects(False)  # the runtime gathers more first
    assert node.log_records_waiting and node.pending_log_bytes()
    [job] = [effect.job for effect in node.take_effects() if type(effect) is AppendLog]
    assert not node.log_records_waiting  # in flight
    node.receive(1, encode_request("SET", "k", "2"), node.now)
    assert node.log_records_waiting  # the next job's
    node.job_done(job, True, node.now)
    assert node.log_records_waiting


# -- turning the log on and off ----------------------------------------------------------------------


def test_config_set_appendonly_yes_writes_a_base_then_logs_into_the_manifest():
    files = Files()
    node = files.start()
    files.call(node, "SET", "before", "1")
    assert files.call(node, "CONFIG", "SET", "appendonly", "yes") == b"OK"
    files.call(node, "SET", "after", "2")
    assert files.names() == ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.manifest"]
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)
    assert files.call(node, "CONFIG", "SET", "appendonly", "no") == b"OK"
    files.call(node, "SET", "off", "3")
    assert b"off" not in files.files["appendonlydir/appendonly.aof.1.incr.aof"]


# -- property ------------------------------------------------------------------------------------

plan = st.lists(
    st.one_of(
        command.map(lambda argv: ("run", argv)),
        command.map(lambda argv: ("run", argv)),
        command.map(lambda argv: ("run", argv)),
        st.just(("rewrite", None)),
        st.just(("restart", None)),
        st.sampled_from([0, 999, 60_000]).map(lambda ms: ("wait", ms)),
    ),
    min_size=5,
    max_size=50,
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan, st.sampled_from(["yes", "no"]))
def test_restarting_from_the_log_after_any_rewrites_gives_the_same_dataset(steps, preamble):
    files = Files()
    options = {"appendonly": "yes", "aof_use_rdb_preamble": preamble}
    node = files.start(**options)
    for kind, arg in steps:
        if kind == "run":
            node.receive(1, encode_request(*arg), node.now)
            files.drain(node)
        elif kind == "rewrite":
            files.call(node, "BGREWRITEAOF")
        elif kind == "restart":
            now = node.now
            files = Files(files.files)
            node = files.start(**options)
            node.now = now
        else:
            node.now += arg
    restarted = Files(dict(files.files)).start(**options)
    restarted.now = node.now
    assert dataset(restarted) == dataset(node)


def test_an_old_single_file_log_is_loaded_and_moved_into_the_directory():
    old = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
    files = Files({"appendonly.aof": old})
    node = files.start(appendonly="yes")
    assert files.call(node, "GET", "k") == b"v"
    assert "appendonly.aof" not in files.files
    assert files.files["appendonlydir/appendonly.aof"] == old
    assert files.files[MANIFEST] == b"file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    files.call(node, "SET", "k2", "v2")
    restarted = Files(dict(files.files)).start(appendonly="yes")
    assert dataset(restarted) == dataset(node)


def test_an_old_single_file_log_stays_put_with_the_log_off():
    files = Files({"appendonly.aof": b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"})
    node = files.start()
    assert files.call(node, "GET", "k") is None and "appendonly.aof" in files.files


def test_debug_loadaof_replaces_the_dataset_by_what_the_log_holds():
    files = Files()
    node = files.start(appendonly="yes", enable_debug_command="yes")
    files.call(node, "SET", "k", "v")
    files.call(node, "BGREWRITEAOF")
    files.call(node, "RPUSH", "l", "a")
    node.dbs[0].data[b"unlogged"] = b"x"  # in memory only, as if the log had never seen it
    assert files.call(node, "DEBUG", "LOADAOF") == b"OK"
    assert files.call(node, "KEYS", "*") in ([b"k", b"l"], [b"l", b"k"])
    assert files.call(node, "LRANGE", "l", "0", "-1") == [b"a"]


def test_debug_loadaof_of_a_log_that_no_longer_loads_stops_the_server():
    files = Files()
    node = files.start(appendonly="yes", enable_debug_command="yes")
    files.call(node, "SET", "k", "v")
    files.files["appendonlydir/appendonly.aof.1.incr.aof"] += b"*2\r\n$3\r\nFOO\r\n$1\r\nx\r\n"
    assert files.call(node, "DEBUG", "LOADAOF") is False
    assert node.halted and Shutdown(1) in files.effects


def test_aof_timestamp_enabled_annotates_the_first_record_of_each_second():
    files = Files()
    node = files.start(appendonly="yes", aof_timestamp_enabled="yes")
    files.call(node, "SET", "a", "1")
    files.call(node, "SET", "b", "2")
    node.now += 1000
    files.call(node, "SET", "c", "3")
    log = files.files["appendonlydir/appendonly.aof.1.incr.aof"]
    first, second = b"#TS:%d\r\n" % (NOW // 1000), b"#TS:%d\r\n" % (NOW // 1000 + 1)
    assert log.startswith(first + b"*2\r\n$6\r\nSELECT") and log.count(b"#TS:") == 2
    assert log.index(second) < log.index(b"$1\r\nc\r\n")
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)


def test_a_first_rewrite_whose_manifest_fails_leaves_the_log_still_turning_on():
    """The image is written but the manifest naming it (and the incr after it) is not: the log is
    not on yet, as Redis keeps AOF_WAIT_REWRITE; a clean stop is refused until a retry succeeds,
    rather than leaving records in an incr the manifest on disk does not list."""
    files = Files()
    node = files.start()
    files.call(node, "SET", "before", "1")
    files.hold = True
    assert files.call(node, "CONFIG", "SET", "appendonly", "yes") == b"OK"
    files.hold, files.fail = False, True
    files.finish_held(node, 0)  # the image is durable; the manifest that installs it fails
    files.fail = False
    files.call(node, "SET", "after", "2")
    assert str(files.call(node, "SHUTDOWN")) == "ERR Errors trying to SHUTDOWN. Check logs."
    assert "Writing initial AOF, can't exit." in logged(files)
    node.tick(NOW + 2000)  # the retry
    files.drain(node)
    files.call(node, "SET", "later", "3")
    assert info(files, node)["aof_last_bgrewrite_status"] == "ok"
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)
