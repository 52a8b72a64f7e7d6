"""Start-up configuration: redis.conf files and ``--name value`` arguments.

Both become `ConfigLine`s, numbered as redis-server numbers them (the file's
lines, then one blank line, then one line per command-line option), so a bad
line is reported with Redis's own words and line number. Values are checked
with kvcore's option table; the result is the overrides a `Config` is built
from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from kvcore.config import BY_NAME, Config, ConfigError
from kvcore.protocol import quote_repr, split_inline

VERSION = "7.0.15"
MULTI_ARG_OPTIONS = {"save", "bind", "replicaof"}
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
    """redis-server's argument rules: [config-file] [--name value...]..."""
    options = StartOptions()
    if argv and argv[0] in ("-v", "--version"):
        options.action = "version"
        return options
    if argv and argv[0] in ("-h", "--help"):
        options.action = "help"
        return options
    rest = argv
    file_text = ""
    if argv and not argv[0].startswith("--"):
        options.config_file = argv[0]
        rest = argv[1:]
        if options.config_file == "-":
            import sys

            file_text = sys.stdin.read()
            lines = parse_text(file_text)
        else:
            file_text = _read_text(options.config_file)
            lines = parse_text(file_text)
    else:
        lines = []
    number = file_text.count("\n") + 2
    for words in _group_options(rest):
        text = " ".join([words[0]] + [quote(word) for word in words[1:]])
        lines.append(ConfigLine(number, text, words))
        number += 1
    options.lines = lines
    return options


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return handle.read()
    except OSError as exc:
        raise FatalConfigError(None, f"Fatal error, can't open config file '{os.path.abspath(path)}': {exc.strerror}") from None


def _group_options(args: list[str]) -> list[list[str]]:
    """``--name a b --other c`` becomes [[name, a, b], [other, c]]."""
    groups: list[list[str]] = []
    for arg in args:
        if arg.startswith("--") and len(arg) > 2:
            groups.append([arg[2:]])
        elif groups:
            groups[-1].append(arg)
        else:
            raise FatalConfigError(ConfigLine(1, arg, [arg]), "Bad directive or wrong number of arguments")
    return groups


def overrides_from(lines: list[ConfigLine]) -> dict[str, str]:
    """Check every directive and fold them into Config overrides (later wins).

    ``save`` lines accumulate, and an empty ``save ""`` clears them, as in
    Redis 7; options that take several words (``bind a b``) keep them joined.
    """
    scratch = Config()
    overrides: dict[str, str] = {}
    for line in lines:
        name = line.args[0].lower()
        values = line.args[1:]
        option = BY_NAME.get(name)
        multi = name in MULTI_ARG_OPTIONS
        if option is None or (not values and not multi) or (len(values) > 1 and not multi):
            raise FatalConfigError(line, "Bad directive or wrong number of arguments")
        text = " ".join(values)
        try:
            scratch.load(name, text)
        except ConfigError as exc:
            raise FatalConfigError(line, str(exc)) from None
        if name == "save" and text and overrides.get("save"):
            text = overrides["save"] + " " + text
        overrides[option.name] = text
    return overrides


REWRITE_MARKER = "# Generated by CONFIG REWRITE"


def rewrite_text(old: str, text: str) -> str:
    """The config file after CONFIG REWRITE, as redis-server rewrites it.

    ``text`` has a line per option whose value is not its default (several for
    ``save``). Each replaces the file's lines for that option in place; extra
    ones go after the marker at the end. An option the file names but ``text``
    leaves out is written back at its default. Comments, blank lines and lines
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
        out.extend(wanted.get(name) or [_default_line(name)])
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
    """The option a config line sets, or None for comments and lines left alone."""
    if not line or line.startswith("#"):
        return None
    words = split_inline(line.encode("utf-8", "surrogateescape"))
    if not words:
        return None
    name = words[0].decode("utf-8", "surrogateescape").lower()
    return name if name in BY_NAME else None


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
