"""RESTORE of corrupt payloads: refused with Redis 7.0's "Bad data format" where Redis refuses them,
never a broken key; what Redis takes unsanitized and then dies reading, kvsim takes undecoded and
dies reading the same way.

The payloads come from Redis's own integration/corrupt-dump.tcl (each cites
its test) and were checked against redis-server 7.0.15 with the same
sanitize-dump-payload and checksum settings; the fuzz test mutates valid DUMP
payloads (recomputing the CRC-64) and checks that whatever RESTORE does leaves
a key every read command can serve, or one kept undecoded that reading ends the server.
"""

from __future__ import annotations

import hiredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kvcore import intset, listpack, rdb, ziplist
from kvcore.corrupt import CorruptValue
from kvcore.crc64 import crc64
from kvcore.effects import Crash, LogMessage
from tests.kvcore.harness import CoreClient, encode_request, make_node
from tests.kvcore.test_rdb import NOW, populate, rdb_file, record, reloaded
from tests.kvcore.test_rdb import ziplist as make_ziplist
from tests.kvcore.test_rdb import zipmap as make_zipmap

BAD_FORMAT = "ERR Bad data format"
BAD_PAYLOAD = "ERR DUMP payload version or checksum are wrong"


def with_crc(body: bytes) -> bytes:
    return body + crc64(0, body).to_bytes(8, "little")


def crash_of(c: CoreClient, *argv) -> Crash | None:
    """The crash a request ends the node with (None if it answers)."""
    c.node.receive(c.conn, encode_request(*argv), c.node.now)
    return next((effect for effect in c.node.take_effects() if type(effect) is Crash), None)


def restore(payload: bytes, sanitize: str = "no", skip_checksum: bool = True, **options):
    """RESTORE a payload into a fresh node set up as the Tcl test sets up its server; the reply and the client."""
    c = CoreClient(make_node(**options))
    c.call("CONFIG", "SET", "sanitize-dump-payload", sanitize)
    if skip_checksum:
        assert c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1) == b"OK"
    return c.call("RESTORE", "key", 0, payload, "REPLACE"), c


def reply_text(reply) -> str:
    return str(reply) if isinstance(reply, hiredis.ReplyError) else reply.decode()


# (corrupt-dump.tcl test name, sanitize-dump-payload, payload in hex)
CORRUPT = [
    ("hash with valid zip list header, invalid entry len", "no",
     "0d1b1b00000016000000040000026100040262000414630004026400ff0900d910549215f55f52"),
    ("invalid zlbytes header", "no",
     "0d1b2500000016000000040000026100040262000402630004026400ff0900b7f76e9f434314c6"),
    ("valid zipped hash header, dup records", "no",
     "0d1b1b00000016000000040000026100040262000402610004026400ff0900a1983678cc8e932e"),
    ("quicklist big ziplist prev len", "no",
     "0e0113130000000e0000000200000261000e026200ff0900499730b20da1edaa"),
    ("quicklist small ziplist prev len", "yes",
     "0e0113130000000e00000002000002610002026200ff0900c77103970775b063"),
    ("quicklist ziplist wrong count", "no",
     "0e0113130000000e00000003000002610004026200ff09004de20a2f0825df91"),
    ("#3080 - quicklist", "no",
     "0e01800000001041414141414141410200008041414141070003c71def5468ccf3"),
    ("quicklist with empty ziplist", "no",
     "0e010b0b0000000a0000000000ff0900c26937833c7ffe6f"),
    ("quicklist encoded_len is 0", "no",
     "120101000a008fc6c0571c0ab33c"),
    ("quicklist listpack entry start with EOF", "yes",
     "1201020b0b0000000100816102ffff0a007ed8de5b0dd770b8"),
    ("#3080 - ziplist", "no",
     "0a8000000010414141414141414102000080414141410700395b49e0c1c6dd76"),
    ("hash listpack with duplicate records", "yes",
     "101717000000040082610003826200038261000382640003ff0a00c0cfa687e5a7c5be"),
    ("hash duplicate records", "yes",
     "040201610162016101640900c69cabbc086b0c06"),
    ("hash empty zipmap", "no",
     "090200ff0900c0f1b8674c16ace3"),
    ("fuzzer findings - NPD in quicklistIndex", "no",
     "0e01131300000010000000031200f302025f3104f1ff0900c94b31fe61c096fe"),
    ("fuzzer findings - encoded entry header reach outside the allocation", "no",
     "0d191900000016000000060000f102f102f202025f31049902f3ff0900c5b810c08af916df"),
    ("fuzzer findings - invalid read in lzf_decompress", "no",
     "0203025f31c002c3000900e6dc7644ffeb3dfe"),
    ("fuzzer findings - leak in rdbloading due to dup entry in set", "no",
     "020a025f39c006025f31c000c004025f35c002c008025f31025f3309007a5afb903ae93cbe"),
    ("fuzzer findings - empty intset", "no",
     "02c0c006025f39c002025f33c000025f31c004c008025f37025f350900c5d46dbaad14b7e7"),
    ("fuzzer findings - valgrind - bad rdbLoadDoubleValue", "no",
     "030111110000000a000000010000d0071ae902ff09001a06073241283a46"),
    ("fuzzer findings - valgrind ziplist prev too big", "no",
     "0e01131300000010000000030000f302025f31c1f1ff0900c94b31fe61c096fe"),
    ("OOM in rdbGenericLoadStringObject", "no",
     "0a817fffffffffffffff130000000e00000002000002610004026200ff09005704e5cdd4376c57"),
    ("fuzzer findings - OOM in dictExpand", "no",
     "0281025f31c000c0020900cd842cb7e8a44957"),
    ("fuzzer findings - zset ziplist invalid tail offset", "no",
     "0c191900000002000000060000f102f102025f3104f202f302f3ff09004d727b97cd9a70c1"),
    ("fuzzer findings - empty hash ziplist", "yes",
     "04c0010900f68ab67a8587724d"),
    ("fuzzer findings - quicklist ziplist tail followed by extra data which start with 0xff", "yes",
     "0e0111110000000a000000010000f6ffb06c9cff09009c3747494dde94f5"),
    ("fuzzer findings - dict init to huge size", "no",
     "0281c000025f31c0020900b21be5172e15f46c"),
    ("fuzzer findings - huge string", "yes",
     "0081010900f62bb67a8587724d"),
    ("fuzzer findings - empty quicklist", "yes",
     "0ec02b150000000a000000010000e06258eadf22000000ff0900df35d267dc0e89ab"),
    ("fuzzer findings - empty zset", "yes",
     "05c0010900f68ab67a8587724d"),
    ("fuzzer findings - hash with len of 0", "yes",
     "04c0210900f68ab67a8587724d"),
    ("fuzzer findings - hash listpack first element too long entry len", "yes",
     "1015150000000600f00100010101825f310302010201ff0a0094210afa06529f44"),
    ("fuzzer findings - gcc asan reports false leak on assert", "yes",
     "120102131300000010000000030000f3fe025f3104f1ff0a00198d3d74859429bd"),
    ("fuzzer findings - lpFind invalid access", "yes",
     "103939000000140006010601030182"
     "5f33030701825f370300010001040104010901825f39030501825f350308010801010182"
     "5f31030201f001ff0a0029d7e452797a9582"),
]


@pytest.mark.parametrize(("name", "sanitize", "payload"), CORRUPT, ids=[case[0] for case in CORRUPT])
def test_corrupt_payloads_from_redis_tests_are_bad_data_format(name, sanitize, payload):
    reply, c = restore(bytes.fromhex(payload), sanitize)
    assert reply_text(reply) == BAD_FORMAT
    assert c.call("EXISTS", "key") == 0
    assert c.call("PING") == b"PONG"


def test_a_corrupt_value_is_logged_as_redis_logs_it_under_restore():
    # "quicklist ziplist wrong count" and "hash empty zipmap": Redis logs rdbReportCorruptRDB at verbose level.
    for payload, reason in ((CORRUPT[5][2], "Ziplist integrity check failed."),
                            (CORRUPT[13][2], "Zipmap integrity check failed."),
                            (CORRUPT[2][2], "Hash ziplist integrity check failed.")):  # a duplicate field
        node = make_node()
        CoreClient(node, 1)
        node.receive(1, encode_request("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1), node.now)
        node.receive(1, encode_request("RESTORE", "key", 0, bytes.fromhex(payload)), node.now)
        text = "Internal error in RDB reading offset 0, function at rdb.c:0 -> " + reason
        assert LogMessage("verbose", text) in node.take_effects()


def test_payloads_that_only_fail_the_checksum_without_the_debug_switch():
    # "hash ziplist with duplicate records": built with a made-up checksum, refused before decoding.
    payload = bytes.fromhex(CORRUPT[0][2])[:-1] + b"\x00"
    reply, c = restore(payload, skip_checksum=False)
    assert reply_text(reply) == BAD_PAYLOAD
    assert c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1) == b"OK"
    assert reply_text(c.call("RESTORE", "key", 0, payload)) == BAD_FORMAT


def test_hash_crash_payload_is_a_valid_ziplist_hash():
    # "fuzzer findings - hash crash": the payload is sound and restores (in redis-server too).
    payload = bytes.fromhex("0d191900000016000000060000f102f102f202025f3104f302f3ff090038b810c08af916df")
    reply, c = restore(payload, "yes")
    assert reply == b"OK"
    assert sorted(c.call("HGETALL", "key")) == sorted([b"0", b"0", b"1", b"_1", b"2", b"2"])
    assert c.call("HSET", "key", 394891450, 1635910264) == 1
    assert c.call("HMGET", "key", 887312884855) == [None]


def test_zset_nan_score_is_refused_whatever_the_sanitization():
    # "fuzzer findings - zset zslInsert with a NAN score": a ZSET_2 whose last score is a NaN.
    nan = b"\x00\x00\x00\x00\x00\x55\xf0\x7f"
    payload = with_crc(b"\x05\x02\x01a" + b"\x00" * 7 + b"\x40" + b"\x01b" + nan + b"\x0a\x00")
    for sanitize in ("no", "yes"):
        reply, c = restore(payload, sanitize, skip_checksum=False)
        assert reply_text(reply) == BAD_FORMAT
        assert c.call("EXISTS", "key") == 0


# (what, payload in hex, reply with sanitize-dump-payload yes or clients, reply with no): checked against
# redis-server 7.0.15, where "no" accepts what only a deep check refuses.
SANITIZATION = [
    ("intset out of order", "0b0e02000000030000000500010003000a0022355a2af37cc7f4", BAD_FORMAT, "OK"),
    ("listpack quicklist node with a wrong count", "12010210100000000500816102826262030501ff0a00740dcc320b3cd0e7",
     BAD_FORMAT, "OK"),  # Redis takes it unsanitized (and trusts the count): kvsim keeps it undecoded
    ("listpack hash with a duplicate field", "101111000000040081610201018161020201ff0a0028706449a4bb8d3d",
     BAD_FORMAT, "OK"),  # Redis takes it unsanitized: kvsim keeps it undecoded
    ("intset with a duplicate", "0b0c0200000002000000050005000a002d1d385838bcf206", BAD_FORMAT, BAD_FORMAT),
    ("listpack entry with a wrong backlen", "12010210100000000300816103826262030501ff0a004566bbcb91ce21ba",
     BAD_FORMAT, "OK"),  # redis-server crashes on it unsanitized; kvsim reads it forward
    ("listpack zset scores as text: strtod's prefix, 0 when none",
     "111d1d0000000400816d028361626304816e028920372e35653178797a0aff0a0028038aaaf07e7a5f", "OK", "OK"),
    ("LZF string of length 0", "00c3020001610a001556036dc21cccb6", "OK", "OK"),
    ("a string-encoding byte read as a length (0xC2: 2)", "01c2016101620a004d85dbd3f3ce330c", "OK", "OK"),
    ("stream entry with a wrong element count (read backwards only)",
     "0f011000000173dedf7d9b00000000000000004042420000001800030100010201846974656d058576616c75650600010201000100"
     "010101000156010201220100010101825f3103050102012c010001010102010501ff038100000173dedf7dc70001076d7967726f75"
     "708100000173dedf7d9b000100000173dedf7d9b0000000000000000f97ddfde73010000010105416c696365eb7ddfde7301000001"
     "00000173dedf7d9b00000000000000000900e4d5da684bb9c046", BAD_FORMAT, "OK"),  # corrupt-dump.tcl's "bad lp_count"
]


@pytest.mark.parametrize(("what", "payload", "deep", "shallow"), SANITIZATION, ids=[case[0] for case in SANITIZATION])
def test_sanitize_dump_payload_modes(what, payload, deep, shallow):
    for sanitize, expected in (("yes", deep), ("clients", deep), ("no", shallow)):
        reply, c = restore(bytes.fromhex(payload), sanitize, skip_checksum=False)
        assert reply_text(reply) == expected, sanitize
        assert c.call("EXISTS", "key") == (expected == "OK")


def test_restored_odd_values_read_as_redis_reads_them():
    reply, c = restore(bytes.fromhex(SANITIZATION[5][1]), skip_checksum=False)
    assert reply == b"OK"
    assert c.call("ZRANGE", "key", 0, -1, "WITHSCORES") == [b"m", b"0", b"n", b"75"]
    assert restore(bytes.fromhex(SANITIZATION[7][1]), skip_checksum=False)[1].call("LRANGE", "key", 0, -1) == [
        b"a", b"b"]
    reply, c = restore(bytes.fromhex(SANITIZATION[0][1]), skip_checksum=False)
    assert sorted(c.call("SMEMBERS", "key")) == [b"1", b"3", b"5"]  # kvsim keeps an intset sorted
    reply, c = restore(bytes.fromhex(SANITIZATION[8][1]), skip_checksum=False)
    assert c.call("XRANGE", "key", "-", "+") == [  # as redis-server 7.0.15 reads it
        [b"1597172055451-0", [b"item", b"1", b"value", b"0"]], [b"1597172055485-0", [b"item", b"1", b"value", b"_1"]],
        [b"1597172055495-0", [b"item", b"1", b"value", b"2"]]]


# Payloads from corrupt-dump.tcl that redis-server 7.0 takes unsanitized, then dies on.
STREAM_FIRST_ENTRY_TOO_LONG = bytes.fromhex(  # "listpack too long entry len"
    "0f0110000000000000000200000000000000024055550000000f0001010001020188310000000000000009883200000000000000"
    "0900010001000100010202893100000000000000098861000000000000000988320000000000000009886200000000000000090801"
    "ff0a01000009004063c93703a2e568")
STREAM_BAD_ENCODING_LATER = bytes.fromhex(  # "fuzzer findings - infinite loop"
    "0f0110000001753aa6d09300000000000000004042420000001800030100010201846974656d058576616c7565060001020100010001"
    "0101000105010201000101010101825f3103fd01020100010201010102010501ff0381000001753aa6d0930201076d7967726f757081"
    "000001753aa6d0930001000001753aa6d093000000000000000094d0a63a75010000010105416c69636594d0a63a7501000001000001"
    "753aa6d09300000000000000000900c409ad697eeea62f")
HASH_DUPLICATE = bytes.fromhex("101717000000040082610003826200038261000382640003ff0a00c0cfa687e5a7c5be")


@pytest.mark.parametrize(("payload", "kind", "encoding", "read"), [
    (STREAM_BAD_ENCODING_LATER, b"stream", b"stream", ("XRANGE", "key", "-", "+")),
    (HASH_DUPLICATE, b"hash", b"listpack", ("HGETALL", "key")),
    (bytes.fromhex(SANITIZATION[1][1]), b"list", b"quicklist", ("LRANGE", "key", 0, -1)),
])
def test_unsanitized_content_redis_cannot_read_is_kept_and_reading_it_fails_redis_assertion(
        payload, kind, encoding, read):
    reply, c = restore(payload)
    assert reply == b"OK"
    assert (c.call("TYPE", "key"), c.call("OBJECT", "ENCODING", "key")) == (kind, encoding)
    dumped = c.call("DUMP", "key")
    assert dumped[:-10] == payload[:-10]  # as it came in (with this server's RDB version), to go elsewhere as it is
    assert c.call("RESTORE", "copy", 0, dumped) == b"OK"
    assert c.call("RENAME", "key", "other") == b"OK"
    crash = crash_of(c, *read[:1], "other", *read[2:])
    assert crash.details[0] == "=== ASSERTION FAILED ===" and crash.panic
    reply, c = restore(payload, "yes")
    assert reply_text(reply) == BAD_FORMAT


def test_whatever_reaches_for_a_corrupt_values_content_reads_it():
    for read in [("SORT", "key"), ("DEBUG", "DIGEST"), ("LINDEX", "key", 0)]:
        _, c = restore(bytes.fromhex(SANITIZATION[1][1]))  # a list
        assert crash_of(c, *read) is not None, read
    _, c = restore(bytes.fromhex(SANITIZATION[1][1]))
    assert reply_text(c.call("SMEMBERS", "key")).startswith("WRONGTYPE")  # a set command does not read a list
    assert c.call("MEMORY", "USAGE", "key") > len(SANITIZATION[1][1]) // 2  # its size is in its header
    assert c.call("EXPIRE", "key", 100) == 1 and c.call("TTL", "key") == 100


@pytest.mark.parametrize("payload", [HASH_DUPLICATE, STREAM_BAD_ENCODING_LATER, bytes.fromhex(SANITIZATION[1][1])])
def test_a_corrupt_value_goes_through_a_snapshot_as_it_is_and_the_keys_after_it_too(payload):
    _, c = restore(payload)
    c.call("SET", "zzz", "after")
    parsed = rdb.parse(rdb.write(c.node), c.node.config)  # a save and a load (a restart, a full sync)
    loaded = parsed.databases[0][0]
    assert type(loaded[b"key"]) is CorruptValue and loaded[b"zzz"] == b"after"
    assert loaded[b"key"].payload == c.node.dbs[0].data[b"key"].payload
    c.call("CONFIG", "SET", "sanitize-dump-payload", "yes")  # a load that sanitizes refuses it, as Redis's
    with pytest.raises(rdb.RdbError):
        rdb.parse(rdb.write(c.node), c.node.config)


def test_a_corrupt_value_rewrites_as_the_restore_that_made_it():
    from kvcore.aof import rewrite_key

    _, c = restore(HASH_DUPLICATE)
    assert rewrite_key(b"key", c.node.dbs[0].data[b"key"]) == [[b"RESTORE", b"key", b"0", HASH_DUPLICATE]]
    assert c.call("DEL", "key") == 1


def test_unsanitized_loads_that_trip_on_the_content_crash_the_server_as_redis_does():
    c = CoreClient(make_node())
    c.call("CONFIG", "SET", "sanitize-dump-payload", "no")
    c.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", 1)
    crash = crash_of(c, "RESTORE", "key", 0, STREAM_FIRST_ENTRY_TOO_LONG)  # lpFirst asserts
    assert crash.details == ("=== ASSERTION FAILED ===", "==> 'lpValidateNext(lp, &p, lpbytes)' is not true")
    c.call("CONFIG", "SET", "hash-max-listpack-entries", 1)  # the load converts the hash: the duplicate panics
    crash = crash_of(c, "RESTORE", "key", 0, HASH_DUPLICATE)
    assert crash.reason == "Listpack corruption detected"
    assert crash.details[:2] == ("listpack with dup elements dump (hexdump of 23 bytes):", HASH_DUPLICATE[2:25].hex())


def test_a_stream_whose_count_holds_no_entries_panics_where_redis_looks_for_its_last_id():
    node = listpack.encode([0, 1, 1, b"a", 0, 3, 0, 0, 1, 4])  # one entry, 1-1, deleted; yet a length of 2
    length = rdb.encode_length
    body = [bytes((rdb.TYPE_STREAM_LISTPACKS_2,)), length(1), length(16), (1 << 64).to_bytes(16, "big"),
            length(len(node)), node, length(2), length(1), length(1), length(1), length(1), length(1), length(1),
            length(1), length(0)]
    payload = with_crc(b"".join(body) + b"\x0a\x00")
    reply, c = restore(payload)
    assert reply == b"OK"
    assert crash_of(c, "XREAD", "STREAMS", "key", "$").reason == "Corrupt stream, length is 2, but no max id"


# corrupt-dump.tcl's "fuzzer findings - stream with no records": the last entry's lp-count has a
# wrong backlen, so the node fails a deep check; walking back, Redis lands on the first entry's ms delta
# (a valid entry, 0: the master entry's terminator as it reads it) and finds no live entry.
STREAM_NO_RECORDS = bytes.fromhex(
    "0f0110000001784d55680900000000000000004042420000001800020101010201846974656d058576616c75650600010201"
    "0001000101010001050103013e0100010101825f31030501020150010001010102010523ff0281000001784d556859000107"
    "6d7967726f757081000001784d5568470001000001784d55684700000000000000009f68554d78010000010105416c696365"
    "8568554d7801000001000001784d55684700000000000000000900f1c0727039401ea9")


def test_a_stream_whose_last_backlen_is_broken_panics_where_xread_looks_for_its_last_id():
    reply, c = restore(STREAM_NO_RECORDS)
    assert reply == b"OK"
    assert crash_of(c, "XREAD", "STREAMS", "key", "$").reason == "Corrupt stream, length is 2, but no max id"
    reply, c = restore(STREAM_NO_RECORDS)
    assert crash_of(c, "XRANGE", "key", "-", "+").details[0] == "=== ASSERTION FAILED ==="  # forward: the bad entry


def test_a_stream_entry_count_only_backward_reads_use_fails_only_them():
    reply, c = restore(bytes.fromhex(SANITIZATION[8][1]))
    assert len(c.call("XRANGE", "key", "-", "+")) == 3
    assert crash_of(c, "XREVRANGE", "key", "+", "-").details[0] == "=== ASSERTION FAILED ==="


def test_zzl_strtod():
    cases = {b"2.5": 2.5, b"abc": 0.0, b"  -1e3xyz": -1000.0, b"-inf": float("-inf"), b"0x10": 16.0,
             b"1e": 1.0, b"1_0": 1.0, b".5": 0.5, b"+.e1": 0.0, b"1" * 200: float(b"1" * 127)}
    for text, value in cases.items():
        assert rdb.zzl_strtod(text) == value, text


# -- the decoders themselves ----------------------------------------------------------------


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"\x07\x00\x00\x00\x00\x00\xff"[:6],
        b"\x08\x00\x00\x00\x00\x00\xff",  # total bytes
        b"\x07\x00\x00\x00\x00\x00\x00",  # terminator
        b"\x09\x00\x00\x00\x01\x00\xf5\x01\xff",  # unknown encoding
        b"\x09\x00\x00\x00\x01\x00\x85\x01\xff",  # string past the end
        b"\x0a\x00\x00\x00\x01\x00\xf0\x01\x00\xff",  # 32-bit length header past the end
        b"\x09\x00\x00\x00\x02\x00\x01\x01\xff",  # count
        b"\x0a\x00\x00\x00\x01\x00\x01\x01\xff\xff",  # terminator before the end
    ],
)
def test_listpack_integrity(blob):
    with pytest.raises(listpack.ListpackError):
        listpack.entries(blob)


def test_listpack_backlen_is_a_deep_check():
    blob = listpack.encode([b"a", 300, b"x" * 200])
    assert listpack.entries(blob) == [b"a", 300, b"x" * 200]
    broken = blob[:8] + b"\x05" + blob[9:]
    with pytest.raises(listpack.ListpackError):
        listpack.entries(broken)
    assert listpack.entries(broken, deep=False) == [b"a", 300, b"x" * 200]


def test_ziplist_integrity():
    good = make_ziplist([b"a", 7, b"bcd", -70000])
    assert ziplist.entries(good) == [b"a", 7, b"bcd", -70000]
    broken = [
        good[:4] + (19).to_bytes(4, "little") + good[8:],  # tail offset not on the last entry
        good[:4] + (99).to_bytes(4, "little") + good[8:],  # tail offset past the end
        good[:10] + b"\x05" + good[11:],  # first prevlen not 0
        good[:8] + b"\x05\x00" + good[10:],  # count
        good[:11] + b"\xc5" + good[12:],  # bad encoding
        good[:13] + b"\xff" + good[14:],  # terminator early
        good[:-5] + b"\xe0" + good[-4:],  # int64 past the end
    ]
    for blob in broken:
        with pytest.raises(ziplist.ZiplistError):
            ziplist.entries(blob)


def test_zipmap_and_intset_integrity():
    assert ziplist.zipmap_pairs(make_zipmap([(b"k", b"v")])) == [b"k", b"v"]
    for blob in (b"\x00\xff", make_zipmap([(b"k", b"v")])[:-1], b"\x02" + make_zipmap([(b"k", b"v")])[1:]):
        with pytest.raises(ziplist.ZiplistError):
            ziplist.zipmap_pairs(blob)
    assert intset.decode(intset.encode([1, 5])) == [1, 5]
    for blob in (b"\x02\x00\x00\x00\x00\x00\x00\x00", b"\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00",
                 b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00"):
        with pytest.raises(intset.IntsetError):
            intset.decode(blob)


# -- RDB files -----------------------------------------------------------------------------


def test_rdb_with_a_corrupt_value_fails_with_redis_message_and_leaves_the_data():
    node = make_node(now=NOW)
    c = CoreClient(node)
    c.call("SET", "before", "1")
    bad = make_ziplist([b"a", b"b"])
    bad = bad[:8] + b"\x03\x00" + bad[10:]  # "quicklist ziplist wrong count"
    data = rdb_file(record(rdb.TYPE_LIST_QUICKLIST, b"k", b"\x01" + bytes((len(bad),)) + bad))
    with pytest.raises(rdb.RdbError) as caught:
        rdb.load(node, data)
    assert caught.value.message == "Ziplist integrity check failed."
    assert c.call("KEYS", "*") == [b"before"]


def test_rdb_empty_collections_are_skipped():
    empty_lp = listpack.encode([])
    data = rdb_file(
        record(rdb.TYPE_SET, b"set", b"\x00"),
        record(rdb.TYPE_HASH_LISTPACK, b"hash", bytes((len(empty_lp),)) + empty_lp),
        record(rdb.TYPE_LIST_QUICKLIST_2, b"list", b"\x01\x02" + bytes((len(empty_lp),)) + empty_lp),
        record(rdb.TYPE_STRING, b"kept", b"\x01v"),
    )
    node, result = reloaded(data)
    assert result.keys_loaded == 1 and list(node.dbs[0].data) == [b"kept"]
    assert result.empty_keys == [b"set", b"hash", b"list"]  # "corrupt payload: load corrupted rdb with empty keys"


# -- fuzzing -------------------------------------------------------------------------------

READS = {
    b"string": [("GET",), ("STRLEN",), ("GETRANGE", 0, -1)],
    b"list": [("LRANGE", 0, -1), ("LLEN",), ("LINDEX", -1), ("LPOS", "a")],
    b"hash": [("HGETALL",), ("HLEN",), ("HRANDFIELD", -5, "WITHVALUES"), ("HSCAN", 0)],
    b"set": [("SMEMBERS",), ("SCARD",), ("SISMEMBER", "1"), ("SRANDMEMBER", -5), ("SSCAN", 0)],
    b"zset": [("ZRANGE", 0, -1, "WITHSCORES"), ("ZCARD",), ("ZRANK", "a"), ("ZRANDMEMBER", -3, "WITHSCORES")],
    b"ReJSON-RL": [("JSON.GET",)],
}


def _seed_payloads() -> list[bytes]:
    """DUMPs of every type and encoding, and payloads of the old encodings (ziplists, zipmap)."""
    c = CoreClient(make_node())
    populate(c)
    payloads = []
    for index in (0, 3, 15):
        c.call("SELECT", index)
        payloads += [c.call("DUMP", key) for key in sorted(c.call("KEYS", "*"))]
    old = [
        (rdb.TYPE_HASH_ZIPLIST, make_ziplist([b"a", 1, b"b", 300])),
        (rdb.TYPE_ZSET_ZIPLIST, make_ziplist([b"m", 1, b"n", b"2.5"])),
        (rdb.TYPE_LIST_ZIPLIST, make_ziplist([b"x", 5, -70000, 2**40])),
        (rdb.TYPE_HASH_ZIPMAP, make_zipmap([(b"k", b"v"), (b"kk", b"vv")])),
    ]
    payloads += [with_crc(bytes((kind,)) + bytes((len(blob),)) + blob + b"\x0a\x00") for kind, blob in old]
    node = make_ziplist([b"q", 7])
    payloads.append(with_crc(b"\x0e\x01" + bytes((len(node),)) + node + b"\x0a\x00"))
    return payloads


SEEDS = _seed_payloads()
MUTATION = st.tuples(st.sampled_from(["set", "flip", "delete", "insert"]), st.integers(0, 1 << 16), st.integers(0, 255))


def mutated(seed: bytes, mutations) -> bytes:
    body = bytearray(seed[:-8])
    for kind, where, byte in mutations:
        at = where % len(body)
        if kind == "set":
            body[at] = byte
        elif kind == "flip":
            body[at] ^= 1 << (byte % 8)
        elif kind == "delete" and len(body) > 1:
            del body[at]
        elif kind == "insert":
            body.insert(at, byte)
    return with_crc(bytes(body))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(SEEDS), mutations=st.lists(MUTATION, min_size=1, max_size=4),
       sanitize=st.sampled_from(["no", "yes"]))
def test_fuzzed_payloads_restore_whole_or_not_at_all(seed, mutations, sanitize):
    payload = mutated(seed, mutations)
    try:
        rdb.restore_value(payload, make_node().config, sanitize == "yes")
    except rdb.RdbError:
        pass  # the only exception decoding may raise
    reply, c = restore(payload, sanitize, skip_checksum=False)
    if reply != b"OK":
        assert reply_text(reply) in (BAD_FORMAT, BAD_PAYLOAD)  # a mutation may hit the RDB version
        assert c.call("EXISTS", "key") == 0
        assert not isinstance(c.call("DEBUG", "DIGEST"), hiredis.ReplyError)
        return
    kind = c.call("TYPE", "key")
    if type(c.node.dbs[0].data[b"key"]) is CorruptValue:  # taken unsanitized as Redis takes it: reading it crashes
        assert sanitize == "no"
        assert payload.startswith(c.call("DUMP", "key")[:-10])  # the value's bytes: not those after it (it may
        # reach into the footer, as Redis reads it from the whole payload)
        assert crash_of(c, "DEBUG", "DIGEST-VALUE", "key") is not None
        return
    assert not isinstance(c.call("DEBUG", "DIGEST"), hiredis.ReplyError)
    for command in [("DEBUG", "DIGEST-VALUE"), ("OBJECT", "ENCODING"), ("DUMP",)]:
        assert not isinstance(c.call(*command, "key"), hiredis.ReplyError), command
    for command, *args in READS[kind]:
        assert not isinstance(c.call(command, "key", *args), hiredis.ReplyError), command
    again = c.call("DUMP", "key")  # what was restored dumps and restores to the same value
    assert c.call("RESTORE", "copy", 0, again) == b"OK"
    assert c.call("DEBUG", "DIGEST-VALUE", "key") == c.call("DEBUG", "DIGEST-VALUE", "copy")
