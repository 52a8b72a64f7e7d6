"""The real-process harness: kvserver processes, proxies, real faults, the simulator's checkers."""

import asyncio

from click.testing import CliRunner

from jepsen_like.harness import RealConfig, run
from jepsen_like.proxy import Proxy
from sim.cli import main

ALWAYS = (("appendonly", "yes"), ("appendfsync", "always"))


def test_appendfsync_always_keeps_the_register_linearizable_through_every_fault():
    result = run(RealConfig(workload="register", duration_s=5, faults=("kill", "pause", "partition", "lag"),
                            config=ALWAYS, seed=1))
    assert sum(result.faults.values()) >= 2 and result.ops["ok"] > 50
    assert result.valid is True, {name: verdict.reason for name, verdict in result.verdicts.items()}


def test_a_kill_without_persistence_loses_acknowledged_writes_and_the_checkers_say_so():
    result = run(RealConfig(workload="register", duration_s=5, faults=("kill",), seed=2))
    assert result.faults["kill"] >= 1
    assert result.valid is False and "durability" in result.failed_checkers


def test_kvsim_real_prints_the_verdicts_and_writes_a_history_kvsim_check_reads(tmp_path):
    out = tmp_path / "run"
    done = CliRunner().invoke(main, ["real", "--workload", "reference", "--duration", "3s", "--clients", "3",
                                     "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "reference" in done.output and "valid" in done.output
    checked = CliRunner().invoke(main, ["check", "--model", "reference", str(out / "history.jsonl")])
    assert checked.exit_code == 0, checked.output


def test_kvsim_real_refuses_faults_only_the_simulator_has():
    done = CliRunner().invoke(main, ["real", "--faults", "power"])
    assert done.exit_code == 2 and "kill, pause, partition, lag" in done.output


def test_a_process_that_will_not_start_is_reported_with_what_it_said():
    done = CliRunner().invoke(main, ["real", "--duration", "1s", "--config", "maxclients=many"])
    assert done.exit_code == 3 and "FATAL CONFIG FILE ERROR" in done.output


def test_a_cut_proxy_holds_bytes_until_healed_and_lag_delays_them():
    async def scenario():
        received = asyncio.Queue()

        async def echo(reader, writer):
            while data := await reader.read(100):
                await received.put(data)
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        proxy = Proxy(server.sockets[0].getsockname()[1])
        await proxy.start()
        _, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"one")
        assert await asyncio.wait_for(received.get(), 5) == b"one"
        proxy.cut()
        writer.write(b"two")
        await asyncio.sleep(0.3)
        assert received.empty()  # held, not lost
        proxy.lag(0.2)
        proxy.heal()
        started = asyncio.get_running_loop().time()
        assert await asyncio.wait_for(received.get(), 5) == b"two"
        assert asyncio.get_running_loop().time() - started >= 0.15
        writer.close()
        await proxy.stop()
        server.close()

    asyncio.run(scenario())
