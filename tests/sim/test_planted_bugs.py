"""The simulator finds bugs: each test plants a known bug in kvcore and sweeps seeds until a run fails.

A sweep stops at the first failing seed (at most `SEEDS_MAX`), and the same
seed must pass once the bug is gone, so the failure is the bug's doing.
"""

from __future__ import annotations

import pytest

from sim import halt
from sim.sweep import first_failure
from sim.world import RunConfig, run
from tests.sim import planted

SEEDS_MAX = 200
STUCK_WALL_S = 2.0  # a planted endless loop stops a run this soon

CASES = {
    "incr-loses-batched-increment": (
        planted.incr_loses_batched_increment,
        RunConfig(workload="counter", clients=5, duration_ms=5000, faults=("pause",), config=(("appendonly", "no"),)),
        {"linearizability"},
    ),
    "reply-to-reconnected-client": (
        planted.reply_to_reconnected_client,
        RunConfig(workload="register", clients=5, duration_ms=5000, faults=("pause",)),
        {"client", "linearizability"},
    ),
    "set-nx-ignored-beside-a-ttl": (
        planted.set_nx_ignored_beside_a_ttl,
        RunConfig(workload="register", clients=5, duration_ms=5000),
        {"linearizability"},
    ),
    "set-get-returns-the-new-value": (
        planted.set_get_returns_the_new_value,
        RunConfig(workload="register", clients=5, duration_ms=5000),
        {"linearizability"},
    ),
    "del-skips-keys-with-a-ttl": (
        planted.del_skips_keys_with_a_ttl,
        RunConfig(workload="register", clients=5, duration_ms=5000),
        {"linearizability"},
    ),
    "parser-drops-split-request": (
        planted.parser_drops_request_split_after_cr,
        RunConfig(workload="register", clients=3, duration_ms=3000),
        {"client"},
    ),
    "hash-loses-field-at-conversion": (
        planted.hash_loses_field_at_conversion,
        RunConfig(workload="hash", clients=3, duration_ms=5000, config=(("hash-max-listpack-entries", "8"),)),
        {"set", "durability"},
    ),
    "skiplist-range-misses-last-member": (
        planted.skiplist_range_misses_last_member,
        RunConfig(workload="zset", clients=3, duration_ms=5000, config=(("zset-max-listpack-entries", "8"),)),
        {"set", "durability"},
    ),
    "expiry-from-wrong-clock": (
        planted.expiry_from_wrong_clock,
        RunConfig(workload="register", clients=3, duration_ms=5000, faults=("clock",)),
        {"linearizability", "durability"},
    ),
    "expiry-in-the-deadline-millisecond": (
        planted.expiry_in_the_deadline_millisecond,
        RunConfig(workload="expiry", clients=5, duration_ms=5000),
        {"expiry"},
    ),
    "reads-skip-lazy-expiry": (
        planted.reads_skip_lazy_expiry,
        RunConfig(workload="expiry", clients=3, duration_ms=5000),
        {"expiry"},
    ),
    "set-keeps-the-old-ttl": (
        planted.set_keeps_the_old_ttl,
        RunConfig(workload="expiry", clients=3, duration_ms=5000),
        {"expiry"},
    ),
    "gt-takes-a-key-without-ttl-as-expiring-now": (
        planted.gt_takes_a_key_without_ttl_as_expiring_now,
        RunConfig(workload="expiry", clients=3, duration_ms=5000),
        {"client", "expiry"},
    ),
    "pop-takes-the-tail-of-a-longer-list": (
        planted.pop_takes_the_tail_of_a_longer_list,
        RunConfig(workload="queue", clients=5, duration_ms=5000),
        {"queue"},
    ),
    "lmove-takes-the-tail-for-the-head": (
        planted.lmove_takes_the_tail_for_the_head,
        RunConfig(workload="queue", clients=5, duration_ms=5000),
        {"queue"},
    ),
    "woken-blpop-leaves-its-element": (
        planted.woken_blpop_leaves_its_element,
        RunConfig(workload="queue", clients=5, duration_ms=5000),
        {"queue"},
    ),
    "partial-resync-skips-a-byte": (
        planted.partial_resync_skips_a_byte,
        RunConfig(workload="register", replicas=1, clients=3, duration_ms=10_000, faults=("partition",)),
        {"convergence"},
    ),
    "replica-runs-one-command-per-read": (
        planted.replica_runs_one_command_per_read,
        RunConfig(workload="counter", replicas=1, clients=5, duration_ms=5000, faults=("pause",)),
        {"convergence"},
    ),
    "listpack-scores-lose-their-high-bits": (
        planted.listpack_scores_lose_their_high_bits,
        RunConfig(workload="zset", clients=3, duration_ms=3000),
        {"restart"},
    ),
    "set-logs-its-relative-ttl": (
        planted.set_logs_its_relative_ttl,
        RunConfig(workload="register", clients=3, duration_ms=3000, config=(("appendonly", "yes"),)),
        {"restart"},
    ),
    "replica-log-runs-through-a-full-sync": (
        planted.replica_log_runs_through_a_full_sync,
        RunConfig(workload="set", replicas=1, clients=3, duration_ms=5000, faults=("partition",),
                  config=(("appendonly", "yes"),)),
        {"restart"},
    ),
    "list-rewritten-in-reverse": (
        planted.list_rewritten_in_reverse,
        RunConfig(workload="append", clients=3, duration_ms=3000, config=(("appendonly", "yes"),)),
        {"restart"},
    ),
    "spop-logged-as-given": (
        planted.spop_logged_as_given,
        RunConfig(workload="mixed", replicas=1, clients=3, duration_ms=5000),
        {"convergence", "restart"},
    ),
    "xadd-logs-its-star": (
        planted.xadd_logs_its_star,
        RunConfig(workload="mixed", clients=3, duration_ms=5000, config=(("appendonly", "yes"),)),
        {"restart"},
    ),
    "publish-counts-only-channel-subscribers": (
        planted.publish_counts_only_channel_subscribers,
        RunConfig(workload="pubsub", clients=3, duration_ms=5000),
        {"pubsub"},
    ),
    "glob-class-closing-a-pattern-never-matches": (
        planted.glob_class_closing_a_pattern_never_matches,
        RunConfig(workload="pubsub", clients=3, duration_ms=5000),
        {"pubsub"},
    ),
    "watch-misses-the-last-watcher": (
        planted.watch_misses_the_last_watcher,
        RunConfig(workload="bank", clients=5, duration_ms=5000),
        {"bank"},
    ),
    "volatile-eviction-takes-any-key": (
        planted.volatile_eviction_takes_any_key,
        RunConfig(workload="cache", clients=3, duration_ms=5000),
        {"cache"},
    ),
    "maxmemory-taken-as-kilobytes": (
        planted.maxmemory_taken_as_kilobytes,
        RunConfig(workload="cache", clients=3, duration_ms=5000),
        {"cache"},
    ),
    "xreadgroup-propagates-no-lastid": (
        planted.xreadgroup_propagates_no_lastid,
        RunConfig(workload="stream", clients=3, duration_ms=5000, config=(("appendonly", "yes"),)),
        {"restart", "queue"},
    ),
    "deleted-key-keeps-its-ttl": (
        planted.deleted_key_keeps_its_ttl,
        RunConfig(workload="cache", clients=3, duration_ms=5000),
        {"completion"},
    ),
    "list-emptied-by-one-pop-stays": (
        planted.list_emptied_by_one_pop_stays,
        RunConfig(workload="queue", clients=3, duration_ms=5000),
        {"completion", "restart"},
    ),
    "lrem-ignores-the-sign-of-its-count": (
        planted.lrem_ignores_the_sign_of_its_count,
        RunConfig(workload="reference", clients=3, duration_ms=5000),
        {"reference"},
    ),
    "lpos-maxlen-compares-one-more": (
        planted.lpos_maxlen_compares_one_more,
        RunConfig(workload="reference", clients=2, duration_ms=5000),  # the second client's keys are lists
        {"reference"},
    ),
    "zadd-incr-ignores-xx": (
        planted.zadd_incr_ignores_xx,
        RunConfig(workload="reference", clients=5, duration_ms=5000),  # the fifth client's keys are sorted sets
        {"reference"},
    ),
    "restored-stream-forgets-delivery-counts": (
        planted.restored_stream_forgets_delivery_counts,
        RunConfig(workload="reference", clients=6, duration_ms=30_000),  # the sixth client's keys are streams
        {"reference"},
    ),
    "incr-wraps-past-the-64-bit-limit": (
        planted.incr_wraps_past_the_64_bit_limit,
        RunConfig(workload="reference", clients=1, duration_ms=20_000),  # the first client's keys are strings
        {"reference"},
    ),
    "wrong-type-pushx-served": (
        planted.wrong_type_pushx_served,
        RunConfig(workload="reference", clients=5, duration_ms=10_000),
        {"reference"},
    ),
    "lex-range-takes-an-exclusive-start-as-inclusive": (
        planted.lex_range_takes_an_exclusive_start_as_inclusive,
        RunConfig(workload="reference", clients=11, duration_ms=5000),  # the eleventh client's keys are for lex ranges
        {"reference"},
    ),
    "resp3-doubles-sent-as-bulk-strings": (
        planted.resp3_doubles_sent_as_bulk_strings,
        RunConfig(workload="reference", clients=5, duration_ms=5000),  # the fifth client's keys are sorted sets
        {"client"},
    ),
    "demoted-master-drops-its-keys": (
        planted.demoted_master_drops_its_keys,
        RunConfig(workload="register", nodes=2, replicas=1, cluster=True, duration_ms=10_000, faults=("failover",),
                  config=(("appendonly", "yes"), ("appendfsync", "always"))),
        {"convergence"},
    ),
    "crc16-from-the-wrong-initial-value": (
        planted.crc16_from_the_wrong_initial_value,
        RunConfig(workload="register", nodes=3, cluster=True, duration_ms=3000),
        {"client"},
    ),
    "migrate-lets-other-clients-run": (
        planted.migrate_lets_other_clients_run,
        RunConfig(workload="register", nodes=3, cluster=True, duration_ms=20_000, faults=("reshard",), think_ms_mean=50),
        {"linearizability", "durability"},
    ),
    "migrate-restores-without-asking": (
        planted.migrate_restores_without_asking,
        RunConfig(workload="register", nodes=3, cluster=True, duration_ms=10_000, faults=("reshard",)),
        {"placement"},
    ),
    "migrating-slot-served-without-ask": (
        planted.migrating_slot_served_without_ask,
        RunConfig(workload="register", nodes=3, cluster=True, clients=8, duration_ms=20_000, faults=("reshard",),
                  think_ms_mean=50),
        {"linearizability", "durability"},
    ),
    "won-election-kept": (
        planted.won_election_kept,
        RunConfig(workload="register", nodes=2, replicas=1, cluster=True, duration_ms=30_000, faults=("failover",),
                  think_ms_mean=50, config=(("appendonly", "yes"), ("appendfsync", "always"))),
        {"linearizability", "durability", "convergence", "restart"},
    ),
    "smove-leaves-the-member-in-the-source": (
        planted.smove_leaves_the_member_in_the_source,
        RunConfig(workload="reference", clients=3, duration_ms=5000),
        {"reference"},
    ),
    "hincrby-of-a-new-field-starts-at-one": (
        planted.hincrby_of_a_new_field_starts_at_one,
        RunConfig(workload="reference", clients=4, duration_ms=5000),  # the fourth client's keys are a hash
        {"reference"},
    ),
    "hash-loses-field-at-conversion-seen-by-reference": (  # the seed draws small encoding limits
        planted.hash_loses_field_at_conversion,
        RunConfig(workload="reference", clients=5, duration_ms=10_000),
        {"reference"},
    ),
    "scan-drops-the-last-key-of-a-batch": (
        planted.scan_drops_the_last_key_of_a_batch,
        RunConfig(workload="reference", clients=5, duration_ms=10_000),
        {"reference"},
    ),
    "script-arrays-end-at-a-nil": (
        planted.script_arrays_end_at_a_nil,
        RunConfig(workload="reference", clients=5, duration_ms=10_000),
        {"reference"},
    ),
    "append-drops-the-ttl": (
        planted.append_drops_the_ttl,
        RunConfig(workload="reference", clients=5, duration_ms=10_000),
        {"reference"},
    ),
    "incrbyfloat-replicated-without-keepttl": (
        planted.incrbyfloat_replicated_without_keepttl,
        RunConfig(workload="reference", clients=5, duration_ms=10_000, replicas=1),
        {"convergence"},
    ),
    "del-deletes-only-its-first-key": (
        planted.del_deletes_only_its_first_key,
        RunConfig(workload="reference", clients=5, duration_ms=10_000),
        {"reference"},
    ),
    "xack-acknowledges-only-its-first-id": (  # XACK now and then names every ID a stream could hold
        planted.xack_acknowledges_only_its_first_id,
        RunConfig(workload="reference", clients=6, duration_ms=20_000),  # the sixth client's keys are streams
        {"reference"},
    ),
    "bitcount-reads-bit-ranges-as-bytes": (
        planted.bitcount_reads_bit_ranges_as_bytes,
        RunConfig(workload="reference", clients=7, duration_ms=10_000),  # the seventh client's keys are bits
        {"reference"},
    ),
    "bitop-keeps-the-destinations-ttl": (
        planted.bitop_keeps_the_destinations_ttl,
        RunConfig(workload="reference", clients=7, duration_ms=10_000),
        {"reference"},
    ),
    "json-arrpop-pops-the-first-element": (
        planted.json_arrpop_pops_the_first_element,
        RunConfig(workload="reference", clients=8, duration_ms=10_000),  # the eighth client's keys are JSON
        {"reference"},
    ),
    "json-set-of-the-root-drops-the-ttl": (
        planted.json_set_of_the_root_drops_the_ttl,
        RunConfig(workload="reference", clients=8, duration_ms=10_000),
        {"reference"},
    ),
    "pfmerge-drops-the-destinations-members": (
        planted.pfmerge_drops_the_destinations_members,
        RunConfig(workload="reference", clients=9, duration_ms=10_000),  # the ninth client's keys are HyperLogLogs
        {"reference"},
    ),
    "zremrangebyscore-takes-exclusive-bounds-as-inclusive": (
        planted.zremrangebyscore_takes_exclusive_bounds_as_inclusive,
        RunConfig(workload="reference", clients=5, duration_ms=10_000),
        {"reference"},
    ),
    "lmpop-tries-its-keys-last-first": (
        planted.lmpop_tries_its_keys_last_first,
        RunConfig(workload="reference", clients=5, duration_ms=10_000),
        {"reference"},
    ),
    "snapshots-leave-out-function-libraries": (  # a full sync or a restart from the snapshot loses them
        planted.snapshots_leave_out_function_libraries,
        RunConfig(workload="mixed", clients=5, duration_ms=10_000, replicas=1),
        {"convergence", "restart"},
    ),
    "log-rewrites-leave-out-function-libraries": (  # the restart check reloads a rewritten log
        planted.log_rewrites_leave_out_function_libraries,
        RunConfig(workload="mixed", clients=5, duration_ms=10_000, config=(("appendonly", "yes"),)),
        {"restart"},
    ),
    "rewrite-drops-the-incr-being-written": (  # the seed draws how soon the log is rewritten
        planted.rewrite_drops_the_incr_being_written,
        RunConfig(workload="register", clients=5, duration_ms=20_000, faults=("kill",),
                  config=(("appendonly", "yes"), ("appendfsync", "always"))),
        {"durability", "linearizability"},
    ),
    "move-does-not-count-as-a-write": (
        planted.move_does_not_count_as_a_write,
        RunConfig(workload="mixed", clients=5, duration_ms=10_000, replicas=1),
        {"convergence"},
    ),
    "failover-goes-ahead-before-the-replica-caught-up": (  # lag keeps the replica behind
        planted.failover_goes_ahead_before_the_replica_caught_up,
        RunConfig(workload="register", clients=5, duration_ms=20_000, replicas=1, faults=("failover", "lag")),
        {"durability", "linearizability"},
    ),
    "xread-includes-the-id-it-starts-after": (
        planted.xread_includes_the_id_it_starts_after,
        RunConfig(workload="reference", clients=6, duration_ms=20_000),  # the sixth client's keys are streams
        {"reference"},
    ),
    "geosearch-sorts-desc-as-asc": (
        planted.geosearch_sorts_desc_as_asc,
        RunConfig(workload="reference", clients=10, duration_ms=10_000),  # the tenth client's keys are geo points
        {"reference"},
    ),
    "zscan-drops-the-last-pair-of-a-page": (  # small encoding limits make sorted sets page
        planted.zscan_drops_the_last_pair_of_a_page,
        RunConfig(workload="reference", clients=5, duration_ms=20_000),
        {"reference"},
    ),
    "hscan-drops-the-last-pair-of-a-page": (  # small encoding limits make hashes page
        planted.hscan_drops_the_last_pair_of_a_page,
        RunConfig(workload="reference", clients=5, duration_ms=20_000),
        {"reference"},
    ),
    "watch-dirties-only-a-lone-watcher": (  # watched transfers pause between read and write
        planted.watch_dirties_only_a_lone_watcher,
        RunConfig(workload="bank", clients=5, duration_ms=10_000, config=(("appendonly", "no"),)),
        {"bank"},
    ),
    "replica-serves-expired-keys": (
        planted.replica_serves_expired_keys,
        RunConfig(workload="expiry", clients=5, duration_ms=10_000, replicas=1),
        {"expiry"},
    ),
    "resp3-pushes-sent-as-arrays": (
        planted.resp3_pushes_sent_as_arrays,
        RunConfig(workload="pubsub", clients=3, duration_ms=3000),
        {"client"},
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_sweep_finds_the_planted_bug(name, monkeypatch):
    plant, base, expected = CASES[name]
    monkeypatch.setattr(halt, "STUCK_WALL_S", STUCK_WALL_S)
    with monkeypatch.context() as patched:
        plant(patched)
        found = first_failure(base, range(1, SEEDS_MAX + 1))
    assert found is not None, f"{name}: no failure in {SEEDS_MAX} seeds"
    assert expected & set(found.failed), found
    clean = run(RunConfig(**{**base.to_json(), "seed": found.seed, "faults": base.faults}))
    assert clean.valid is True, f"seed {found.seed} fails even without the bug: {clean.failed_checkers}"
