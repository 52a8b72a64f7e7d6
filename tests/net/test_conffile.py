"""redis.conf parsing, command-line options, and CONFIG REWRITE's file edit (no processes)."""

from __future__ import annotations

import pytest

from kvcore.config import Config
from net.conffile import (
    REWRITE_MARKER,
    FatalConfigError,
    overrides_from,
    parse_command_line,
    parse_text,
    renames_from,
    rewrite_text,
)


def overrides(argv: list[str]) -> dict[str, str]:
    return overrides_from(parse_command_line(argv).lines)


def test_directives_quotes_and_comments():
    lines = parse_text('# comment\n\nport 7000\n  dir "/tmp/a b"  \nlogfile \'x.log\'\r\nsave ""\n')
    assert [(line.number, line.args) for line in lines] == [
        (3, ["port", "7000"]), (4, ["dir", "/tmp/a b"]), (5, ["logfile", "x.log"]), (6, ["save", ""]),
    ]


def test_command_line_options_group_their_words():
    assert overrides(["--port", "7000", "--bind", "127.0.0.1", "::1", "--save", ""]) == {
        "port": "7000", "bind": "127.0.0.1 ::1", "save": "",
    }


def test_command_line_follows_the_file(tmp_path):
    path = tmp_path / "kv.conf"
    path.write_text("port 7000\ndatabases 4\n")
    options = parse_command_line([str(path), "--port", "7001"])
    assert options.config_file == str(path)
    assert overrides_from(options.lines) == {"port": "7001", "databases": "4"}


def test_save_lines_accumulate_and_empty_clears():
    assert overrides(["--save", "60", "1", "--save", "300", "10"])["save"] == "60 1 300 10"
    assert overrides(["--save", "60", "1", "--save", ""])["save"] == ""


def test_names_are_case_insensitive():
    assert overrides(["--PORT", "7000"]) == {"port": "7000"}


@pytest.mark.parametrize("argv, number, text, reason", [
    (["--foo", "bar"], 2, 'foo "bar"', "Bad directive or wrong number of arguments"),
    (["--port", "0", "--foo", "bar"], 3, 'foo "bar"', "Bad directive or wrong number of arguments"),
    (["--port", "abc"], 2, 'port "abc"', "argument couldn't be parsed into an integer"),
    (["--port", "1", "2"], 2, 'port "1" "2"', "wrong number of arguments"),  # redis-server 7.0.15's words
    (["--appendonly", "maybe"], 2, 'appendonly "maybe"', "argument must be 'yes' or 'no'"),
    (["--port"], 2, "port", "wrong number of arguments"),
])
def test_bad_options_are_reported_with_their_line(argv, number, text, reason):
    with pytest.raises(FatalConfigError) as caught:
        overrides(argv)
    report = caught.value.report()
    assert "*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***" in report
    assert f"Reading the configuration file, at line {number}\n>>> '{text}'\n{reason}\n" in report


def test_bad_file_line_is_reported_as_written(tmp_path):
    path = tmp_path / "kv.conf"
    path.write_text('port 0\n# c\nfoo "a b"\n')
    with pytest.raises(FatalConfigError) as caught:
        overrides([str(path)])
    assert "at line 3\n>>> 'foo \"a b\"'\nBad directive" in caught.value.report()


def test_unbalanced_quotes():
    with pytest.raises(FatalConfigError, match="Unbalanced quotes"):
        parse_text('dir "/tmp\n')


def test_include(tmp_path):
    (tmp_path / "base.conf").write_text("port 7000\nhz 20\n")
    main = tmp_path / "main.conf"
    main.write_text(f"include {tmp_path / 'base.conf'}\nport 7001\n")
    assert overrides([str(main)]) == {"port": "7001", "hz": "20"}


def test_missing_file():
    with pytest.raises(FatalConfigError, match="can't open config file"):
        parse_command_line(["/nonexistent/kv.conf"])


def test_rewrite_replaces_in_place_and_appends_new_options():
    old = "# my server\nport 7000\nunknown-thing 1\nhz 20\n\n"
    new = rewrite_text(old, "port 7001\nmaxclients 5\n")
    assert new == f"# my server\nport 7001\nunknown-thing 1\nhz 10\n{REWRITE_MARKER}\nmaxclients 5\n"


def test_rewrite_is_stable_and_handles_multi_line_options():
    old = "save 60 1\nsave 300 10\nport 7000\n"
    once = rewrite_text(old, "port 7000\nsave 900 1\nsave 60 5\nsave 10 100\n")
    assert once == "save 900 1\nsave 60 5\nsave 10 100\nport 7000\n"
    assert rewrite_text(once, "port 7000\nsave 900 1\nsave 60 5\nsave 10 100\n") == once


def test_rewrite_drops_duplicate_lines_for_one_option():
    assert rewrite_text("port 1\nport 2\n", "port 3\n") == "port 3\n"


# -- redis-server 7.0's main(): how the command line becomes config lines (checked with redis-server) --------

@pytest.mark.parametrize("argv, lines", [
    (["--port", "--loglevel", "verbose"], [(2, 'port "--loglevel" "verbose"')]),
    (["--maxmemory 700mb", "--maxmemory-policy volatile-lru"], [(2, "maxmemory 700mb"), (3, "maxmemory-policy volatile-lru")]),
    (["--proc-title-template", "--save", "--save", "--loglevel", "verbose"],
     [(2, 'proc-title-template "--save"'), (3, 'save ""'), (4, 'loglevel "verbose"')]),
    (["--loglevel", "verbose", "--save"], [(2, 'loglevel "verbose"'), (3, 'save ""')]),
    (["--shutdown-on-sigint", "nosave", "force", "now"], [(2, 'shutdown-on-sigint "nosave" "force" "now"')]),
])
def test_command_line_becomes_redis_config_lines(argv, lines):
    assert [(line.number, line.text) for line in parse_command_line(argv).lines] == lines


def test_values_before_the_first_name_start_the_first_line(tmp_path):
    path = tmp_path / "kv.conf"
    path.write_text("port 7000\n")
    options = parse_command_line([str(path), "loglevel", "verbose", "--maxmemory '700mb'"])
    assert [(line.number, line.text) for line in options.lines] == [
        (1, "port 7000"), (3, '"loglevel" "verbose"'), (4, "maxmemory '700mb'"),
    ]
    assert overrides_from(options.lines) == {"port": "7000", "loglevel": "verbose", "maxmemory": "700mb"}


def test_multi_word_options_split_one_word_with_spaces():
    config = Config(overrides(["--shutdown-on-sigint", "nosave force now", "--shutdown-on-sigterm", "NOW", "nosave"]))
    assert (config["shutdown-on-sigint"], config["shutdown-on-sigterm"]) == ("nosave now force", "nosave now")
    assert overrides(["--save", "100 1  200 2"]) == {"save": "100 1 200 2"}


@pytest.mark.parametrize("argv, text, reason", [
    (["--port", "6379", "6380"], 'port "6379" "6380"', "wrong number of arguments"),
    (["--replicaof", "127.0.0.1", "abc"], 'replicaof "127.0.0.1" "abc"', "Invalid master port"),
    (["--replicaof", "--127.0.0.1", "--abc"], 'replicaof "--127.0.0.1"', "wrong number of arguments"),
    (["--rename-command", "nosuch", "x"], 'rename-command "nosuch" "x"', "No such command in rename-command"),
    (["--rename-command", "get", "set"], 'rename-command "get" "set"', "Target command name already exists"),
    (["--rename-command", "get"], 'rename-command "get"', "Bad directive or wrong number of arguments"),
    (["--key-load-delay", "x"], 'key-load-delay "x"', "argument couldn't be parsed into an integer"),
])
def test_redis_70_directive_errors(argv, text, reason):
    with pytest.raises(FatalConfigError) as caught:
        overrides(argv)
    assert f">>> '{text}'\n{reason}\n" in caught.value.report()


def test_rename_command_lines_are_collected_in_order():
    lines = parse_text('rename-command get ""\nrename-command set get\nport 1\n')
    assert overrides_from(lines) == {"port": "1"}
    assert renames_from(lines) == [("get", ""), ("set", "get")]


def test_deprecated_directives_are_ignored():
    assert overrides(["--list-max-ziplist-entries", "5", "--lua-replicate-commands", "yes"]) == {}


def test_rewrite_puts_an_alias_line_under_its_option():
    old = "hash-max-ziplist-entries 20\nhash-max-listpack-entries 21\nslaveof 127.0.0.1 7000\n"
    assert rewrite_text(old, "hash-max-listpack-entries 100\n") == "hash-max-listpack-entries 100\nreplicaof \"\"\n"
