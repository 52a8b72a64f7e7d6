"""Server options: their table, parsing, and the values in force.

The same parser serves redis.conf lines, ``--name value`` arguments and
``CONFIG SET``, so an option accepts the same spellings everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from kvcore.glob import glob_match

_UNITS = {"k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2, "g": 1000**3, "gb": 1024**3}


class ConfigError(ValueError):
    """An option value that cannot be parsed; the text says why, as Redis does."""


def parse_memory(text: str) -> int:
    lower = text.lower()
    for unit in sorted(_UNITS, key=len, reverse=True):
        if lower.endswith(unit):
            number = lower[: -len(unit)]
            if number.isdigit():
                return int(number) * _UNITS[unit]
            raise ConfigError("argument must be a memory value")
    if lower.isdigit():
        return int(lower)
    raise ConfigError("argument must be a memory value")


def _parse_percent(text: str) -> int | None:
    """``N%`` as Redis's string2ll reads N (no sign, no leading zero), stored negated as Redis
    stores percentages; None when the text is not one."""
    if len(text) > 1 and text.endswith("%") and _STRICT_NATURAL.fullmatch(text[:-1]):
        return -int(text[:-1])
    return None


_STRICT_NATURAL = re.compile(r"0|[1-9][0-9]{0,18}")


def _parse_percentiles(text: str) -> str:
    """latency-tracking-info-percentiles: numbers from 0 to 100, kept as CONFIG GET shows them (%g)."""
    try:
        values = [float(word) for word in text.split()]
    except ValueError:
        values = [-1.0]
    if any(not 0.0 <= value <= 100.0 for value in values):
        raise ConfigError("Invalid latency-tracking-info-percentiles parameters")
    return " ".join(f"{value:g}" for value in values)


def _parse_oom_values(text: str) -> str:
    """oom-score-adj-values: three scores (master, replica, background child), each -2000..2000."""
    words = text.split()
    if len(words) != 3:
        raise ConfigError("wrong number of arguments")
    try:
        values = [int(word) for word in words]
    except ValueError:
        values = [-2001]
    if any(not -2000 <= value <= 2000 for value in values):
        raise ConfigError("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
    return " ".join(map(str, values))


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError("argument couldn't be parsed into an integer") from None


def _parse_bool(text: str) -> bool:
    lower = text.lower()
    if lower in ("yes", "no"):
        return lower == "yes"
    raise ConfigError("argument must be 'yes' or 'no'")


def _parse_save(text: str) -> str:
    """``save``'s pairs of seconds (>= 1) and changes (>= 0), as setConfigSaveOption checks them
    (words split on single spaces: two in a row make an empty, invalid word)."""
    words = text.split(" ") if text else []
    if len(words) % 2 or not all(_DECIMAL.fullmatch(word) for word in words):
        raise ConfigError("Invalid save parameters")
    numbers = [int(word) for word in words]
    if any(number < (1 if index % 2 == 0 else 0) for index, number in enumerate(numbers)):
        raise ConfigError("Invalid save parameters")
    return " ".join(map(str, numbers))


_DECIMAL = re.compile(r"[+-]?[0-9]+")


TITLE_VARIABLES = ("title", "listen-addr", "server-mode", "port", "tls-port", "unixsocket", "config-file")


def expand_title(template: str, variables: dict[str, str]) -> str | None:
    """proc-title-template with its {variables} filled in (``{{`` and ``}}`` are braces), trimmed
    of spaces, as Redis's sdstemplate; None for a malformed template or an unknown variable."""
    out = []
    i = 0
    while i < len(template):
        char = template[i]
        if char in "{}" and template[i + 1 : i + 2] == char:
            out.append(char)
            i += 2
        elif char == "}":
            return None
        elif char == "{":
            end = template.find("}", i)
            value = variables.get(template[i + 1 : end]) if end > 0 else None
            if value is None:
                return None
            out.append(value)
            i = end + 1
        else:
            out.append(char)
            i += 1
    return "".join(out).strip(" ")


@dataclass(frozen=True)
class Option:
    name: str
    default: str
    kind: str  # int, memory, bool, string, enum, flags, events, save, percentiles, obuf, hostname
    mutable: bool = True
    choices: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None
    alias: str | None = None
    clamp: tuple[int, int] | None = None  # accepted, then held within these bounds (hz)
    hidden: bool = False  # a debugging option: CONFIG GET finds it by its exact name only, as Redis
    protected: bool = False  # CONFIG SET only under enable-protected-configs (yes, or local for local clients)
    percent: bool = False  # a memory option that also takes ``N%`` (N <= -low), held as -N

    def parse(self, text: str):
        if self.kind == "int":
            value = _parse_int(text)
        elif self.kind == "memory" and self.percent:
            value = self._parse_memory_or_percent(text)
        elif self.kind == "memory":
            value = parse_memory(text)
        elif self.kind == "flags":
            return self._parse_flags(text)
        elif self.kind == "bool":
            return _parse_bool(text)
        elif self.kind == "events":
            from kvcore.notifications import normalise

            try:
                return normalise(text)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        elif self.kind == "save":
            return _parse_save(text)
        elif self.kind == "percentiles":
            return _parse_percentiles(text)
        elif self.kind == "oom":
            return _parse_oom_values(text)
        elif self.kind == "obuf":
            from kvcore import output_limits

            output_limits.parse(text)  # checked here; `Config` merges it with the classes it leaves out
            return text
        elif self.kind == "title":
            if expand_title(text, dict.fromkeys(TITLE_VARIABLES, "")) is None:
                raise ConfigError("template format is invalid or contains unknown variables")
            return text
        elif self.kind == "hostname":  # isValidAuxString, as cluster-announce-hostname checks it
            if len(text) >= 256:
                raise ConfigError("Hostnames must be less than 256 characters")
            if any(not (char.isascii() and (char.isalnum() or char in "-.")) for char in text):
                raise ConfigError("Hostnames may only contain alphanumeric characters, hyphens or dots")
            return text
        elif self.kind == "enum":
            lower = text.lower()
            if lower not in self.choices:
                raise ConfigError("argument(s) must be one of the following: " + ", ".join(self.choices))
            return lower
        else:
            return text
        low = LLONG_MIN if self.low is None else self.low
        high = LLONG_MAX if self.high is None else self.high
        if value < low or value > high:
            raise ConfigError(f"argument must be between {low} and {high} inclusive")
        if self.clamp is not None:
            value = min(max(value, self.clamp[0]), self.clamp[1])
        return value

    def _parse_memory_or_percent(self, text: str) -> int:
        """numericParseString for a MEMORY|PERCENT config: a memory value, else ``N%``."""
        try:
            return parse_memory(text)
        except ConfigError:
            pass
        value = _parse_percent(text)
        if value is None:
            raise ConfigError("argument must be a memory or percent value")
        if value < (self.low or 0):
            raise ConfigError(f"percentage argument must be less or equal to {-(self.low or 0)}")
        return value

    def _parse_flags(self, text: str) -> str:
        """A multi-argument enum (shutdown-on-sigint): several words OR'ed together; the value
        is kept in the form CONFIG GET shows, the names in the table's order (a choice's bit
        is 1 << its index - 1, the first choice being 0)."""
        words = text.split(" ")
        bits = 0
        for word in words:
            lower = word.lower()
            if lower not in self.choices:
                raise ConfigError("argument(s) must be one of the following: " + ", ".join(self.choices))
            index = self.choices.index(lower)
            bits |= 1 << index - 1 if index else 0
        if bits & 0b11 == 0b11:  # shutdown_on_sig's save and nosave, as isValidShutdownOnSigFlags
            raise ConfigError("shutdown options SAVE and NOSAVE can't be used simultaneously")
        if not bits:
            return self.choices[0]
        return " ".join(name for index, name in enumerate(self.choices) if index and bits & 1 << index - 1)

    def format(self, value) -> str:
        if self.kind == "bool":
            return "yes" if value else "no"
        if self.percent and value < 0:
            return f"{-value}%"
        return str(value)


PROTECTED_ACTION = ("no", "yes", "local")
INT_MAX = 2**31 - 1
LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)

OPTIONS = [
    Option("port", "6379", "int", low=0, high=65535),
    Option("bind", "* -::*", "string"),
    Option("unixsocket", "", "string", mutable=False),
    Option("dir", ".", "string", protected=True),
    Option("dbfilename", "dump.rdb", "string", protected=True),
    Option("databases", "16", "int", mutable=False, low=1, high=INT_MAX),
    Option("hz", "10", "int", low=0, high=INT_MAX, clamp=(1, 500)),
    Option("loglevel", "notice", "enum", choices=("debug", "verbose", "notice", "warning")),
    Option("logfile", "", "string", mutable=False),
    Option("maxclients", "10000", "int", low=1, high=INT_MAX),
    Option("timeout", "0", "int", low=0, high=INT_MAX),
    Option("tcp-keepalive", "300", "int", low=0, high=INT_MAX),
    Option("tcp-backlog", "511", "int", mutable=False, low=0, high=INT_MAX),
    Option("protected-mode", "yes", "bool"),
    Option("daemonize", "no", "bool", mutable=False),
    Option("pidfile", "", "string", mutable=False),
    Option("requirepass", "", "string"),
    Option("aclfile", "", "string", mutable=False),
    Option("acllog-max-len", "128", "int", low=0, high=LLONG_MAX),
    Option("acl-pubsub-default", "resetchannels", "enum", choices=("allchannels", "resetchannels")),
    Option("maxmemory", "0", "memory", low=0, high=LLONG_MAX),
    Option("maxmemory-policy", "noeviction", "enum", choices=(
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl",
        "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")),
    Option("maxmemory-samples", "5", "int", low=1, high=INT_MAX),
    Option("proto-max-bulk-len", "536870912", "memory", low=1024 * 1024, high=LLONG_MAX),
    Option("client-query-buffer-limit", "1073741824", "memory", low=1024 * 1024, high=LLONG_MAX),
    Option("save", "3600 1 300 100 60 10000", "save"),
    Option("appendonly", "no", "bool"),
    Option("appendfilename", "appendonly.aof", "string", mutable=False),
    Option("appenddirname", "appendonlydir", "string", mutable=False),
    Option("appendfsync", "everysec", "enum", choices=("everysec", "always", "no")),
    Option("no-appendfsync-on-rewrite", "no", "bool"),
    Option("auto-aof-rewrite-percentage", "100", "int", low=0, high=INT_MAX),
    Option("auto-aof-rewrite-min-size", "67108864", "memory", low=0, high=LLONG_MAX),
    Option("aof-load-truncated", "yes", "bool"),
    Option("aof-use-rdb-preamble", "yes", "bool"),
    Option("aof-timestamp-enabled", "no", "bool"),
    Option("rdbcompression", "yes", "bool"),
    Option("rdbchecksum", "yes", "bool", mutable=False),
    # Microseconds a background save or rewrite child sleeps per key (Redis's test suite keeps
    # children alive with it); negative: 1 us with probability 1/-n, as Redis's debugDelay.
    Option("rdb-key-save-delay", "0", "int", low=-(2**31), high=INT_MAX, hidden=True),
    # Redis 7.0's other hidden (debugging) options, stored only.
    Option("key-load-delay", "0", "int", low=-(2**31), high=INT_MAX, hidden=True),
    Option("loading-process-events-interval-bytes", "2097152", "int", low=1024, high=INT_MAX, hidden=True),
    Option("watchdog-period", "0", "int", low=0, high=INT_MAX, hidden=True),
    Option("use-exit-on-panic", "no", "bool", hidden=True),
    Option("lua-enable-deprecated-api", "no", "bool", mutable=False, hidden=True),
    Option("stop-writes-on-bgsave-error", "yes", "bool"),
    Option("slowlog-log-slower-than", "10000", "int", low=-1, high=LLONG_MAX),
    Option("slowlog-max-len", "128", "int", low=0, high=LLONG_MAX),
    Option("latency-monitor-threshold", "0", "int", low=0, high=LLONG_MAX),
    Option("notify-keyspace-events", "", "events"),
    Option("busy-reply-threshold", "5000", "int", low=0, high=LLONG_MAX, alias="lua-time-limit"),
    Option("replicaof", "", "string", mutable=False, alias="slaveof"),
    Option("replica-read-only", "yes", "bool", alias="slave-read-only"),
    Option("replica-serve-stale-data", "yes", "bool", alias="slave-serve-stale-data"),
    Option("repl-backlog-size", "1048576", "memory", low=1, high=LLONG_MAX),
    Option("repl-timeout", "60", "int", low=1, high=INT_MAX),
    Option("min-replicas-to-write", "0", "int", low=0, high=INT_MAX, alias="min-slaves-to-write"),
    Option("min-replicas-max-lag", "10", "int", low=0, high=INT_MAX, alias="min-slaves-max-lag"),
    Option("cluster-enabled", "no", "bool", mutable=False),
    Option("list-max-listpack-size", "-2", "int", low=-5, high=INT_MAX, alias="list-max-ziplist-size"),
    Option("list-compress-depth", "0", "int", low=0, high=INT_MAX),
    Option("hash-max-listpack-entries", "512", "int", low=0, high=LLONG_MAX, alias="hash-max-ziplist-entries"),
    Option("hash-max-listpack-value", "64", "int", low=0, high=LLONG_MAX, alias="hash-max-ziplist-value"),
    Option("set-max-intset-entries", "512", "int", low=0, high=LLONG_MAX),
    Option("zset-max-listpack-entries", "128", "int", low=0, high=LLONG_MAX, alias="zset-max-ziplist-entries"),
    Option("zset-max-listpack-value", "64", "int", low=0, high=LLONG_MAX, alias="zset-max-ziplist-value"),
    Option("hll-sparse-max-bytes", "3000", "memory", low=0, high=INT_MAX),
    Option("lazyfree-lazy-user-flush", "no", "bool"),
    Option("lazyfree-lazy-eviction", "no", "bool"),
    Option("lazyfree-lazy-expire", "no", "bool"),
    Option("lazyfree-lazy-server-del", "no", "bool"),
    Option("lazyfree-lazy-user-del", "no", "bool"),
    Option("active-expire-effort", "1", "int", low=1, high=10),
    Option("activerehashing", "yes", "bool"),
    Option("lfu-log-factor", "10", "int", low=0),
    Option("lfu-decay-time", "1", "int", low=0),
    Option("io-threads", "1", "int", mutable=False, low=1, high=128),
    Option("enable-debug-command", "no", "enum", mutable=False, choices=PROTECTED_ACTION),
    Option("supervised", "no", "enum", mutable=False, choices=("upstart", "systemd", "auto", "no")),
    Option("always-show-logo", "no", "bool", mutable=False),
    Option("set-proc-title", "yes", "bool", mutable=False),
    Option("seed", "0", "int", mutable=False, hidden=True),  # kvserver's: the core's random seed (0: random)
]

# Options redis-server 7.0 has that kvsim accepts and reports but does not act
# on (TLS, the cluster bus, defragmentation, CPU lists...), so that redis.conf
# files and test suites written for Redis start unchanged.
SHUTDOWN_FLAGS = ("default", "save", "nosave", "now", "force")
SYSLOG_FACILITIES = ("user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7")
ACCEPTED_ONLY = [
    Option("acl-pubsub-default", "resetchannels", "enum", choices=("allchannels", "resetchannels")),
    Option("aclfile", "", "string", mutable=False),
    Option("acllog-max-len", "128", "int"),
    Option("active-defrag-cycle-max", "25", "int"),
    Option("active-defrag-cycle-min", "1", "int"),
    Option("active-defrag-ignore-bytes", "104857600", "int"),
    Option("active-defrag-max-scan-fields", "1000", "int"),
    Option("active-defrag-threshold-lower", "10", "int"),
    Option("active-defrag-threshold-upper", "100", "int"),
    Option("activedefrag", "no", "bool"),
    Option("aof-disable-auto-gc", "no", "bool"),
    Option("aof-rewrite-incremental-fsync", "yes", "bool"),
    Option("aof_rewrite_cpulist", "", "string", mutable=False),
    Option("bgsave_cpulist", "", "string", mutable=False),
    Option("bind-source-addr", "", "string"),
    Option("bio_cpulist", "", "string", mutable=False),
    Option("client-output-buffer-limit", "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", "obuf"),
    Option("cluster-allow-pubsubshard-when-down", "yes", "bool"),
    Option("cluster-allow-reads-when-down", "no", "bool"),
    Option("cluster-allow-replica-migration", "yes", "bool"),
    Option("cluster-announce-bus-port", "0", "int"),
    Option("cluster-announce-hostname", "", "hostname"),
    Option("cluster-announce-ip", "", "string"),
    Option("cluster-announce-port", "0", "int"),
    Option("cluster-announce-tls-port", "0", "int"),
    Option("cluster-config-file", "nodes.conf", "string", mutable=False),
    Option("cluster-link-sendbuf-limit", "0", "int"),
    Option("cluster-migration-barrier", "1", "int"),
    Option("cluster-node-timeout", "15000", "int"),
    Option("cluster-port", "0", "int", mutable=False),
    Option("cluster-preferred-endpoint-type", "ip", "enum", choices=("ip", "hostname", "unknown-endpoint")),
    Option("cluster-replica-no-failover", "no", "bool", alias="cluster-slave-no-failover"),
    Option("cluster-replica-validity-factor", "10", "int", alias="cluster-slave-validity-factor"),
    Option("cluster-require-full-coverage", "yes", "bool"),
    Option("crash-log-enabled", "yes", "bool"),
    Option("crash-memcheck-enabled", "yes", "bool"),
    Option("disable-thp", "yes", "bool", mutable=False),
    Option("dynamic-hz", "yes", "bool"),
    Option("enable-module-command", "no", "enum", mutable=False, choices=PROTECTED_ACTION),
    Option("enable-protected-configs", "no", "enum", mutable=False, choices=PROTECTED_ACTION),
    Option("ignore-warnings", "", "string"),
    Option("io-threads-do-reads", "no", "bool", mutable=False),
    Option("jemalloc-bg-thread", "yes", "bool"),
    Option("latency-tracking", "yes", "bool"),
    Option("latency-tracking-info-percentiles", "50 99 99.9", "percentiles"),
    Option("masterauth", "", "string"),
    Option("masteruser", "", "string"),
    Option("maxmemory-clients", "0", "memory", low=-100, high=LLONG_MAX, percent=True),
    Option("maxmemory-eviction-tenacity", "10", "int"),
    Option("oom-score-adj", "no", "enum", choices=("no", "yes", "relative", "absolute")),
    Option("oom-score-adj-values", "0 200 800", "oom"),
    Option("proc-title-template", "{title} {listen-addr} {server-mode}", "title"),
    Option("propagation-error-behavior", "ignore", "enum", choices=("ignore", "panic", "panic-on-replicas")),
    Option("rdb-del-sync-files", "no", "bool"),
    Option("rdb-save-incremental-fsync", "yes", "bool"),
    Option("repl-backlog-ttl", "3600", "int"),
    Option("repl-disable-tcp-nodelay", "no", "bool"),
    Option("repl-diskless-load", "disabled", "enum", choices=("disabled", "on-empty-db", "swapdb")),
    Option("repl-diskless-sync", "yes", "bool"),
    Option("repl-diskless-sync-delay", "5", "int"),
    Option("repl-diskless-sync-max-replicas", "0", "int"),
    Option("repl-ping-replica-period", "10", "int", alias="repl-ping-slave-period"),
    Option("replica-announce-ip", "", "string", alias="slave-announce-ip"),
    Option("replica-announce-port", "0", "int", alias="slave-announce-port"),
    Option("replica-announced", "yes", "bool"),
    Option("replica-ignore-disk-write-errors", "no", "bool"),
    Option("replica-ignore-maxmemory", "yes", "bool", alias="slave-ignore-maxmemory"),
    Option("replica-lazy-flush", "no", "bool", alias="slave-lazy-flush"),
    Option("replica-priority", "100", "int", alias="slave-priority"),
    Option("sanitize-dump-payload", "no", "enum", choices=("no", "yes", "clients")),
    Option("server_cpulist", "", "string", mutable=False),
    Option("shutdown-on-sigint", "default", "flags", choices=SHUTDOWN_FLAGS),
    Option("shutdown-on-sigterm", "default", "flags", choices=SHUTDOWN_FLAGS),
    Option("shutdown-timeout", "10", "int"),
    Option("socket-mark-id", "0", "int", mutable=False),
    Option("stream-node-max-bytes", "4096", "int"),
    Option("stream-node-max-entries", "100", "int"),
    Option("syslog-enabled", "no", "bool", mutable=False),
    Option("syslog-facility", "local0", "enum", mutable=False, choices=SYSLOG_FACILITIES),
    Option("syslog-ident", "redis", "string", mutable=False),
    Option("tls-auth-clients", "yes", "enum", choices=("no", "yes", "optional")),
    Option("tls-ca-cert-dir", "", "string"),
    Option("tls-ca-cert-file", "", "string"),
    Option("tls-cert-file", "", "string"),
    Option("tls-ciphers", "", "string"),
    Option("tls-ciphersuites", "", "string"),
    Option("tls-client-cert-file", "", "string"),
    Option("tls-client-key-file", "", "string"),
    Option("tls-client-key-file-pass", "", "string"),
    Option("tls-cluster", "no", "bool"),
    Option("tls-dh-params-file", "", "string"),
    Option("tls-key-file", "", "string"),
    Option("tls-key-file-pass", "", "string"),
    Option("tls-port", "0", "int"),
    Option("tls-prefer-server-ciphers", "no", "bool"),
    Option("tls-protocols", "", "string"),
    Option("tls-replication", "no", "bool"),
    Option("tls-session-cache-size", "20480", "int"),
    Option("tls-session-cache-timeout", "300", "int"),
    Option("tls-session-caching", "yes", "bool"),
    Option("tracking-table-max-keys", "1000000", "int"),
    Option("unixsocketperm", "0", "int", mutable=False),
]
OPTIONS += ACCEPTED_ONLY

BY_NAME = {opt.name: opt for opt in OPTIONS} | {opt.alias: opt for opt in OPTIONS if opt.alias}
Listener = Callable[[str, object], None]


class Config:
    """The values in force, typed, plus listeners told of every change."""

    def __init__(self, overrides: dict[str, str] | None = None,
                 renamed_commands: list[tuple[str, str]] | None = None,
                 users: list[list[str]] | None = None) -> None:
        self.values = {}
        for opt in OPTIONS:
            self.values[opt.name] = self._merged(opt, opt.parse(opt.default))
        self.listeners: list[Listener] = []
        # rename-command directives (config file only, as in Redis): (name, new name or "" to remove)
        self.renamed_commands = list(renamed_commands or ())
        # user directives (config file only): [name, rule, ...], applied to the ACL users at start
        self.users = [list(line) for line in users or ()]
        for name, text in (overrides or {}).items():
            self.load(name, text)

    def __getitem__(self, name: str):
        return self.values[name]

    def load(self, name: str, text: str) -> None:
        """Set an option at start-up (config file or command line)."""
        option = BY_NAME.get(name.lower())
        if option is None:
            raise ConfigError(f"Bad directive or wrong number of arguments: '{name}'")
        self.values[option.name] = self._merged(option, option.parse(text))

    def set_many(self, pairs: list[tuple[str, str]]) -> None:
        """CONFIG SET: all or nothing. Raises ConfigError naming the option."""
        parsed = []
        for name, text in pairs:
            option = BY_NAME.get(name.lower())
            if option is None or not option.mutable:
                raise ConfigError(f"Unknown option or number of arguments for CONFIG SET - '{name}'")
            try:
                parsed.append((option.name, self._merged(option, option.parse(text))))
            except ConfigError as exc:
                raise ConfigError(f"CONFIG SET failed (possibly related to argument '{name}') - {exc}") from None
        for name, value in parsed:
            self.values[name] = value
            for listener in self.listeners:
                listener(name, value)

    def changed(self, name: str, value) -> None:
        """An option the node itself changed (REPLICAOF sets replicaof): listeners hear of it too."""
        self.values[name] = value
        for listener in self.listeners:
            listener(name, value)

    def _merged(self, option: Option, value):
        """client-output-buffer-limit changes only the classes it names."""
        if option.kind != "obuf":
            return value
        from kvcore import output_limits

        return output_limits.merge(self.values.get(option.name, option.default), value)

    def get_matching(self, pattern: bytes) -> list[tuple[str, str]]:
        return [
            (name, opt.format(self.values[opt.name]))
            for name, opt in BY_NAME.items()
            if not opt.hidden and glob_match(pattern, name.encode(), nocase=True)
        ]

    def format(self, name: str) -> str:
        return BY_NAME[name].format(self.values[name])
