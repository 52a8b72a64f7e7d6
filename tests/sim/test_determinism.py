"""Same seed and arguments, same trace hash: in other processes, whatever PYTHONHASHSEED says."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from sim.faults import KINDS
from sim.workloads import WORKLOADS
from sim.world import RunConfig, run

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [
    RunConfig(seed=seed, workload=workload, clients=3, duration_ms=4000, faults=faults,
              **({"nodes": 2, "cluster": True} if faults == ("reshard",) else {}))  # a cluster's fault only
    for seed, workload in enumerate(WORKLOADS, start=1)
    for faults in [(kind,) for kind in KINDS] + [("swarm",)]
] + [RunConfig(seed=seed, nodes=2, replicas=1, clients=3, duration_ms=4000, faults=("swarm",), cluster=cluster)
     for seed in (1, 2) for cluster in (False, True)]
SCRIPT = """
import json, sys
from sim.world import RunConfig, run
configs = [RunConfig.from_json(obj) for obj in json.load(sys.stdin)]
print(json.dumps([run(config).trace_hash for config in configs]))
"""


def _hashes_in_subprocess(hash_seed: str) -> list[str]:
    env = dict(os.environ, PYTHONHASHSEED=hash_seed)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], input=json.dumps([config.to_json() for config in CONFIGS]),
        capture_output=True, text=True, cwd=ROOT, env=env, check=True, timeout=300,
    )
    return json.loads(done.stdout)


def test_every_workload_and_fault_hashes_the_same_in_two_processes():
    first = _hashes_in_subprocess("1")
    second = _hashes_in_subprocess("4242")
    assert first == second
    single_kinds = [digest for config, digest in zip(CONFIGS, first) if config.faults != ("swarm",)]
    assert len(set(single_kinds)) == len(single_kinds)  # and the runs differ from each other
    assert run(CONFIGS[0]).trace_hash == first[0]  # and from this process


def test_a_different_seed_gives_a_different_run():
    config = RunConfig(seed=1, clients=2, duration_ms=2000, faults=("partition",))
    assert run(config).trace_hash != run(dataclasses.replace(config, seed=2)).trace_hash


def test_adding_a_client_does_not_move_the_faults():
    config = RunConfig(seed=3, clients=2, duration_ms=5000, faults=("kill", "pause"))
    fewer = run(config).fault_events
    more = run(dataclasses.replace(config, clients=3)).fault_events
    assert fewer == more
