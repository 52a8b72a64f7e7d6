"""``kvserver``: the command line, start-up and exit of the production server.

Usage is redis-server's: ``kvserver [/path/to/redis.conf] [--name value...]``.
A bad option stops the start with Redis's "FATAL CONFIG FILE ERROR" report
and exit code 1.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys

from kvcore.config import Config
from kvcore.node import ServerInfo
from net import proctitle
from net.conffile import VERSION, FatalConfigError, overrides_from, parse_command_line, renames_from, users_from
from net.listen import open_listeners
from net.log import NOTICE, Log
from net.persistence import load_acl_at_start, load_at_start, load_cluster_at_start
from net.server import Server, now_ms

USAGE = """Usage: kvserver [/path/to/redis.conf] [options] [-]
       kvserver - (read config from stdin)
       kvserver -v or --version
       kvserver -h or --help

Examples:
       kvserver (run the server with default conf)
       kvserver /etc/redis/6379.conf
       kvserver --port 7777
       kvserver /etc/myredis.conf --loglevel verbose -
"""


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(argv: list[str]) -> int:
    """Start a server with these arguments; return its exit code."""
    if argv[:1] == ["--check-aof"]:
        from net import check_aof

        return check_aof.run(argv[1:])
    try:
        options = parse_command_line(argv)
        if options.action == "version":
            print(f"kvserver v={VERSION} sha=00000000:0 malloc=pymalloc bits=64 build=0")
            return 0
        if options.action == "help":
            print(USAGE, end="")
            return 0
        overrides = overrides_from(options.lines or [])
        users = users_from(options.lines or [])
    except FatalConfigError as exc:
        sys.stderr.write(exc.report())
        return 1
    config = Config(overrides, renames_from(options.lines or []), users)
    executable = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else sys.executable
    config_file = os.path.abspath(options.config_file) if options.config_file else ""
    try:
        os.chdir(config["dir"])
        config.values["dir"] = os.getcwd()  # CONFIG GET dir is absolute, as Redis's getcwd()
    except OSError as exc:
        sys.stderr.write(f"Can't chdir to '{config['dir']}': {exc.strerror}\n")
        return 1
    try:
        log = Log(config["loglevel"], config["logfile"])
    except OSError as exc:
        sys.stderr.write(f"Can't open the log file: {exc.strerror}\n")
        return 1
    try:
        return _serve(config, log, executable, config_file)
    finally:
        log.close()


def banner(port: int, pid: int, mode: str = "standalone") -> str:
    """The start banner shown where redis-server shows its logo (``always-show-logo``, or a
    terminal); test harnesses find the server's pid in its ``PID:`` line."""
    return (f"\n    kvserver {VERSION} (Redis-compatible, kvsim) 64 bit\n"
            f"    Running in {mode} mode\n    Port: {port}\n    PID: {pid}\n\n")


def _serve(config: Config, log: Log, executable: str, config_file: str) -> int:
    pid = os.getpid()
    log.warning("oO0OoO0OoO0Oo kvserver is starting oO0OoO0OoO0Oo")
    log.warning(f"kvserver version={VERSION}, bits=64, commit=00000000, modified=0, pid={pid}, just started")
    if config_file:
        log.warning("Configuration loaded")
    else:
        log.warning("Warning: no config file specified, using the default config. "
                    "In order to specify a config file use kvserver /path/to/redis.conf")
    if config["daemonize"]:
        log.warning("daemonize is not supported by kvserver; running in the foreground")
    seed = config["seed"] or int.from_bytes(os.urandom(8), "big")
    info = ServerInfo(pid, executable, config_file, config["port"])
    uname = os.uname()
    info.os_name = f"{uname.sysname} {uname.release} {uname.machine}"
    info.arch_bits = 64 if sys.maxsize > 2**32 else 32
    info.total_memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    log.role = "S" if config["replicaof"] and config["replicaof"].lower() != "no one" else "M"
    early_signals: list[int] = []  # a client may signal once the port is bound: kept for the loop
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda number, _: early_signals.append(number))
    sockets = open_listeners(config["port"], config["bind"], config["unixsocket"], config["tcp-backlog"], log)
    if sockets is None:
        return 1
    bus_sockets: list = []
    if config["cluster-enabled"]:  # the cluster bus: cluster-port, else the port + 10000
        bus_port = config["cluster-port"] or config["port"] + 10000
        bus_sockets = open_listeners(bus_port, config["bind"], "", config["tcp-backlog"], log)
        if bus_sockets is None:
            return 1
    pidfile = config["pidfile"]
    if pidfile:  # once the port is bound, before the load, as redis-server's createPidFile
        _write_pidfile(pidfile, pid, log)
    proctitle.update(config, config_file)
    server = Server(config, log, info, random.Random(seed))
    loop_name, loop_factory = _event_loop()
    mode = "cluster" if config["cluster-enabled"] else "standalone"
    if config["always-show-logo"] or (not config["logfile"] and sys.stdout.isatty()):
        log.raw(NOTICE, banner(config["port"], pid, mode))
    else:
        log.notice(f"Running mode={mode}, port={config['port']}.")
    log.verbose(f"Event loop: {loop_name}, seed={seed}")
    log.warning("Server initialized")
    try:
        if not load_acl_at_start(server.node, log) or not load_cluster_at_start(server.node, log) \
                or not load_at_start(server.node, log, now_ms()):
            return 1
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            return runner.run(server.serve(sockets, early_signals, bus_sockets))
    finally:
        if pidfile:
            _remove_quietly(pidfile)


def _event_loop():
    try:
        import uvloop
    except ImportError:
        return "asyncio", None
    return "uvloop", uvloop.new_event_loop


def _write_pidfile(path: str, pid: int, log: Log) -> None:
    try:
        with open(path, "w") as handle:
            handle.write(f"{pid}\n")
    except OSError as exc:
        log.warning(f"Failed to write PID file: {exc.strerror}")


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


if __name__ == "__main__":
    main()
