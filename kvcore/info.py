"""INFO: the report's sections, each a function of the node giving its fields.

A section is a list of ``(field, value)`` pairs rendered ``field:value``.
Sections come out in Redis 7.0's order whatever order they were asked in.
The persistence section asks the node's snapshot and log state for its
fields. The core has no clock and no
CPU meter, so CPU times and per-command microseconds are 0, and there is no
Latencystats section.
"""

from __future__ import annotations

from collections.abc import Callable

from kvcore import (
    latency,
    replica,  # the module, not its names: kvcore.replica imports this one through kvcore.rdb
)
from kvcore.eviction import BASE_BYTES
from kvcore.output_limits import counted

CLIENT_BYTES = 1024  # a connection's own structures, as CLIENT LIST's tot-mem counts them here

Field = tuple[str, object]
Section = Callable[[object], list[Field]]

TITLES = {
    "server": "Server",
    "clients": "Clients",
    "memory": "Memory",
    "persistence": "Persistence",
    "stats": "Stats",
    "replication": "Replication",
    "cpu": "CPU",
    "modules": "Modules",
    "commandstats": "Commandstats",
    "errorstats": "Errorstats",
    "latencystats": "Latencystats",
    "cluster": "Cluster",
    "keyspace": "Keyspace",
}
NOT_DEFAULT = {"commandstats", "latencystats"}
_LRU_CLOCK_MAX = (1 << 24) - 1


def bytes_to_human(n: int) -> str:
    """Redis's bytesToHuman: 1023B, 1.00K, 1.50M..."""
    if n < 1024:
        return f"{n}B"
    for power, unit in enumerate("KMGTP", start=1):
        if n < 1024 ** (power + 1):
            return f"{n / 1024**power:.2f}{unit}"
    return f"{n}B"


def _server(node) -> list[Field]:
    from kvcore.node import VERSION  # kvcore.node imports the command table, which imports this

    now_s = node.now // 1000
    uptime_s = (node.now - node.start_ms) // 1000
    info = node.info
    return [
        ("redis_version", VERSION),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", "0"),
        ("redis_mode", "cluster" if node.config["cluster-enabled"] else "standalone"),
        ("os", info.os_name),
        ("arch_bits", info.arch_bits),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll"),
        ("atomicvar_api", "c11-builtin"),
        ("gcc_version", "0.0.0"),
        ("process_id", info.pid),
        ("process_supervised", "no"),
        ("run_id", node.run_id),
        ("tcp_port", info.tcp_port),
        ("server_time_usec", node.now * 1000),
        ("uptime_in_seconds", uptime_s),
        ("uptime_in_days", uptime_s // 86400),
        ("hz", node.config["hz"]),
        ("configured_hz", node.config["hz"]),
        ("lru_clock", now_s & _LRU_CLOCK_MAX),
        ("executable", info.executable),
        ("config_file", info.config_file),
        ("io_threads_active", 0),
    ] + ([("shutdown_in_milliseconds", node.shutdown_wait.remaining_ms())] if node.shutdown_wait.waiting else [])


def _replication_buffers(node) -> int:
    """Redis 7.0's shared replication buffer: the backlog and what a replica has yet to read,
    whichever reaches further back (the replicas' unsent output, as the runtime reported it)."""
    stream = node.replication
    return max([stream.histlen(), *(client.obuf for client in stream.replicas)])


def _clients(node) -> list[Field]:
    clients = node.clients.values()
    replicas = sum(1 for client in clients if client.is_replica_link)
    blocked = [client for client in clients if client.blocked is not None]
    return [
        ("connected_clients", len(node.clients) - replicas),
        ("cluster_connections", 0),
        ("maxclients", node.config["maxclients"]),
        ("client_recent_max_input_buffer", 0),
        ("client_recent_max_output_buffer", 0),
        ("blocked_clients", len(blocked)),
        ("tracking_clients", node.tracking_clients),
        ("clients_in_timeout_table", len(blocked)),
    ]


def memory_figures(node) -> tuple[int, int, int, int, int]:
    """(used, rss, clients, dataset, peak): what INFO memory and MEMORY STATS report.

    used_memory is the core's model of the dataset (kvcore.eviction); rss is the runtime's measure.
    """
    used = node.evictor.used()
    rss = node.stats.rss or used
    clients = sum(map(client_bytes, node.clients.values()))
    dataset = used - BASE_BYTES - node.client_memory()
    return used, rss, clients, dataset, node.evictor.peak


def client_bytes(client) -> int:
    return CLIENT_BYTES + counted(client.obuf) + client.reader.buffered()


def replica_client_bytes(node) -> int:
    """mem_clients_slaves: the replicas' connections on this master (in the clients' figure too)."""
    return sum(map(client_bytes, node.replication.replicas))


def memory_stats(node) -> list[tuple[str, object]]:
    """MEMORY STATS: Redis 7.0's fields, from the same figures as INFO memory."""
    used, rss, clients, dataset, peak = memory_figures(node)
    replicas = replica_client_bytes(node)
    keys = sum(len(db.data) for db in node.dbs)
    overhead = BASE_BYTES + clients
    per_db = [(f"db.{db.index}", [("overhead.hashtable.main", _table_bytes(len(db.data)) + len(db.data) * 16),
                                  ("overhead.hashtable.expires", _table_bytes(len(db.expires))),
                                  ("overhead.hashtable.slot-to-keys", 0)])
              for db in node.dbs if db.data]
    return [
        ("peak.allocated", peak), ("total.allocated", used), ("startup.allocated", BASE_BYTES),
        ("replication.backlog", 0), ("clients.slaves", replicas), ("clients.normal", clients - replicas),
        ("cluster.links", 0),
        ("aof.buffer", node.pending_log_bytes()), ("lua.caches", sum(len(b) for b in node.scripts.bodies.values())),
        ("functions.caches", 0), *per_db,
        ("overhead.total", overhead), ("keys.count", keys),
        ("keys.bytes-per-key", (used - BASE_BYTES) // keys if keys else 0),
        ("dataset.bytes", dataset), ("dataset.percentage", dataset * 100 / max(used - BASE_BYTES, 1)),
        ("peak.percentage", used * 100 / peak),
        ("allocator.allocated", used), ("allocator.active", used), ("allocator.resident", rss),
        ("allocator-fragmentation.ratio", 1.0), ("allocator-fragmentation.bytes", 0),
        ("allocator-rss.ratio", rss / used), ("allocator-rss.bytes", rss - used),
        ("rss-overhead.ratio", 1.0), ("rss-overhead.bytes", 0),
        ("fragmentation", rss / used), ("fragmentation.bytes", rss - used),
    ]


def _table_bytes(entries: int) -> int:
    """A Redis dict's entries (24 bytes each) and bucket array (8 per slot, a power of two, at least 4)."""
    if not entries:
        return 0
    return entries * 24 + max(4, 1 << (entries - 1).bit_length()) * 8


def _memory(node) -> list[Field]:
    used, rss, clients, dataset, peak = memory_figures(node)
    replicas = replica_client_bytes(node)
    maxmemory = node.config["maxmemory"]
    return [
        ("used_memory", used),
        ("used_memory_human", bytes_to_human(used)),
        ("used_memory_rss", rss),
        ("used_memory_rss_human", bytes_to_human(rss)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", bytes_to_human(peak)),
        ("used_memory_peak_perc", "%.2f%%" % (used * 100 / peak)),
        ("used_memory_overhead", BASE_BYTES + clients),
        ("used_memory_startup", BASE_BYTES),
        ("used_memory_dataset", dataset),
        ("used_memory_dataset_perc", "%.2f%%" % (dataset * 100 / used)),
        ("allocator_allocated", used),
        ("allocator_active", used),
        ("allocator_resident", rss),
        ("total_system_memory", node.info.total_memory),
        ("total_system_memory_human", bytes_to_human(node.info.total_memory)),
        *_script_memory(node),
        ("maxmemory", maxmemory),
        ("maxmemory_human", bytes_to_human(maxmemory)),
        ("maxmemory_policy", node.config["maxmemory-policy"]),
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", "%.2f" % (rss / used)),
        ("allocator_rss_bytes", rss - used),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", "%.2f" % (rss / used)),
        ("mem_fragmentation_bytes", rss - used),
        ("mem_not_counted_for_evict", node.not_counted_for_evict()),
        ("mem_replication_backlog", 0),
        ("mem_total_replication_buffers", _replication_buffers(node)),
        ("mem_clients_slaves", replicas),
        ("mem_clients_normal", clients - replicas),
        ("mem_cluster_links", 0),
        ("mem_aof_buffer", node.pending_log_bytes()),
        ("mem_allocator", "libc"),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", node.stats.lazyfreed_objects),
    ]


LUA_STATE_BYTES = 32 * 1024  # an interpreter with Redis's library and no script


def _script_memory(node) -> list[Field]:
    """EVAL's cache, as Redis reports it (bodies plus a per-script entry); no functions exist here."""
    bodies = node.scripts.bodies
    lua = LUA_STATE_BYTES + sum(len(body) for body in bodies.values())
    scripts = sum(len(body) + 136 for body in bodies.values())
    return [
        ("used_memory_lua", lua), ("used_memory_vm_eval", lua), ("used_memory_lua_human", bytes_to_human(lua)),
        ("used_memory_scripts_eval", scripts), ("number_of_cached_scripts", len(bodies)),
        ("number_of_functions", 0), ("number_of_libraries", 0), ("used_memory_vm_functions", 32768),
        ("used_memory_vm_total", lua + 32768), ("used_memory_vm_total_human", bytes_to_human(lua + 32768)),
        ("used_memory_functions", 184), ("used_memory_scripts", scripts + 184),
        ("used_memory_scripts_human", bytes_to_human(scripts + 184)),
    ]


def _persistence(node) -> list[Field]:
    """Snapshot fields, then the log's (kvcore.snapshots, kvcore.appendonly), then a load's progress."""
    fields = node.snapshots.info_fields() + node.aof.info_fields()
    if node.loading_file is not None:
        fields += node.loading_file.info_fields(node.now)
    return fields


def _stats(node) -> list[Field]:
    stats = node.stats
    return [
        ("total_connections_received", stats.total_connections_received),
        ("total_commands_processed", stats.total_commands_processed),
        ("instantaneous_ops_per_sec", stats.instantaneous_ops()),
        ("total_net_input_bytes", stats.total_net_input_bytes),
        ("total_net_output_bytes", stats.total_net_output_bytes),
        ("total_net_repl_input_bytes", 0),
        ("total_net_repl_output_bytes", 0),
        ("instantaneous_input_kbps", "0.00"),
        ("instantaneous_output_kbps", "0.00"),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", stats.rejected_connections),
        ("sync_full", stats.sync_full),
        ("sync_partial_ok", stats.sync_partial_ok),
        ("sync_partial_err", stats.sync_partial_err),
        ("expired_keys", stats.expired_keys),
        ("expired_stale_perc", f"{stats.expired_stale_perc:.2f}"),
        ("expired_time_cap_reached_count", 0),
        ("expire_cycle_cpu_milliseconds", 0),
        ("evicted_keys", stats.evicted_keys),
        ("evicted_clients", stats.evicted_clients),
        ("total_eviction_exceeded_time", 0),
        ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", stats.keyspace_hits),
        ("keyspace_misses", stats.keyspace_misses),
        ("pubsub_channels", len(node.pubsub_channels)),
        ("pubsub_patterns", len(node.pubsub_patterns)),
        ("pubsubshard_channels", len(node.pubsub_shard_channels)),
        ("latest_fork_usec", stats.latest_fork_usec),
        ("total_forks", stats.total_forks),
        ("migrate_cached_sockets", len(node.migrations.sockets)),
        ("slave_expires_tracked_keys", len(node.master_link.written_expires) if node.master_link is not None else 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        *_tracking_totals(node),
        ("unexpected_error_replies", stats.unexpected_error_replies),
        ("total_error_replies", stats.total_error_replies),
        ("dump_payload_sanitizations", 0),
        ("total_reads_processed", stats.total_reads_processed),
        ("total_writes_processed", stats.total_writes_processed),
        ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", stats.reply_buffer_shrinks),
        ("reply_buffer_expands", stats.reply_buffer_expands),
    ]


def _tracking_totals(node) -> list[Field]:
    tracking = node.tracking
    if tracking is None:
        return [("tracking_total_keys", 0), ("tracking_total_items", 0), ("tracking_total_prefixes", 0)]
    return [
        ("tracking_total_keys", len(tracking.table)),
        ("tracking_total_items", tracking.items),
        ("tracking_total_prefixes", len(tracking.prefixes)),
    ]


def _replication(node) -> list[Field]:
    """The role, the link to the master (a replica), the replicas, the stream's ids and backlog."""
    stream = node.replication
    link = node.master_link
    fields: list[Field] = [("role", "slave" if link is not None else "master")]
    if link is not None:
        fields += _master_link(node, link)
    fields.append(("connected_slaves", len(stream.attached())))
    if node.config["min-replicas-to-write"] and node.config["min-replicas-max-lag"]:
        fields.append(("min_slaves_good_slaves", stream.good_replicas()))
    for index, client in enumerate(stream.replicas):
        attached = stream.links[client]
        lag = (node.steady() - attached.ack_ms) // 1000
        fields.append((f"slave{index}", f"ip={stream.replica_ip(client)},port={attached.listening_port},state=online,"
                                        f"offset={attached.ack_offset},lag={lag}"))
    waiting = stream.syncing()  # sent a payload, or waiting for it
    for index, client in enumerate(waiting, start=len(stream.replicas)):
        fields.append((f"slave{index}", f"ip={stream.replica_ip(client)},port={stream.links[client].listening_port},"
                                        f"state={stream.sync_state(client)},offset=0,lag=0"))
    fields += [
        ("master_failover_state", node.failover.state),
        ("master_replid", stream.replid),
        ("master_replid2", stream.replid2),
        ("master_repl_offset", stream.offset),
        ("second_repl_offset", stream.second_offset),
        ("repl_backlog_active", int(stream.backlog is not None)),
        ("repl_backlog_size", node.config["repl-backlog-size"]),
        ("repl_backlog_first_byte_offset", stream.first_byte_offset()),
        ("repl_backlog_histlen", stream.histlen()),
    ]
    return fields


def _master_link(node, link) -> list[Field]:
    """A replica's fields about its master, as Redis 7.0 lists them (its timers read node.steady())."""
    now = node.steady()
    up = link.state == replica.CONNECTED
    fields: list[Field] = [
        ("master_host", link.host),
        ("master_port", link.port),
        ("master_link_status", "up" if up else "down"),
        ("master_last_io_seconds_ago", (now - link.last_io_ms) // 1000 if link.client is not None else -1),
        ("master_sync_in_progress", int(link.state == replica.SYNC)),
        ("slave_read_repl_offset", link.read_offset()),
        ("slave_repl_offset", link.processed_offset),
    ]
    if link.state == replica.SYNC:
        size = max(link.transfer_size, 0)
        read = len(link.buffer)
        fields += [
            ("master_sync_total_bytes", size if link.transfer_size >= 0 else -1),
            ("master_sync_read_bytes", read),
            ("master_sync_left_bytes", size - read if link.transfer_size >= 0 else -1),
            ("master_sync_perc", f"{read * 100 / size:.2f}" if size else "0.00"),
            ("master_sync_last_io_seconds_ago", (now - link.last_io_ms) // 1000),
        ]
    if not up:
        fields.append(("master_link_down_since_seconds",
                       (now - link.down_since_ms) // 1000 if link.down_since_ms is not None else -1))
    config = node.config
    fields += [
        ("slave_priority", config["replica-priority"]),
        ("slave_read_only", int(config["replica-read-only"])),
        ("replica_announced", int(config["replica-announced"])),
    ]
    return fields


def _cpu(node) -> list[Field]:
    names = ("used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children",
             "used_cpu_sys_main_thread", "used_cpu_user_main_thread")
    return [(name, "0.000000") for name in names]


def _modules(node) -> list[Field]:
    return []


def _commandstats(node) -> list[Field]:
    fields = []
    for cmd in node.table.values():
        for each in (cmd, *cmd.subcommands.values()):
            if each.calls or each.failed_calls or each.rejected_calls:
                per_call = each.usec / each.calls if each.calls else 0.0
                fields.append((
                    "cmdstat_" + each.fullname,
                    f"calls={each.calls},usec={each.usec},usec_per_call={per_call:.2f},"
                    f"rejected_calls={each.rejected_calls},failed_calls={each.failed_calls}",
                ))
    return fields


def _errorstats(node) -> list[Field]:
    counts = node.stats.error_counts
    return [("errorstat_" + code, f"count={counts[code]}") for code in sorted(counts)]


def _latencystats(node) -> list[Field]:
    """Each command's duration percentiles (kvcore.latency), with latency-tracking on."""
    config = node.config
    if not config["latency-tracking"]:
        return []
    wanted = [float(word) for word in config["latency-tracking-info-percentiles"].split()]
    return [("latency_percentiles_usec_" + each.fullname, latency.percentiles(each, wanted))
            for cmd in node.table.values() for each in (cmd, *cmd.subcommands.values()) if each.calls]


def _cluster(node) -> list[Field]:
    return [("cluster_enabled", int(node.config["cluster-enabled"]))]


def _keyspace(node) -> list[Field]:
    return [
        (f"db{db.index}", f"keys={len(db.data)},expires={len(db.expires)},avg_ttl={db.avg_ttl}")
        for db in node.dbs
        if db.data
    ]


SECTIONS: dict[str, Section] = {
    "server": _server,
    "clients": _clients,
    "memory": _memory,
    "persistence": _persistence,
    "stats": _stats,
    "replication": _replication,
    "cpu": _cpu,
    "modules": _modules,
    "commandstats": _commandstats,
    "errorstats": _errorstats,
    "latencystats": _latencystats,
    "cluster": _cluster,
    "keyspace": _keyspace,
}


def chosen_sections(args: list[bytes]) -> list[str]:
    """The sections INFO's arguments ask for, in report order (unknown names add nothing)."""
    wanted = {arg.decode("utf-8", "replace").lower() for arg in args} or {"default"}
    if wanted & {"all", "everything"}:
        return list(TITLES)
    if "default" in wanted:
        wanted |= set(TITLES) - NOT_DEFAULT
    return [name for name in TITLES if name in wanted]


def render(node, args: list[bytes]) -> bytes:
    """The whole INFO text for the given section arguments."""
    parts = []
    for name in chosen_sections(args):
        lines = ["# " + TITLES[name]]
        lines.extend(f"{field}:{value}" for field, value in SECTIONS[name](node))
        parts.append("\r\n".join(lines) + "\r\n")
    return "\r\n".join(parts).encode("utf-8", "surrogateescape")
