"""Known bugs to plant in kvcore for a test's duration (with pytest's monkeypatch).

Each planter patches the pure core the way a real regression would look, so
the simulator has to find it from the outside, through the checkers.
"""

from __future__ import annotations

from kvcore import aof, aof_manifest, cluster, failover, migrate, protocol, rdb, rdb_stream, replica, resp, scripting
from kvcore.appendonly import AppendOnly
from kvcore.cluster import ClusterState
from kvcore.cluster_failover import Failover
from kvcore.commands import TABLE, keys, lists, pubsub, stream_reads, strings, zsets
from kvcore.effects import Send
from kvcore.eviction import Evictor
from kvcore.keyspace import Database, drop_watches
from kvcore.node import Node
from kvcore.replication import ReplicationStream
from kvcore.reply import Double, Push
from kvcore.types_hash import HashValue
from kvcore.types_zset import SkipList


def incr_loses_batched_increment(monkeypatch) -> None:
    """INCRBY computes from the value the key had when the node's batch began,
    so of two increments of one key in one batch, the second overwrites the first."""
    take_effects = Node.take_effects

    def buggy_incr(client, key, delta):
        before = client.node.__dict__.setdefault("planted_batch", {})
        if key not in before:
            old = client.db.get_string(key)
            before[key] = 0 if old is None else int(old)
        result = before[key] + delta
        client.db.set(key, b"%d" % result)
        return result

    def take_effects_ending_batch(node):
        node.__dict__.pop("planted_batch", None)
        return take_effects(node)

    monkeypatch.setattr(strings, "_incr", buggy_incr)
    monkeypatch.setattr(Node, "take_effects", take_effects_ending_batch)


def reply_to_reconnected_client(monkeypatch) -> None:
    """A reply for a connection that has closed goes to the newest connection from
    the same client address instead of being dropped (a stale conn-to-client map)."""
    open_ = Node.open
    take_effects = Node.take_effects

    def open_remembering(node, conn, now, addr="", laddr=""):
        node.__dict__.setdefault("planted_latest", {})[addr.rsplit(":", 1)[0]] = conn
        node.__dict__.setdefault("planted_host", {})[conn] = addr.rsplit(":", 1)[0]
        open_(node, conn, now, addr, laddr)

    def take_effects_misrouting(node):
        effects = take_effects(node)
        latest, host = node.__dict__.get("planted_latest", {}), node.__dict__.get("planted_host", {})
        out = []
        for effect in effects:
            if type(effect) is Send and effect.conn not in node.clients and effect.conn in host:
                effect = Send(latest.get(host[effect.conn], effect.conn), effect.data)
            out.append(effect)
        return out

    monkeypatch.setattr(Node, "open", open_remembering)
    monkeypatch.setattr(Node, "take_effects", take_effects_misrouting)


def parser_drops_request_split_after_cr(monkeypatch) -> None:
    """When a segment ends between a request's CR and LF, the reader forgets the
    partial request it holds (as if the CR had ended a line)."""
    feed = protocol.RequestReader.feed

    def buggy_feed(reader, data):
        if getattr(reader, "planted_cut", False):
            reader.__init__(reader.limits)  # a fresh reader: the partial request is gone
        requests, error = feed(reader, data)
        reader.planted_cut = data.endswith(b"\r")
        return requests, error

    monkeypatch.setattr(protocol.RequestReader, "feed", buggy_feed)


def expiry_from_wrong_clock(monkeypatch) -> None:
    """The node clamps its clock to never go backward and checks expiry against
    that, but turns EX/PX into deadlines with the raw clock: after the clock
    steps back, fresh keys are already past their deadline."""
    receive, tick, open_ = Node.receive, Node.tick, Node.open
    parse_expiry = strings.parse_expiry

    def clamp(node, now):
        node.planted_raw_now = now
        node.planted_high_ms = max(getattr(node, "planted_high_ms", now), now)
        return node.planted_high_ms

    def buggy_parse_expiry(client, unit, arg, name):
        value = parse_expiry(client, unit, arg, name)
        if unit in (b"EX", b"PX"):
            value += client.node.planted_raw_now - client.node.now
        return value

    monkeypatch.setattr(Node, "receive", lambda node, conn, data, now: receive(node, conn, data, clamp(node, now)))
    monkeypatch.setattr(Node, "tick", lambda node, now, rss=None: tick(node, clamp(node, now), rss))
    monkeypatch.setattr(Node, "open", lambda node, conn, now, addr="", laddr="": open_(node, conn, clamp(node, now), addr, laddr))
    monkeypatch.setattr(strings, "parse_expiry", buggy_parse_expiry)


def hash_loses_field_at_conversion(monkeypatch) -> None:
    """The field whose HSET takes a hash past hash-max-listpack-entries is lost in the
    conversion to a hashtable, though HSET counts it as added."""
    store = HashValue.store

    def store_losing(value, pairs, config):
        was_hashtable = value.hashtable
        added = store(value, pairs, config)
        if not was_hashtable and value.hashtable:
            value._data.pop(pairs[-2], None)
        return added

    monkeypatch.setattr(HashValue, "store", store_losing)


def skiplist_range_misses_last_member(monkeypatch) -> None:
    """A range over a skiplist-encoded sorted set that reaches its end leaves out the last
    member (an off-by-one in the window's end)."""
    window = SkipList.window

    def window_short(value, start, stop):
        return window(value, start, stop - 1 if stop == len(value) else stop)

    monkeypatch.setattr(SkipList, "window", window_short)


def partial_resync_skips_a_byte(monkeypatch) -> None:
    """A master continuing a replica (+CONTINUE) sends its backlog from one byte past the
    replica's offset: an off-by-one in where the missing bytes start."""

    def try_continue(stream, client, replid, offset):
        return try_continue_(stream, client, replid, offset + 1)

    try_continue_ = ReplicationStream.try_continue
    monkeypatch.setattr(ReplicationStream, "try_continue", try_continue)


def replica_runs_one_command_per_read(monkeypatch) -> None:
    """A replica runs only the first command of what it read from its master, though it counts
    (and passes on) the bytes of them all: a loop that returns too early."""

    def first_only(buffer, pos=0):
        requests, used = split_stream_(buffer, pos)
        if len(requests) < 2:
            return requests, used
        return [(requests[0][0], sum(size for _, size in requests))], used

    split_stream_ = replica.split_stream
    monkeypatch.setattr(replica, "split_stream", first_only)


def expiry_in_the_deadline_millisecond(monkeypatch) -> None:
    """Reads delete a key in the very millisecond of its deadline, where Redis still serves it
    (keyIsExpired: expired when now > when); kvcore had this bug until the expiry workload."""
    get, lookup_read = Database.get, Database.lookup_read

    def expire_at_deadline(db, key):
        if db.expires.get(key) == db.node.now:
            db._expire_if_due(key)

    def buggy_get(db, key):
        expire_at_deadline(db, key)
        return get(db, key)

    def buggy_lookup_read(db, key):
        expire_at_deadline(db, key)
        return lookup_read(db, key)

    monkeypatch.setattr(Database, "get", buggy_get)
    monkeypatch.setattr(Database, "lookup_read", buggy_lookup_read)


def reads_skip_lazy_expiry(monkeypatch) -> None:
    """Reads no longer expire keys themselves: a key past its deadline is served until the
    server cron's active expiry cycle happens to delete it."""
    def buggy_lookup_read(db, key):
        value = db.data.get(key)
        stats = db.node.stats
        if value is None:
            stats.keyspace_misses += 1
        else:
            stats.keyspace_hits += 1
        return value

    monkeypatch.setattr(Database, "lookup_read", buggy_lookup_read)


def pop_takes_the_tail_of_a_longer_list(monkeypatch) -> None:
    """LPOP (and BLPOP) take the last element instead of the first once a list holds more than
    two, as a regression in the list's second representation would."""
    pop_from = lists._pop_from

    def buggy_pop_from(client, key, source, left, count):
        return pop_from(client, key, source, left and len(source) <= 2, count)

    monkeypatch.setattr(lists, "_pop_from", buggy_pop_from)


def woken_blpop_leaves_its_element(monkeypatch) -> None:
    """A BLPOP woken by a push replies with the list's head but leaves it in the list."""
    def buggy_serve_pop(left):
        def resume(client, key):
            source = client.db.get(key)
            if type(source) is not lists.ListValue:
                return False
            client.reply([key, source[0] if left else source[-1]])
            return True

        return resume

    monkeypatch.setattr(lists, "_serve_pop", buggy_serve_pop)


def listpack_scores_lose_their_high_bits(monkeypatch) -> None:
    """A snapshot stores a small sorted set's integral scores as 32-bit integers (a wrong width in
    the listpack encoder), so a score past 2**31 comes back wrapped from the file."""
    listpack_score = rdb.listpack_score_entry

    def buggylistpack_score_entry(score):
        stored = listpack_score(score)
        return (stored + 2**31) % 2**32 - 2**31 if type(stored) is int else stored

    monkeypatch.setattr(rdb, "listpack_score_entry", buggylistpack_score_entry)


def set_logs_its_relative_ttl(monkeypatch) -> None:
    """SET with EX or PX is logged and replicated as given instead of with its deadline (PXAT),
    so every replay of the log sets a later deadline than the one the key had."""
    set_command = TABLE[b"set"]
    handler = set_command.handler

    def buggy_set(client, argv):
        reply = handler(client, argv)
        if any(arg.upper() in (b"EX", b"PX") for arg in argv[3:]):
            client.propagate_as = None
        return reply

    monkeypatch.setattr(set_command, "handler", buggy_set)


def replica_log_runs_through_a_full_sync(monkeypatch) -> None:
    """A replica with appendonly yes loads a full sync without restarting its log through a
    rewrite (Redis's restartAOFAfterSYNC): its log never holds what the sync loaded."""
    load = replica.MasterLink._load

    def buggy_load(link, payload):
        config_changed = AppendOnly.config_changed
        AppendOnly.config_changed = lambda aof, on: None
        try:
            load(link, payload)
        finally:
            AppendOnly.config_changed = config_changed

    monkeypatch.setattr(replica.MasterLink, "_load", buggy_load)


def spop_logged_as_given(monkeypatch) -> None:
    """SPOP is logged and replicated as SPOP instead of as the SREMs of what it popped, so a
    replica or a replay of the log pops other members."""
    _drop_rewrite(monkeypatch, b"spop")


def xadd_logs_its_star(monkeypatch) -> None:
    """XADD with ``*`` is logged and replicated as given instead of with the ID it chose, so a
    replica or a replay of the log makes entries with other IDs."""
    _drop_rewrite(monkeypatch, b"xadd")


def _drop_rewrite(monkeypatch, name: bytes) -> None:
    """The command `name` propagates its own arguments, whatever it rewrote them to."""
    command = TABLE[name]
    handler = command.handler

    def buggy(client, argv):
        reply = handler(client, argv)
        client.propagate_as = None
        return reply

    monkeypatch.setattr(command, "handler", buggy)


def publish_counts_only_channel_subscribers(monkeypatch) -> None:
    """PUBLISH delivers to pattern subscribers but leaves them out of the count it replies."""
    publish_message = pubsub.publish_message

    def buggy_publish_message(node, channel, message):
        publish_message(node, channel, message)
        return len(node.pubsub_channels.get(channel, ()))

    monkeypatch.setattr(pubsub, "publish_message", buggy_publish_message)


def glob_class_closing_a_pattern_never_matches(monkeypatch) -> None:
    """A character class at the very end of a pattern (``news.[ab]``) matches nothing, so pattern
    subscribers miss what such a pattern should hear."""
    glob_match = pubsub.glob_match

    def buggy_glob_match(pattern, string, nocase=False):
        if pattern.endswith(b"]") and b"[" in pattern:
            return False
        return glob_match(pattern, string, nocase)

    monkeypatch.setattr(pubsub, "glob_match", buggy_glob_match)


def watch_misses_the_last_watcher(monkeypatch) -> None:
    """A write to a WATCHed key marks every watcher dirty but the last (a loop one short), so the
    last one's transaction commits over what it read before: a lost update."""
    touch = Database.touch

    def buggy_touch(db, key):
        clients = db.watchers.get(key)
        if not clients:
            return
        last = clients[-1]
        db.watchers[key] = clients[:-1]
        touch(db, key)
        db.watchers.setdefault(key, []).append(last)

    monkeypatch.setattr(Database, "touch", buggy_touch)


def watch_dirties_only_a_lone_watcher(monkeypatch) -> None:
    """A write to a key that several clients WATCH forgets all of them but one without marking them
    dirty, so their transactions commit over what they read before. Only seen when three clients
    hold a WATCH on one key at once."""
    touch = Database.touch

    def buggy_touch(db, key):
        for client in db.watchers.get(key, [])[:-1]:
            drop_watches(client)
        touch(db, key)

    monkeypatch.setattr(Database, "touch", buggy_touch)


def replica_serves_expired_keys(monkeypatch) -> None:
    """A replica, which waits for its master's DEL of an expired key, serves the key meanwhile
    instead of hiding it."""
    expire_if_due = Database._expire_if_due
    monkeypatch.setattr(Database, "_expire_if_due", lambda db, key: False if db.node.is_replica else expire_if_due(db, key))


def resp3_pushes_sent_as_arrays(monkeypatch) -> None:
    """A push frame (a pub/sub message, a subscribe confirmation) is encoded as an array in RESP3
    too, as if the connection's protocol were not consulted; RESP3 clients take it for a reply."""
    push = resp._ENCODERS[Push]
    monkeypatch.setitem(resp._ENCODERS, Push, lambda reply, resp3, out: push(reply, False, out))


def resp3_doubles_sent_as_bulk_strings(monkeypatch) -> None:
    """A double (a sorted set's score) goes out as a bulk string in RESP3 too, as RESP2 sends it:
    a RESP3 client reads a score as text where the protocol promises a number."""
    double = resp._ENCODERS[Double]
    monkeypatch.setitem(resp._ENCODERS, Double, lambda reply, resp3, out: double(reply, False, out))


def volatile_eviction_takes_any_key(monkeypatch) -> None:
    """The volatile-* policies sample every key instead of only those with a TTL (the flag
    dropped on its way to the sampler): keys that should stay are evicted."""
    pick = Evictor._pick

    def buggy_pick(evictor, policy):
        return pick(evictor, policy.replace("volatile-", "allkeys-"))

    monkeypatch.setattr(Evictor, "_pick", buggy_pick)


def maxmemory_taken_as_kilobytes(monkeypatch) -> None:
    """Eviction compares the used bytes with maxmemory read as kilobytes (a unit slip): it never
    evicts nor refuses a write at a sensible limit, and memory grows without bound."""
    perform = Evictor.perform

    def buggy_perform(evictor):
        values = evictor.node.config.values
        limit = values["maxmemory"]
        values["maxmemory"] = limit * 1024
        try:
            return perform(evictor)
        finally:
            values["maxmemory"] = limit

    monkeypatch.setattr(Evictor, "perform", buggy_perform)


def xreadgroup_propagates_no_lastid(monkeypatch) -> None:
    """The XCLAIM an XREADGROUP is logged and replicated as loses its LASTID: a replica's group,
    or one reloaded from the log, stays behind, and delivers its entries again."""
    record = stream_reads.xclaim_record

    def buggy_record(key, group, ident, nack):
        return record(key, group, ident, nack)[:-2]

    monkeypatch.setattr(stream_reads, "xclaim_record", buggy_record)


def deleted_key_keeps_its_ttl(monkeypatch) -> None:
    """DEL (and every other deletion) leaves the key's expiry behind: a volatile eviction policy
    then picks keys that are no longer there, frees nothing, and picks again for ever."""

    def delete_leaving_ttl(db, key):
        when = db.expires.get(key)
        deleted = delete(db, key)
        if when is not None:
            db.expires[key] = when
        return deleted

    delete = Database.delete
    monkeypatch.setattr(Database, "delete", delete_leaving_ttl)


def list_emptied_by_one_pop_stays(monkeypatch) -> None:
    """A list that a pop of one element empties is kept, empty, so the next pop of it takes from nothing."""

    def written_or_kept(client, key, value, changes):
        if value or changes == 1:
            client.db.written(key, changes)
            return
        written_or_deleted(client, key, value, changes)

    written_or_deleted = lists._written_or_deleted
    monkeypatch.setattr(lists, "_written_or_deleted", written_or_kept)


def set_keeps_the_old_ttl(monkeypatch) -> None:
    """A write that replaces a string keeps the TTL the key had, as SET's KEEPTTL does, though it was not asked."""
    set_ = Database.set
    monkeypatch.setattr(Database, "set", lambda db, key, value, keep_ttl=False: set_(db, key, value, True))


def set_nx_ignored_beside_a_ttl(monkeypatch) -> None:
    """SET's NX is lost when the command also gives a TTL: it writes whatever the key holds."""
    set_command = TABLE[b"set"]
    handler = set_command.handler

    def buggy_set(client, argv):
        if any(arg.upper() in (b"EX", b"PX") for arg in argv[3:]):
            argv = [arg for arg in argv if arg.upper() != b"NX"]
        return handler(client, argv)

    monkeypatch.setattr(set_command, "handler", buggy_set)


def set_get_returns_the_new_value(monkeypatch) -> None:
    """SET ... GET reads the key after writing it, so it returns the value it wrote."""
    set_command = TABLE[b"set"]
    handler = set_command.handler

    def buggy_set(client, argv):
        reply = handler(client, argv)
        return argv[2] if any(arg.upper() == b"GET" for arg in argv[3:]) else reply

    monkeypatch.setattr(set_command, "handler", buggy_set)


def del_skips_keys_with_a_ttl(monkeypatch) -> None:
    """DEL leaves a key that has a TTL (a regression in telling live keys from expired ones)."""

    def delete_live_without_ttl(db, keys):
        return delete_live(db, [key for key in keys if key not in db.expires])

    delete_live = keys._delete_live
    monkeypatch.setattr(keys, "_delete_live", delete_live_without_ttl)


def gt_takes_a_key_without_ttl_as_expiring_now(monkeypatch) -> None:
    """EXPIRE's GT treats a key without a TTL as one expiring at once, so GT gives it a TTL
    (Redis 7.0 takes it as never expiring, so GT never does)."""
    allowed = keys._expiry_allowed

    def buggy_allowed(flags, when, current):
        if b"GT" in flags and current is None:
            return True
        return allowed(flags, when, current)

    monkeypatch.setattr(keys, "_expiry_allowed", buggy_allowed)


def _wrap_command(monkeypatch, name: bytes, wrapper) -> None:
    """Patch a command's handler: ``wrapper(handler, client, argv)`` runs in its place."""
    command = TABLE[name]
    handler = command.handler
    monkeypatch.setattr(command, "handler", lambda client, argv: wrapper(handler, client, argv))


def lrem_ignores_the_sign_of_its_count(monkeypatch) -> None:
    """LREM with a negative count removes from the head, as a positive one does, not from the tail."""

    def from_the_head(handler, client, argv):
        count = argv[2]
        return handler(client, [*argv[:2], count.lstrip(b"-"), *argv[3:]])

    _wrap_command(monkeypatch, b"lrem", from_the_head)


def lpos_maxlen_compares_one_more(monkeypatch) -> None:
    """LPOS ... MAXLEN n compares n + 1 elements, finding a match just past the limit."""
    positions = lists._positions

    def one_more(value, element, rank, count, maxlen):
        return positions(value, element, rank, count, maxlen + 1 if maxlen else 0)

    monkeypatch.setattr(lists, "_positions", one_more)


def zadd_incr_ignores_xx(monkeypatch) -> None:
    """ZADD XX INCR adds a member the sorted set lacks, as if XX were not given."""

    def without_xx(handler, client, argv):
        words = [arg.upper() for arg in argv]
        if b"INCR" in words and b"XX" in words:
            argv = [arg for arg, word in zip(argv, words) if word != b"XX"]
        return handler(client, argv)

    _wrap_command(monkeypatch, b"zadd", without_xx)


def restored_stream_forgets_delivery_counts(monkeypatch) -> None:
    """A stream loaded from RDB (RESTORE, a snapshot, a full sync) has every pending entry delivered once."""
    read_group = rdb_stream._read_group

    def forgetting(cursor, value, kind):
        read_group(cursor, value, kind)
        for group in value.groups.values():
            for nack in group.pending.items.values():
                nack.delivery_count = 1

    monkeypatch.setattr(rdb_stream, "_read_group", forgetting)


def incr_wraps_past_the_64_bit_limit(monkeypatch) -> None:
    """INCRBY past a 64-bit integer's ends wraps around (as C's unchecked addition) instead of refusing."""
    incr = strings._incr

    def wrapping(client, key, delta):
        old = client.db.get(key)
        canonical = type(old) is bytes and old.lstrip(b"-").isdigit() and b"%d" % int(old) == old
        if canonical and -2**63 <= int(old) < 2**63 and not -2**63 <= int(old) + delta < 2**63:
            client.db.set(key, b"%d" % ((int(old) + delta + 2**63) % 2**64 - 2**63))
            delta = 0
        return incr(client, key, delta)

    monkeypatch.setattr(strings, "_incr", wrapping)


def wrong_type_pushx_served(monkeypatch) -> None:
    """LPUSHX and RPUSHX on a key of another type answer 0 instead of WRONGTYPE."""

    def unchecked(handler, client, argv):
        value = client.db.get(argv[1])
        if value is not None and (type(value) is bytes or value.TYPE != "list"):
            return 0
        return handler(client, argv)

    _wrap_command(monkeypatch, b"lpushx", unchecked)
    _wrap_command(monkeypatch, b"rpushx", unchecked)


def rewrite_drops_the_incr_being_written(monkeypatch) -> None:
    """A finished log rewrite's manifest makes history of every incr file, the one written since the
    rewrite began too: what was logged after the rewrite started is gone at the next load."""

    def dropping(manifest, aof_filename, rdb_preamble, aof_on=True):
        manifest, base_name = aof_manifest.new_base(manifest, aof_filename, rdb_preamble)
        return aof_manifest.mark_incrs_history(manifest, keep_last=False), base_name

    monkeypatch.setattr(aof_manifest, "rewrite_done", dropping)


def lex_range_takes_an_exclusive_start_as_inclusive(monkeypatch) -> None:
    """A lex range's exclusive start (``(b``) lets in the member it names, as ``[b`` would
    (ZRANGEBYLEX, ZRANGE BYLEX, ZLEXCOUNT, ZREMRANGEBYLEX)."""
    parse = zsets.parse_lex_range

    def inclusive_start(low, high):
        spec = parse(low, high)
        spec.low_open = False
        return spec

    monkeypatch.setattr(zsets, "parse_lex_range", inclusive_start)


def smove_leaves_the_member_in_the_source(monkeypatch) -> None:
    """SMOVE adds the member to the destination and forgets to take it out of the source."""
    sadd = TABLE[b"sadd"].handler

    def copying(handler, client, argv):
        moved = handler(client, argv)
        if moved == 1:
            sadd(client, [b"SADD", argv[1], argv[3]])
        return moved

    _wrap_command(monkeypatch, b"smove", copying)


def hincrby_of_a_new_field_starts_at_one(monkeypatch) -> None:
    """HINCRBY of a field the hash lacks counts from 1 instead of 0."""

    def off_by_one(handler, client, argv):
        fields = client.db.get(argv[1])
        if fields is None or argv[2] not in fields:
            return handler(client, [*argv[:3], b"%d" % (int(argv[3]) + 1)])
        return handler(client, argv)

    _wrap_command(monkeypatch, b"hincrby", off_by_one)


def script_arrays_end_at_a_nil(monkeypatch) -> None:
    """A nil inside an array reply reaches Lua as nil instead of false, so the array a script returns
    ends there (HMGET of a missing field, from a script, loses the fields after it)."""
    to_lua = scripting._to_lua

    def nil_in_arrays(lua, reply, resp3=False):
        if type(reply) is list and None in reply:
            return lua.table_from([None if item is None else to_lua(lua, item, resp3) for item in reply])
        return to_lua(lua, reply, resp3)

    monkeypatch.setattr(scripting, "_to_lua", nil_in_arrays)


def list_rewritten_in_reverse(monkeypatch) -> None:
    """BGREWRITEAOF without the RDB preamble writes a list's items with LPUSH, so the rewritten log
    rebuilds every list reversed (the default preamble hides it: its base is a snapshot)."""
    rewrite_key = aof.rewrite_key

    def reversed_lists(key, value):
        return [[b"LPUSH", *argv[1:]] if argv[0] == b"RPUSH" else argv for argv in rewrite_key(key, value)]

    monkeypatch.setattr(aof, "rewrite_key", reversed_lists)


def scan_drops_the_last_key_of_a_batch(monkeypatch) -> None:
    """SCAN leaves out the last key it found in a call whenever more calls follow (a cursor moved one
    past it), so a key present for the whole iteration can go unreturned."""
    scan = Database.scan

    def dropping(db, cursor, count, accept):
        following, found = scan(db, cursor, count, accept)
        return following, (found[:-1] if following else found)

    monkeypatch.setattr(Database, "scan", dropping)


def lmove_takes_the_tail_for_the_head(monkeypatch) -> None:
    """LMOVE and BLMOVE take from the source's tail when told LEFT (its `wherefrom` read as `whereto`)."""

    def from_the_tail(handler, client, argv):
        return handler(client, [*argv[:3], b"RIGHT", *argv[4:]] if argv[3].upper() == b"LEFT" else argv)

    _wrap_command(monkeypatch, b"lmove", from_the_tail)
    _wrap_command(monkeypatch, b"blmove", from_the_tail)


def append_drops_the_ttl(monkeypatch) -> None:
    """APPEND writes the longer string as a new value, so the key loses its TTL."""

    def dropping_ttl(handler, client, argv):
        reply = handler(client, argv)
        client.db.persist(argv[1])
        return reply

    _wrap_command(monkeypatch, b"append", dropping_ttl)


def incrbyfloat_replicated_without_keepttl(monkeypatch) -> None:
    """INCRBYFLOAT is logged and replicated as a plain SET of its result, which drops the key's
    TTL on the replicas and at the next load, though the primary keeps it."""

    def plain_set(handler, client, argv):
        reply = handler(client, argv)
        client.propagate_as = [[b"SET", argv[1], reply]]
        return reply

    _wrap_command(monkeypatch, b"incrbyfloat", plain_set)


def del_deletes_only_its_first_key(monkeypatch) -> None:
    """DEL of several keys deletes the first and counts it, and leaves the others."""
    _wrap_command(monkeypatch, b"del", lambda handler, client, argv: handler(client, argv[:2]))


def xack_acknowledges_only_its_first_id(monkeypatch) -> None:
    """XACK of several IDs acknowledges the first and leaves the others pending."""
    _wrap_command(monkeypatch, b"xack", lambda handler, client, argv: handler(client, argv[:4]))


def bitcount_reads_bit_ranges_as_bytes(monkeypatch) -> None:
    """BITCOUNT key start end BIT counts the bytes start..end, as if the unit were BYTE."""
    _wrap_command(monkeypatch, b"bitcount", lambda handler, client, argv: handler(client, argv[:4]))


def bitop_keeps_the_destinations_ttl(monkeypatch) -> None:
    """BITOP writes its result into the destination in place, keeping the destination's deadline."""

    def keeping_ttl(handler, client, argv):
        destination = argv[2]
        deadline = client.db.ttl_ms(destination)
        reply = handler(client, argv)
        if deadline is not None and client.db.exists(destination):
            client.db.set_expire(destination, deadline)
        return reply

    _wrap_command(monkeypatch, b"bitop", keeping_ttl)


def json_arrpop_pops_the_first_element(monkeypatch) -> None:
    """JSON.ARRPOP with no index pops the first element instead of the last."""

    def from_the_front(handler, client, argv):
        return handler(client, [*argv, b"0"] if len(argv) == 3 else argv)

    _wrap_command(monkeypatch, b"json.arrpop", from_the_front)


def json_set_of_the_root_drops_the_ttl(monkeypatch) -> None:
    """JSON.SET of an existing document's root replaces the key, deadline and all, instead of the value."""

    def dropping_ttl(handler, client, argv):
        existed = client.db.exists(argv[1])
        reply = handler(client, argv)
        if existed and argv[2] == b"$" and reply is not None:
            client.db.persist(argv[1])
        return reply

    _wrap_command(monkeypatch, b"json.set", dropping_ttl)


def pfmerge_drops_the_destinations_members(monkeypatch) -> None:
    """PFMERGE replaces its destination with the sources' union instead of merging into it."""

    def replacing(handler, client, argv):
        if argv[1] not in argv[2:]:
            client.db.delete(argv[1])
        return handler(client, argv)

    _wrap_command(monkeypatch, b"pfmerge", replacing)


def zremrangebyscore_takes_exclusive_bounds_as_inclusive(monkeypatch) -> None:
    """ZREMRANGEBYSCORE removes the members at an exclusive bound, ``(3`` as if it were ``3``."""

    def inclusive(handler, client, argv):
        return handler(client, [*argv[:2], *(bound.lstrip(b"(") for bound in argv[2:])])

    _wrap_command(monkeypatch, b"zremrangebyscore", inclusive)


def lmpop_tries_its_keys_last_first(monkeypatch) -> None:
    """LMPOP pops from the last non-empty key it names instead of the first."""

    def last_first(handler, client, argv):
        count = int(argv[1])
        keys = argv[2:2 + count]
        return handler(client, [*argv[:2], *keys[::-1], *argv[2 + count:]])

    _wrap_command(monkeypatch, b"lmpop", last_first)


def snapshots_leave_out_function_libraries(monkeypatch) -> None:
    """An RDB snapshot (and so a full sync's payload) is written without the FUNCTION libraries."""
    monkeypatch.setattr(rdb, "function_records", lambda node, compress: b"")


def log_rewrites_leave_out_function_libraries(monkeypatch) -> None:
    """A log rewritten as commands starts without the FUNCTION LOADs of the libraries."""
    rewrite = aof.rewrite_dataset

    def without_libraries(node, timestamp_s=None):
        libraries, node.functions.libraries = node.functions.libraries, {}
        try:
            return rewrite(node, timestamp_s)
        finally:
            node.functions.libraries = libraries

    monkeypatch.setattr(aof, "rewrite_dataset", without_libraries)


def move_does_not_count_as_a_write(monkeypatch) -> None:
    """MOVE leaves the dirty counter as it was, so it is neither logged nor replicated."""

    def unlogged(handler, client, argv):
        dirty = client.node.stats.dirty
        reply = handler(client, argv)
        client.node.stats.dirty = dirty
        return reply

    _wrap_command(monkeypatch, b"move", unlogged)


def failover_goes_ahead_before_the_replica_caught_up(monkeypatch) -> None:
    """FAILOVER hands over at once, without waiting for its target to acknowledge every write."""

    def hasty(self):
        if self.state == failover.WAIT_FOR_SYNC and self.host is not None:
            self._fail_over()

    monkeypatch.setattr(failover.Failover, "update", hasty)


def xread_includes_the_id_it_starts_after(monkeypatch) -> None:
    """XREAD returns the entry at the ID it was given, as well as those after it."""

    def from_the_id(handler, client, argv):
        at = [arg.upper() for arg in argv].index(b"STREAMS")
        names = argv[at + 1:]
        keys, ids = names[:len(names) // 2], names[len(names) // 2:]
        earlier = [_one_before(ident) for ident in ids]
        return handler(client, [*argv[:at + 1], *keys, *earlier])

    _wrap_command(monkeypatch, b"xread", from_the_id)


def _one_before(ident: bytes) -> bytes:
    """The stream ID just before ``ms-seq`` (``$`` and IDs at sequence 0 stay as they are)."""
    ms, _, seq = ident.partition(b"-")
    if ident == b"$" or not seq or int(seq) == 0:
        return ident
    return b"%s-%d" % (ms, int(seq) - 1)


def geosearch_sorts_desc_as_asc(monkeypatch) -> None:
    """GEOSEARCH DESC gives the nearest points first, as ASC does."""

    def ascending(handler, client, argv):
        return handler(client, [b"ASC" if arg.upper() == b"DESC" else arg for arg in argv])

    _wrap_command(monkeypatch, b"geosearch", ascending)


def zscan_drops_the_last_pair_of_a_page(monkeypatch) -> None:
    """ZSCAN leaves out the last member (and its score) of a page whenever more pages follow."""
    _wrap_command(monkeypatch, b"zscan", _dropping_the_last_pair)


def hscan_drops_the_last_pair_of_a_page(monkeypatch) -> None:
    """HSCAN leaves out the last field (and its value) of a page whenever more pages follow."""
    _wrap_command(monkeypatch, b"hscan", _dropping_the_last_pair)


def _dropping_the_last_pair(handler, client, argv):
    cursor, found = handler(client, argv)
    return [cursor, found[:-2] if cursor != b"0" else found]


def demoted_master_drops_its_keys(monkeypatch) -> None:
    """A cluster master whose slots a failover took drops its keys in them before it follows the
    new master as its replica (the dirty-slot clean-up run where Redis skips it): the partial
    resync that follows sends nothing, and the replica stays without them."""
    follow = ClusterState.lost_all_slots_to

    def dropping(self, winner):
        self.node.dbs[0].data.clear()
        self.node.dbs[0].expires.clear()
        follow(self, winner)

    monkeypatch.setattr(ClusterState, "lost_all_slots_to", dropping)


def crc16_from_the_wrong_initial_value(monkeypatch) -> None:
    """The cluster's CRC16 starts from 0xFFFF (CRC-CCITT's) instead of 0 (XMODEM's, as the cluster
    spec says): every node agrees on the wrong slots, so keys settle where no client looks."""
    table = cluster._CRC16

    def ccitt(data: bytes) -> int:
        crc = 0xFFFF
        for byte in data:
            crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
        return crc

    monkeypatch.setattr(cluster, "crc16", ccitt)


def migrate_lets_other_clients_run(monkeypatch) -> None:
    """MIGRATE waits for its target's replies without holding the other clients: a write to a key
    on its way runs here, and the target keeps the value from before it."""
    start = migrate.Migrations.start

    def unheld(self, *args, **kwargs):
        start(self, *args, **kwargs)
        self.node.pause.end(migrate.MIGRATION)

    monkeypatch.setattr(migrate.Migrations, "start", unheld)


def migrating_slot_served_without_ask(monkeypatch) -> None:
    """A master migrating a slot away serves a key it no longer has instead of answering -ASK:
    a read of a key already moved finds nothing, a write lands where the move has passed."""
    route = ClusterState._route

    def no_ask(self, *args, **kwargs):
        error, slot = route(self, *args, **kwargs)
        return (None if error is not None and error.text.startswith("ASK ") else error), slot

    monkeypatch.setattr(ClusterState, "_route", no_ask)


def won_election_kept(monkeypatch) -> None:
    """A replica that won an election keeps its votes (Redis 7.0's failover_auth_count): failed over
    again soon after, it wins at once under the old epoch, which another master may hold by then."""
    monkeypatch.setattr(Failover, "reset_election", lambda self: None)


def migrate_restores_without_asking(monkeypatch) -> None:
    """MIGRATE sends plain RESTOREs in cluster mode too: the target, still importing the slot,
    redirects them, and the move never ends."""
    encode = migrate.encode_command

    def plain(argv):
        return encode([b"RESTORE" if argv[0] == b"RESTORE-ASKING" else argv[0], *argv[1:]])

    monkeypatch.setattr(migrate, "encode_command", plain)
