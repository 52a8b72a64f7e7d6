"""The multi-part AOF manifest: Redis 7.0's text, its validation errors, and its life cycle.

Expected texts were taken from redis-server 7.0.15 and redis-check-aof 7.0.15
(see the comments); `test_errors_match_redis_check_aof` re-checks the error
table against the installed redis-check-aof.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvcore.aof_manifest import (
    BASE,
    DUPLICATE_BASE,
    EMPTY_MANIFEST,
    HISTORY,
    INCR,
    INVALID_FORMAT,
    NON_MONOTONIC,
    NOT_A_BASENAME,
    TOO_LONG_LINE,
    UNKNOWN_TYPE,
    AofInfo,
    Manifest,
    ManifestError,
    drop_history,
    enable_done,
    format_manifest,
    last_incr,
    manifest_name,
    needs_upgrade,
    new_incr,
    parse_manifest,
    rewrite_done,
    rewrite_started,
    start,
    temp_incr_name,
    temp_manifest_name,
    upgrade,
)

AOF = "appendonly.aof"
# What redis-server 7.0.15 writes when it starts with appendonly yes on an empty directory.
FRESH = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"


def test_names():
    assert manifest_name(AOF) == "appendonly.aof.manifest"
    assert temp_manifest_name(AOF) == "temp-appendonly.aof.manifest"
    assert temp_incr_name(AOF) == "temp-appendonly.aof.incr"


def test_start_on_an_empty_dataset_creates_a_base_and_an_incr():
    plan = start(Manifest(), AOF, rdb_preamble=True)
    assert plan.create_base == "appendonly.aof.1.base.rdb"
    assert plan.append_to == "appendonly.aof.1.incr.aof"
    assert plan.dirty
    assert format_manifest(plan.manifest) == FRESH


def test_start_with_files_reopens_the_last_incr_and_changes_nothing():
    manifest = parse_manifest(FRESH + "file appendonly.aof.2.incr.aof seq 2 type i\n")
    plan = start(manifest, AOF, rdb_preamble=True)
    assert (plan.create_base, plan.append_to, plan.dirty) == (None, "appendonly.aof.2.incr.aof", False)
    assert plan.manifest == manifest


def test_start_with_only_a_base_creates_the_first_incr():
    manifest = parse_manifest("file appendonly.aof.3.base.rdb seq 3 type b\n")
    plan = start(manifest, AOF, rdb_preamble=True)
    assert (plan.create_base, plan.append_to, plan.dirty) == (None, "appendonly.aof.1.incr.aof", True)


def test_rewrites_move_old_files_to_history_as_redis_does():
    """Two BGREWRITEAOF with aof-disable-auto-gc yes on redis-server 7.0.15 left this manifest."""
    manifest = start(Manifest(), AOF, rdb_preamble=True).manifest
    names = []
    for _ in range(2):
        manifest, incr = rewrite_started(manifest, AOF)
        manifest, base = rewrite_done(manifest, AOF, rdb_preamble=True)
        names.append((incr, base))
    assert names == [
        ("appendonly.aof.2.incr.aof", "appendonly.aof.2.base.rdb"),
        ("appendonly.aof.3.incr.aof", "appendonly.aof.3.base.rdb"),
    ]
    assert format_manifest(manifest) == (
        "file appendonly.aof.3.base.rdb seq 3 type b\n"
        "file appendonly.aof.2.incr.aof seq 2 type h\n"
        "file appendonly.aof.2.base.rdb seq 2 type h\n"
        "file appendonly.aof.1.incr.aof seq 1 type h\n"
        "file appendonly.aof.1.base.rdb seq 1 type h\n"
        "file appendonly.aof.3.incr.aof seq 3 type i\n"
    )
    cleaned, deleted = drop_history(manifest)
    assert deleted == [
        "appendonly.aof.2.incr.aof",
        "appendonly.aof.2.base.rdb",
        "appendonly.aof.1.incr.aof",
        "appendonly.aof.1.base.rdb",
    ]
    assert format_manifest(cleaned) == (
        "file appendonly.aof.3.base.rdb seq 3 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
    )


def test_rewrite_without_rdb_preamble_names_an_aof_base():
    """redis-server 7.0.15 after CONFIG SET aof-use-rdb-preamble no and a third BGREWRITEAOF."""
    manifest = parse_manifest("file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
    manifest, incr = rewrite_started(manifest, AOF)
    manifest, base = rewrite_done(manifest, AOF, rdb_preamble=False)
    manifest, _ = drop_history(manifest)
    assert (incr, base) == ("appendonly.aof.3.incr.aof", "appendonly.aof.3.base.aof")
    assert format_manifest(manifest) == (
        "file appendonly.aof.3.base.aof seq 3 type b\nfile appendonly.aof.3.incr.aof seq 3 type i\n"
    )


def test_rewrite_after_failed_ones_keeps_the_incr_order_in_history():
    manifest = parse_manifest(FRESH)
    for _ in range(3):  # three rewrites started, two of them failed: incr 2, 3, 4
        manifest, _ = rewrite_started(manifest, AOF)
    manifest, _ = rewrite_done(manifest, AOF, rdb_preamble=True)
    assert [(i.name, i.type) for i in manifest.history] == [
        ("appendonly.aof.1.incr.aof", HISTORY),
        ("appendonly.aof.2.incr.aof", HISTORY),
        ("appendonly.aof.3.incr.aof", HISTORY),
        ("appendonly.aof.1.base.rdb", HISTORY),
    ]
    assert [i.name for i in manifest.incrs] == ["appendonly.aof.4.incr.aof"]


def test_enabling_aof_at_run_time_adds_base_and_incr_together():
    manifest, base, incr = enable_done(Manifest(), AOF, rdb_preamble=True)
    assert (base, incr) == ("appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof")
    assert format_manifest(manifest) == FRESH


def test_last_incr_creates_one_only_when_there_is_none():
    manifest = parse_manifest(FRESH)
    assert last_incr(manifest, AOF) == (manifest, "appendonly.aof.1.incr.aof")
    bare = Manifest(base=AofInfo("appendonly.aof.1.base.rdb", 1, BASE), base_seq=1)
    grown, name = last_incr(bare, AOF)
    assert name == "appendonly.aof.1.incr.aof" and grown.incrs == (AofInfo(name, 1, INCR),)


def test_upgrade_of_an_old_single_file():
    manifest = upgrade(AOF)
    assert format_manifest(manifest) == "file appendonly.aof seq 1 type b\n"
    assert needs_upgrade(Manifest(), AOF, dir_exists=False, in_dir=False)
    assert needs_upgrade(Manifest(), AOF, dir_exists=True, in_dir=False)
    assert needs_upgrade(manifest, AOF, dir_exists=True, in_dir=False)  # crashed before the move
    assert not needs_upgrade(manifest, AOF, dir_exists=True, in_dir=True)
    assert not needs_upgrade(parse_manifest(FRESH), AOF, dir_exists=True, in_dir=False)
    # The next incr after an upgrade starts at 1, the next base at 2.
    assert new_incr(manifest, AOF)[1] == "appendonly.aof.1.incr.aof"
    assert rewrite_done(manifest, AOF, True)[1] == "appendonly.aof.2.base.rdb"


def test_parse_accepts_what_redis_accepts():
    text = (
        "# a comment\n"
        "FILE a SEQ 1 TYPE bx extra 1\n"  # keys are case-insensitive, extra pairs ignored, type is its first letter
        'file "a b" seq -3 type h\n'  # quoted names; any non-zero seq for history
        "  file c seq 2 type i  \r\n"
    )
    manifest = parse_manifest(text)
    assert manifest.base == AofInfo("a", 1, BASE)
    assert manifest.history == (AofInfo("a b", -3, HISTORY),)
    assert manifest.incrs == (AofInfo("c", 2, INCR),)
    assert (manifest.base_seq, manifest.incr_seq) == (1, 2)
    assert parse_manifest("# only a comment\n") == Manifest()
    assert parse_manifest(b'file "" seq 1 type b\n').base == AofInfo("", 1, BASE)


def test_format_quotes_names_as_sdscatrepr():
    manifest = Manifest(base=AofInfo('a b"\n\x01\té', 1, BASE), base_seq=1)
    text = format_manifest(manifest)
    assert text == 'file "a b\\"\\n\\x01\\t\\xc3\\xa9" seq 1 type b\n'
    assert parse_manifest(text) == manifest


def test_a_name_with_a_single_quote_is_written_bare_and_refused_on_load():
    """redis-server 7.0.15 with appendfilename "a'b.aof" wrote this, then refused it at the next start."""
    text = format_manifest(start(Manifest(), "a'b.aof", rdb_preamble=True).manifest)
    assert text == "file a'b.aof.1.base.rdb seq 1 type b\nfile a'b.aof.1.incr.aof seq 1 type i\n"
    with pytest.raises(ManifestError) as info:
        parse_manifest(text)
    assert info.value.message == INVALID_FORMAT


names = st.text(st.characters(blacklist_characters="/\\\0'", blacklist_categories=("Cs",)), min_size=1, max_size=12)


@given(
    st.lists(st.tuples(names, st.integers(1, 10**6)), max_size=3),
    st.lists(names, max_size=4),
    st.one_of(st.none(), names),
)
def test_format_then_parse_is_identity(history, incr_names, base_name):
    base = AofInfo(base_name, 7, BASE) if base_name is not None else None
    manifest = Manifest(
        base=base,
        history=tuple(AofInfo(name, seq, HISTORY) for name, seq in history),
        incrs=tuple(AofInfo(name, seq, INCR) for seq, name in enumerate(incr_names, 1)),
        base_seq=7 if base else 0,
        incr_seq=len(incr_names),
    )
    if manifest == Manifest():
        return  # an empty text is an error: Redis never writes an empty manifest
    assert parse_manifest(format_manifest(manifest)) == manifest


# (manifest text, message, line number, line) -- all as redis-check-aof 7.0.15 reported them.
ERRORS = [
    ("file a seq 1 type b\nfile b seq 1 type b\n", DUPLICATE_BASE, 2, "file b seq 1 type b"),
    ("file a seq 1 type b", TOO_LONG_LINE, None, None),  # the last line needs its newline
    ("file a seq 1 type b\n\n", INVALID_FORMAT, 2, ""),
    ("file a/b seq 1 type b\n", NOT_A_BASENAME, 1, "file a/b seq 1 type b"),
    ('file "a\\\\b" seq 1 type b\n', NOT_A_BASENAME, 1, 'file "a\\\\b" seq 1 type b'),
    ("file a seq 0 type b\n", INVALID_FORMAT, 1, "file a seq 0 type b"),
    ("file a seq 2 type i\nfile b seq 2 type i\n", NON_MONOTONIC, 2, "file b seq 2 type i"),
    ("file a seq 2 type x\n", UNKNOWN_TYPE, 1, "file a seq 2 type x"),
    ("file a seq 2 type\n", INVALID_FORMAT, 1, "file a seq 2 type"),
    ("file a seq 2 type i x\n", INVALID_FORMAT, 1, "file a seq 2 type i x"),
    ('file "a seq 2 type i\n', INVALID_FORMAT, 1, 'file "a seq 2 type i'),
    ("file a seq -1 type i\n", NON_MONOTONIC, 1, "file a seq -1 type i"),
    ("file a type b seq x\n", INVALID_FORMAT, 1, "file a type b seq x"),
    ("seq 1 type b x y\n", INVALID_FORMAT, 1, "seq 1 type b x y"),
    ("x" * 1030 + "\n", TOO_LONG_LINE, None, None),
    ("", EMPTY_MANIFEST, None, None),
]


@pytest.mark.parametrize(("text", "message", "line_number", "line"), ERRORS)
def test_parse_errors(text, message, line_number, line):
    with pytest.raises(ManifestError) as info:
        parse_manifest(text)
    error = info.value
    assert (error.message, error.line_number, error.line) == (message, line_number, line)


def test_error_log_lines_are_redis_s():
    with pytest.raises(ManifestError) as info:
        parse_manifest("file a seq 1 type b\nfile b seq 1 type b\n")
    assert info.value.log_lines() == [
        "\n*** FATAL AOF MANIFEST FILE ERROR ***\n",
        "Reading the manifest file, at line 2\n",
        ">>> 'file b seq 1 type b'\n",
        "Found duplicate base file information\n",
    ]


def test_a_long_comment_continues_on_the_next_line():
    """fgets reads 1024 bytes at a time: the rest of a long comment is a line of its own."""
    with pytest.raises(ManifestError) as info:
        parse_manifest("#" + "x" * 1100 + "\nfile a seq 1 type b\n")
    assert (info.value.message, info.value.line_number) == (INVALID_FORMAT, 2)


LOG_PREFIX = re.compile(r"^\d+:C \d+ \w+ \d+ [\d:.]+ # ", re.MULTILINE)


@pytest.mark.skipif(shutil.which("redis-check-aof") is None, reason="redis-check-aof not installed")
@pytest.mark.parametrize(("text", "message", "line_number", "line"), [e for e in ERRORS if e[0].startswith("file")])
def test_errors_match_redis_check_aof(tmp_path, text, message, line_number, line):
    """redis-check-aof loads the manifest with the server's code: same log lines, then exit 1."""
    path = tmp_path / "m.manifest"
    path.write_bytes(text.encode())
    done = subprocess.run(["redis-check-aof", str(path)], capture_output=True, check=False)
    with pytest.raises(ManifestError) as info:
        parse_manifest(text)
    expected = "Start checking Multi Part AOF\n" + "".join(entry + "\n" for entry in info.value.log_lines())
    assert (done.returncode, LOG_PREFIX.sub("", done.stdout.decode())) == (1, expected)
