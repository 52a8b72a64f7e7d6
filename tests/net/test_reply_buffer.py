"""A client's reply buffer size (CLIENT LIST rbs) through idle spells and big replies, on
kvserver as on redis-server (Redis's replybufsize.tcl, step by step)."""

from __future__ import annotations

import re
import time

import redis

from tests.servers import measured_on_both


def _rbs(observer: redis.Redis) -> int:
    line = next(line for line in observer.execute_command("CLIENT", "LIST").decode().splitlines()
                if " name=tc " in line)
    return int(re.search(r" rbs=(\d+)", line).group(1))


def _sizes(port: int) -> list[int]:
    observer = redis.Redis(port=port)
    client = redis.Redis(port=port, single_connection_client=True)
    client.client_setname("tc")
    observer.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100")
    observer.set("big", "x" * 32768)
    time.sleep(0.6)
    sizes = [_rbs(observer)]  # idle: shrunk
    observer.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "never")
    for _ in range(5):
        client.get("big")
        time.sleep(0.25)  # two cron visits or more
        sizes.append(_rbs(observer))
    observer.execute_command("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "reset")
    return sizes


def test_reply_buffer_sizes_as_redis_server():
    theirs, ours = measured_on_both(_sizes)
    assert ours == theirs
    assert theirs[0] < 2048 and theirs[-1] == 16384
