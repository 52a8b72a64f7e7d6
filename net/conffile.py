"""Start-up configuration: redis.conf files and ``--name value`` arguments.

Both become `ConfigLine`s, numbered as redis-server numbers them (the file's
lines, then one blank line, then one line per command-line option), so a bad
line is reported with Redis's own words and line number. Values are checked
with kvcore's option table; the result is the overrides a `Config` is built
from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from kvcore.commands import TABLE
from kvcore.config import BY_NAME, Config, ConfigError
from kvcore.protocol import quote_repr, split_inline

VERSION = "7.0.15"
# Redis's MULTI_ARG_CONFIGs: they take any number of words (one word holding spaces is split).
MULTI_ARG_OPTIONS = {
    "save", "bind", "replicaof", "client-output-buffer-limit", "oom-score-adj-values",
    "latency-tracking-info-percentiles", "shutdown-on-sigint", "shutdown-on-sigterm",
}
MULTI_ARG_COUNTS = {"replicaof": 2, "oom-score-adj-values": 3}  # words they check for themselves
# Directives Redis 7.0 still accepts, and ignores, with this many words after the name.
DEPRECATED_OPTIONS = {"list-max-ziplist-entries": 1, "list-max-ziplist-value": 1, "lua-replicate-commands": 1}
_INCLUDE_DEPTH_MAX = 16


@dataclass(frozen=True)
class ConfigLine:
    """One directive: where it came from, its text, and its words."""

    number: int
    text: str
    args: list[str]


class FatalConfigError(Exception):
    """A directive redis-server would refuse; `report()` is its exact message."""

    def __init__(self, line: ConfigLine | None, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason

    def report(self) -> str:
        if self.line is None:
            return f"\n*** FATAL CONFIG FILE ERROR (Redis {VERSION}) ***\n{self.reason}\n"
        return (
            f"\n*** FATAL CONFIG FILE ERROR (Redis {VERSION}) ***\n"
            f"Reading the configuration file, at line {self.line.number}\n"
            f">>> '{self.line.text}'\n{self.reason}\n"
        )


@dataclass
class StartOptions:
    """What the command line asked for: a config file, directives, or an action."""

    config_file: str = ""
    lines: list[ConfigLine] | None = None
    action: str = ""  # "", "version" or "help"


def quote(arg: str) -> str:
    """sdscatrepr: the quoted form redis-server shows for a command-line value."""
    return quote_repr(arg.encode("utf-8", "surrogateescape"))


def parse_text(text: str, first_number: int = 1, depth: int = 0) -> list[ConfigLine]:
    """The directives in redis.conf text; blank lines and ``#`` comments skipped."""
    lines = []
    for offset, raw in enumerate(text.split("\n")):
        stripped = raw.strip(" \t\r\n")
        if not stripped or stripped.startswith("#"):
            continue
        line = ConfigLine(first_number + offset, stripped, [])
        words = split_inline(stripped.encode("utf-8", "surrogateescape"))
        if words is None:
            raise FatalConfigError(line, "Unbalanced quotes in configuration line")
        args = [word.decode("utf-8", "surrogateescape") for word in words]
        if args and args[0].lower() == "include":
            if len(args) != 2:
                raise FatalConfigError(line, "Bad directive or wrong number of arguments")
            lines.extend(read_file(args[1], line, depth + 1))
            continue
        lines.append(ConfigLine(line.number, stripped, args))
    return lines


def read_file(path: str, origin: ConfigLine | None = None, depth: int = 0) -> list[ConfigLine]:
    if depth > _INCLUDE_DEPTH_MAX:
        raise FatalConfigError(origin, "Too many nested includes")
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except OSError as exc:
        raise FatalConfigError(origin, f"Fatal error, can't open config file '{path}': {exc.strerror}") from None
    return parse_text(text, 1, depth)


def parse_command_line(argv: list[str]) -> StartOptions:
    """redis-server 7.0's main(): [config-file] then options, appended to the config text.

    ``--name`` starts a line; an argv with spaces (``"--maxmemory 700mb"``) goes in raw; other
    words are quoted values of the current line, and a ``--x`` word is one too while the
    current option still has no value. ``-`` first or last reads the config from stdin.
    """
    options = StartOptions()
    if argv and argv[0] in ("-v", "--version"):
        options.action = "version"
        return options
    if argv and argv[0] in ("-h", "--help"):
        options.action = "help"
        return options
    rest = argv
    if argv and not argv[0].startswith("-"):
        options.config_file = argv[0]
        rest = argv[1:]
    text = _read_text(options.config_file) if options.config_file else ""
    from_stdin, option_text = _options_text(rest, first=not options.config_file)
    if from_stdin:
        import sys

        text += sys.stdin.read()
    lines = parse_text(text)
    if option_text:
        lines += parse_text(option_text, text.count("\n") + 2)
    options.lines = lines
    return options


def _options_text(args: list[str], first: bool) -> tuple[bool, str]:
    """The config text the command-line options stand for, and whether stdin is read too."""
    from_stdin = False
    text = ""
    has_value = True  # handled_last_config_arg
    for index, arg in enumerate(args):
        last = index == len(args) - 1
        if arg == "-" and (last or (first and index == 0)):
            from_stdin = True
        elif has_value and arg.startswith("--"):
            text += ("\n" if text else "") + arg[2:] + " "
            words = split_inline(arg.encode("utf-8", "surrogateescape"))
            has_value = words is None or len(words) != 1
            if not has_value and arg.lower() == "--save" and (last or args[index + 1].startswith("--")):
                text += '""'  # `--save` with no value clears the save points, as in 7.0.1+
                has_value = True
        else:
            text += quote(arg) + " "
            has_value = True
    return from_stdin, text


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except OSError as exc:
        raise FatalConfigError(None, f"Fatal error, can't open config file '{os.path.abspath(path)}': {exc.strerror}") from None


def overrides_from(lines: list[ConfigLine]) -> dict[str, str]:
    """Check every directive and fold them into Config overrides (later wins).

    ``save`` lines accumulate, and an empty ``save ""`` clears them, as in
    Redis 7; options that take several words (``bind a b``) keep them joined.
    ``rename-command`` lines are checked here and collected by `renames_from`.
    """
    scratch = Config()
    overrides: dict[str, str] = {}
    commands = {name.decode().lower(): True for name in TABLE}
    for line in lines:
        name = line.args[0].lower()
        values = line.args[1:]
        option = BY_NAME.get(name)
        if option is None:
            _other_directive(line, commands)
            continue
        text = _option_text(line, option.name, values)
        try:
            scratch.load(name, text)
        except ConfigError as exc:
            raise FatalConfigError(line, str(exc)) from None
        if option.name == "save" and text and overrides.get("save"):
            text = overrides["save"] + " " + text
        overrides[option.name] = text
    return overrides


def renames_from(lines: list[ConfigLine]) -> list[tuple[str, str]]:
    """The ``rename-command name new-name`` directives (already checked by `overrides_from`)."""
    return [(line.args[1], line.args[2]) for line in lines
            if line.args[0].lower() == "rename-command" and len(line.args) == 3]


def users_from(lines: list[ConfigLine]) -> list[list[str]]:
    """The ``user name rule...`` directives, each as [name, rule...], applied to the ACL users at start;
    a name given twice is fatal, as Redis's."""
    users, seen = [], set()
    for line in lines:
        if line.args[0].lower() == "user" and len(line.args) >= 2:
            name = line.args[1]
            if name in seen:
                raise FatalConfigError(line, f"Error in user declaration '{name}': Duplicate user found. "
                                             "A user can only be defined once in config files")
            seen.add(name)
            users.append(line.args[1:])
    return users


def _option_text(line: ConfigLine, name: str, values: list[str]) -> str:
    """An option's words as the text `Config.load` parses; the word-count checks of Redis's
    loadServerConfigFromString (a multi-word option given one word with spaces splits it)."""
    if name not in MULTI_ARG_OPTIONS:
        if len(values) != 1:
            raise FatalConfigError(line, "wrong number of arguments")
        return values[0]
    if len(values) == 1 and values[0]:
        words = split_inline(values[0].encode("utf-8", "surrogateescape"))
        values = [word.decode("utf-8", "surrogateescape") for word in words or []]
    count = MULTI_ARG_COUNTS.get(name)
    if count is not None and len(values) != count:
        raise FatalConfigError(line, "wrong number of arguments")
    if name == "replicaof" and values[0].lower() != "no" and not _is_port(values[1]):
        raise FatalConfigError(line, "Invalid master port")
    return " ".join(values)


def _is_port(text: str) -> bool:
    """strtol consuming the whole text (an empty one reads as 0), within 0..65535: replicaof's check."""
    return not text or (_STRTOL.fullmatch(text) is not None and 0 <= int(text) <= 65535)


_STRTOL = re.compile(r"[ \t\n\v\f\r]*[+-]?[0-9]+")


def _other_directive(line: ConfigLine, commands: dict[str, bool]) -> None:
    """Config-file directives that are no option: deprecated ones (ignored), ``user`` (checked
    when the users load) and ``rename-command`` (checked against the command table as renamed so far)."""
    name = line.args[0].lower()
    if DEPRECATED_OPTIONS.get(name) == len(line.args) - 1 or (name == "user" and len(line.args) >= 2):
        return
    if name != "rename-command" or len(line.args) != 3:
        raise FatalConfigError(line, "Bad directive or wrong number of arguments")
    old, new = line.args[1].lower(), line.args[2].lower()
    if old not in commands:
        raise FatalConfigError(line, "No such command in rename-command")
    del commands[old]
    if new:
        if new in commands:
            raise FatalConfigError(line, "Target command name already exists")
        commands[new] = True


REWRITE_MARKER = "# Generated by CONFIG REWRITE"


def rewrite_text(old: str, text: str) -> str:
    """The config file after CONFIG REWRITE, as redis-server rewrites it.

    ``text`` has a line per option whose value is not its default (several for
    ``save``, ``user``). Each replaces the file's lines for that option in place; extra
    ones go after the marker at the end. An option the file names but ``text``
    leaves out is written back at its default (``user`` lines go). Comments, blank lines and lines
    this server does not know stay as they were.
    """
    wanted: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.strip():
            wanted.setdefault(line.split(None, 1)[0].lower(), []).append(line)
    out: list[str] = []
    used: set[str] = set()
    for raw in old.split("\n"):
        stripped = raw.strip()
        name = _directive_name(stripped)
        if stripped == REWRITE_MARKER or name is None:
            if stripped != REWRITE_MARKER:
                out.append(raw)
            continue
        if name in used:
            continue
        used.add(name)
        out.extend(wanted.get(name) or ([] if name == "user" else [_default_line(name)]))
    while out and not out[-1].strip():
        out.pop()
    extra = [line for name, lines in wanted.items() if name not in used for line in lines]
    if extra:
        out.append(REWRITE_MARKER)
        out.extend(extra)
    return "\n".join(out) + "\n"


def _default_line(name: str) -> str:
    default = BY_NAME[name].default
    if name in MULTI_ARG_OPTIONS and default:
        return f"{name} {default}"
    if not default or any(ch in default for ch in " \"'\\"):
        return f"{name} {quote(default)}"
    return f"{name} {default}"


def _directive_name(line: str) -> str | None:
    """The option a config line sets (``user`` for an ACL user), or None for comments and lines left alone."""
    if not line or line.startswith("#"):
        return None
    words = split_inline(line.encode("utf-8", "surrogateescape"))
    if not words:
        return None
    if words[0].lower() == b"user":
        return "user"
    option = BY_NAME.get(words[0].decode("utf-8", "surrogateescape").lower())
    return option.name if option is not None else None  # an alias's lines belong to its option


def rewrite_file(path: str, text: str) -> None:
    """Rewrite the config file atomically (a temporary file renamed over it)."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            old = handle.read()
    except FileNotFoundError:
        old = ""
    temp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temp, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(rewrite_text(old, text))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
