"""kvcore is pure: no I/O, clock, thread or global-random imports, and it is deterministic."""

from __future__ import annotations

import ast
import hashlib
import os
import pathlib
import subprocess
import sys

import kvcore

FORBIDDEN = {"socket", "asyncio", "time", "random", "threading", "os", "subprocess", "selectors", "signal", "datetime"}
KVCORE = pathlib.Path(kvcore.__file__).parent


def imported_modules(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_kvcore_imports_nothing_impure():
    offenders = {
        str(path.relative_to(KVCORE)): sorted(imported_modules(path) & FORBIDDEN)
        for path in KVCORE.rglob("*.py")
        if imported_modules(path) & FORBIDDEN
    }
    assert offenders == {}


def test_the_purity_check_catches_an_impure_module(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom os import path\n")
    assert imported_modules(bad) & FORBIDDEN == {"time", "os"}


# A workload touching many commands; its effects are hashed in a child process.
SCRIPT = r"""
import hashlib, random, sys
from kvcore.config import Config
from kvcore.node import Node
node = Node(Config(), rng=random.Random(7), now=1000)
for conn in (1, 2):
    node.open(conn, 1000, addr="127.0.0.1:%d" % conn, laddr="127.0.0.1:6379")
digest = hashlib.sha256()
requests = []
for i in range(300):
    key = b"k%d" % (i % 17)
    requests += [b"SET " + key + b" v%d" % i, b"INCR n%d" % (i % 5), b"APPEND " + key + b" x",
                 b"SET e%d 1 PX %d" % (i % 9, 5 + i % 50), b"GET " + key]
    for name in (b"RANDOMKEY", b"KEYS *", b"SCAN 0 COUNT 7", b"SPOP s", b"SADD s a b c d %d" % i,
                 b"SMEMBERS s", b"HSET h f%d %d" % (i % 7, i), b"HGETALL h", b"SRANDMEMBER s -5",
                 b"EVAL \"return {math.random(100), cjson.encode({a = 1, b = {1, 2}}), redis.call('spop', 's')}\" 0",
                 b"GEOADD g %d.5 %d.25 m%d" % (i % 90, i % 40, i), b"GEORADIUS g 10 10 3000 km"):
        requests.append(name)
for i, request in enumerate(requests):
    now = 1000 + i * 3
    node.receive(1 + i % 2, request + b"\r\n", now)
    if i % 50 == 0:
        node.tick(now)
    for effect in node.take_effects():
        digest.update(repr(effect).encode())
sys.stdout.write(digest.hexdigest())
"""


def run_with_hash_seed(seed: str) -> str:
    env = dict(os.environ, PYTHONHASHSEED=seed)
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True)
    return result.stdout


def test_same_inputs_give_identical_effects_across_hash_seeds():
    digests = {run_with_hash_seed(seed) for seed in ("0", "1", "12345")}
    assert len(digests) == 1


def test_the_determinism_check_can_tell_runs_apart():
    assert hashlib.sha256(b"a").hexdigest() != run_with_hash_seed("0")



IMPORT_EACH = r"""
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [module for module in sys.modules if module == "kvcore" or module.startswith("kvcore.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed.append(f"{name}: {exc}")
print("\n".join(failed))
"""


def test_every_module_imports_on_its_own():
    """A runtime may import any kvcore module first (sim.node starts with the cluster bus's)."""
    modules = sorted(f"kvcore.{path.stem}" for path in KVCORE.glob("*.py") if path.name != "__init__.py")
    result = subprocess.run([sys.executable, "-c", IMPORT_EACH, *modules], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
