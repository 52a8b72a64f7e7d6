"""Counters behind INFO stats; plain integers the core bumps as it works."""

from __future__ import annotations


class Stats:
    __slots__ = (
        "total_connections_received", "total_commands_processed", "rejected_connections",
        "expired_keys", "evicted_keys", "evicted_clients", "keyspace_hits", "keyspace_misses",
        "total_net_input_bytes", "total_net_output_bytes", "total_error_replies",
        "unexpected_error_replies", "dirty", "expired_stale_perc", "error_counts",
        "ops_samples", "last_sample_ms", "last_sample_commands", "rss",
        "total_forks", "latest_fork_usec", "total_reads_processed", "total_writes_processed",
        "lazyfreed_objects",
        "sync_full", "sync_partial_ok", "sync_partial_err", "reply_buffer_shrinks", "reply_buffer_expands",
    )

    def __init__(self) -> None:
        self.reset()
        self.dirty = 0
        self.rss = 0  # the process's memory as the runtime last measured it (0: never)

    def reset(self) -> None:
        """CONFIG RESETSTAT: zero the counters (not `dirty`)."""
        self.total_connections_received = 0
        self.total_commands_processed = 0
        self.rejected_connections = 0
        self.expired_keys = 0
        self.evicted_keys = 0
        self.evicted_clients = 0
        self.keyspace_hits = 0
        self.keyspace_misses = 0
        self.total_net_input_bytes = 0
        self.total_net_output_bytes = 0
        self.total_error_replies = 0
        self.unexpected_error_replies = 0
        self.expired_stale_perc = 0.0
        self.error_counts: dict[str, int] = {}
        self.ops_samples: list[int] = []
        self.last_sample_ms = 0
        self.last_sample_commands = 0
        self.total_reads_processed = 0  # inputs of bytes from connections
        self.total_writes_processed = 0  # Send effects made
        self.total_forks = 0  # background images taken (net forks for each)
        self.latest_fork_usec = 0  # what the runtime reported the last one took
        self.lazyfreed_objects = 0  # what Redis would have freed in the background (kvcore.lazyfree)
        self.sync_full = 0  # replicas given a full sync
        self.sync_partial_ok = 0  # PSYNCs answered with +CONTINUE
        self.sync_partial_err = 0  # PSYNCs for a history or offset the backlog does not hold
        self.reply_buffer_shrinks = 0  # clients' reply buffers resized by the cron (kvcore.replybuf)
        self.reply_buffer_expands = 0

    def instantaneous_ops(self) -> int:
        return sum(self.ops_samples) // len(self.ops_samples) if self.ops_samples else 0
