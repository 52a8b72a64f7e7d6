"""Point-in-time images of background jobs (Node.image_pending / image_taken).

A background snapshot or rewrite hands its runtime a function that makes the
image; the runtime calls it when it carries out the effect (net forks) and
then reports `image_taken`. These tests play a runtime that waits before
taking the image, as a fork happens only once the node has handed out its
effects, and check that nothing between the command and the image reaches
it: not the rest of the pipeline, not another client, not the cron's expiry.
"""

from __future__ import annotations

import random

import hiredis

from kvcore import rdb
from kvcore.config import Config
from kvcore.effects import LogMessage, Send, WriteFiles
from kvcore.node import Node
from tests.kvcore.harness import encode_request
from tests.kvcore.test_aof import dataset
from tests.kvcore.test_appendonly import Files

NOW = 1_700_000_000_000


def pipeline(*requests: tuple) -> bytes:
    return b"".join(encode_request(*request) for request in requests)


class SlowRuntime:
    """Hands out effects and takes a background job's image only when told to."""

    def __init__(self, **options: str) -> None:
        self.node = Node(Config(options), rng=random.Random(0), now=NOW)
        self.readers: dict[int, hiredis.Reader] = {}
        self.jobs: list[WriteFiles] = []

    def connect(self, conn: int) -> None:
        self.node.open(conn, self.node.now)
        self.readers[conn] = hiredis.Reader()

    def drain(self) -> None:
        for effect in self.node.take_effects():
            if type(effect) is Send:
                self.readers[effect.conn].feed(effect.data)
            elif type(effect) is WriteFiles and effect.background:
                self.jobs.append(effect)

    def replies(self, conn: int) -> list:
        found = []
        while (reply := self.readers[conn].gets()) is not False:
            found.append(reply)
        return found

    def take_image(self) -> bytes:
        image = self.jobs[-1].data()
        self.node.image_taken(self.node.now)
        self.drain()
        return image


def read_all(files: Files) -> list:
    """The replies to a pipeline sent on the connection `Files.call` uses."""
    reader, found = files.replies[1], []
    while (reply := reader.gets()) is not False:
        found.append(reply)
    return found


def saved(image: bytes) -> dict:
    node = Node(Config(), rng=random.Random(0), now=NOW)
    rdb.load(node, image)
    return {key: value for key, value in node.dbs[0].data.items()}


def test_the_rest_of_a_pipeline_waits_for_the_image_then_runs():
    runtime = SlowRuntime(save="")
    runtime.connect(1)
    runtime.node.receive(1, pipeline(("SET", "k", "old"), ("BGSAVE",), ("SET", "k", "new"), ("GET", "k")), NOW)
    runtime.drain()
    assert runtime.replies(1) == [b"OK", b"Background saving started"]
    assert saved(runtime.take_image()) == {b"k": b"old"}
    assert runtime.replies(1) == [b"OK", b"new"]


def test_other_clients_and_the_cron_wait_in_order():
    runtime = SlowRuntime(save="")
    node = runtime.node
    runtime.connect(1)
    node.receive(1, pipeline(("SET", "gone", "x", "PX", "10"), ("BGSAVE",)), NOW)
    runtime.drain()
    runtime.connect(2)
    node.receive(2, pipeline(("SET", "k", "v"),), NOW + 1)
    node.tick(NOW + 1000)  # would expire "gone"
    node.receive(1, pipeline(("DBSIZE",),), NOW + 1001)
    runtime.drain()
    assert runtime.replies(1) == [b"OK", b"Background saving started"]
    assert saved(runtime.take_image()) == {b"gone": b"x"}
    assert runtime.replies(2) == [b"OK"]
    assert runtime.replies(1) == [1]  # after the tick: "gone" expired, "k" set


def test_a_second_image_in_the_replayed_input_freezes_again():
    runtime = SlowRuntime(save="")
    node = runtime.node
    runtime.connect(1)
    node.receive(1, pipeline(("SET", "k", "1"), ("BGREWRITEAOF",)), NOW)
    runtime.drain()
    node.receive(1, pipeline(("SET", "k", "2"), ("BGSAVE", "SCHEDULE"), ("SET", "k", "3")), NOW + 1)
    runtime.drain()
    runtime.take_image()  # the rewrite's: the replayed input sets k, schedules a save, sets k
    assert runtime.replies(1) == [b"OK", b"Background append only file rewriting started",
                                  b"OK", b"Background saving scheduled", b"OK"]


def test_config_set_appendonly_inside_exec_waits_for_the_cron():
    """The rest of EXEC would reach the image and the new log both: the rewrite starts from the cron."""
    files = Files()
    node = files.start()
    files.call(node, "SET", "n", "1")
    node.receive(1, pipeline(("MULTI",), ("CONFIG", "SET", "appendonly", "yes"), ("INCR", "n"), ("EXEC",)), NOW)
    files.drain(node)
    assert read_all(files)[-1] == [b"OK", 2]
    assert not [effect for effect in files.effects if type(effect) is WriteFiles and effect.background]
    assert LogMessage("warning", "AOF was enabled during a transaction. An AOF background was scheduled to start "
                                 "when possible.") in files.effects  # Redis's words (multi.tcl waits for them)
    node.tick(NOW + 1000)
    files.drain(node)
    assert files.call(node, "INCR", "n") == 3
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)


def test_a_rewrite_in_the_middle_of_a_pipeline_logs_each_write_once():
    """INCRs after BGREWRITEAOF go to the new incr only: a reload counts each once."""
    files = Files()
    node = files.start(appendonly="yes")
    requests = [("INCR", "n")] * 5 + [("BGREWRITEAOF",)] + [("INCR", "n")] * 5
    node.receive(1, pipeline(*requests), NOW)
    files.drain(node)
    assert read_all(files)[-1] == 10
    assert files.call(node, "GET", "n") == b"10"
    assert dataset(Files(dict(files.files)).start(appendonly="yes")) == dataset(node)
