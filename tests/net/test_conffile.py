"""redis.conf parsing, command-line options, and CONFIG REWRITE's file edit (no processes)."""

from __future__ import annotations

import pytest

from net.conffile import (
    REWRITE_MARKER,
    FatalConfigError,
    overrides_from,
    parse_command_line,
    parse_text,
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
    (["--port", "1", "2"], 2, 'port "1" "2"', "Bad directive or wrong number of arguments"),
    (["--appendonly", "maybe"], 2, 'appendonly "maybe"', "argument must be 'yes' or 'no'"),
    (["--port"], 2, "port", "Bad directive or wrong number of arguments"),
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
