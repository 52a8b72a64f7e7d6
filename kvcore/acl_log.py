"""ACL LOG: the recent refusals (commands, keys, channels, failed AUTH), newest first.

As Redis 7.0: a refusal like one logged less than a minute ago (same reason,
context, object and user) counts on that entry, which takes the new client's
info and moves to the top; ``acllog-max-len`` bounds the list. 7.0's entries
have no entry-id or timestamps (those came with 7.2).
"""

from __future__ import annotations

from collections import deque

from kvcore.reply import Double, Map

GROUP_WINDOW_MS = 60_000


class Entry:
    __slots__ = ("count", "reason", "context", "object", "username", "created_ms", "client_info")

    def __init__(self, reason: str, context: str, obj: str, username: str, now: int, client_info: str) -> None:
        self.count = 1
        self.reason, self.context, self.object, self.username = reason, context, obj, username
        self.created_ms = now
        self.client_info = client_info

    def same_as(self, other: Entry) -> bool:
        return (self.reason, self.context, self.object, self.username) == (
            other.reason, other.context, other.object, other.username
        ) and other.created_ms - self.created_ms < GROUP_WINDOW_MS

    def reply(self, now: int) -> Map:
        def raw(text: str) -> bytes:
            return text.encode("utf-8", "surrogateescape")

        return Map([
            (b"count", self.count),
            (b"reason", raw(self.reason)),
            (b"context", raw(self.context)),
            (b"object", raw(self.object)),
            (b"username", raw(self.username)),
            (b"age-seconds", Double((now - self.created_ms) / 1000)),
            (b"client-info", raw(self.client_info)),
        ])


class AclLog:
    def __init__(self) -> None:
        self.entries: deque[Entry] = deque()

    def add(self, entry: Entry, max_len: int) -> None:
        for old in self.entries:
            if old.same_as(entry):
                self.entries.remove(old)
                old.count += 1
                old.created_ms, old.client_info = entry.created_ms, entry.client_info
                entry = old
                break
        self.entries.appendleft(entry)
        while len(self.entries) > max_len:
            self.entries.pop()

    def reset(self) -> None:
        self.entries.clear()
