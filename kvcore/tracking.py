"""Client-side caching: the tracking table, BCAST prefixes and invalidation messages.

Redis's tracking.c. A client turns tracking on with CLIENT TRACKING ON (the
connection commands parse it; its settings live in a `TrackingState` on
``client.tracking``). In the default mode the keys a tracking client reads
(the key arguments of a read-only command) are remembered in a table, key ->
clients, and the first change to such a key sends each of them one
invalidation and forgets the entry. In BCAST mode a client names prefixes
instead: every key changed under a prefix is gathered and sent, sorted, once
per drain of the node's output (Redis does it once per event-loop pass).

The table is global across databases, as in Redis. It is created with the
first CLIENT TRACKING ON (`Node.tracking` is None until then, so the hooks in
the keyspace cost one attribute test on a node that never tracked), and its
entries for clients that went away or turned tracking off are dropped lazily,
when their key changes.

An invalidation for the client whose command is running waits until that
command's reply is queued (Redis's tracking_pending_keys): `Tracking.current`
is that client while `kvcore.dispatch.call` runs it (or a blocked command is
served), and the dispatcher calls `after_request` once the reply is out.
Messages: ``>2 invalidate [keys]`` to a RESP3 client; a RESP2 client gets
nothing unless it redirects to a client in Pub/Sub mode, which then gets
``message __redis__:invalidate [keys]``. A flush invalidates everything: the
keys are a null (in the tracking client's protocol, as Redis writes it).
Every order here is insertion order or sorted bytes, never hash order.
"""

from __future__ import annotations

from kvcore.commands.table import Flag
from kvcore.reply import Push, Raw

CHANNEL = b"__redis__:invalidate"
_READONLY = Flag.READONLY.value
_PUBSUB = Flag.PUBSUB.value
_READ_ONLY_SCRIPTS = ("eval_ro", "evalsha_ro", "fcall_ro")
_NULLS = {False: Raw(b"$-1\r\n"), True: Raw(b"_\r\n")}  # shared.null[resp]: the tracking client's protocol


class TrackingState:
    """One client's CLIENT TRACKING settings (Redis's CLIENT_TRACKING_* flags)."""

    __slots__ = ("redirect", "bcast", "optin", "optout", "noloop", "caching", "broken", "prefixes")

    def __init__(self) -> None:
        self.redirect = 0  # client id, 0: none
        self.bcast = self.optin = self.optout = self.noloop = False
        self.caching = False  # CLIENT CACHING YES (optin) / NO (optout) for the next command
        self.broken = False  # the redirect target went away
        self.prefixes: dict[bytes, None] = {}

    def flags(self) -> list[bytes]:
        """CLIENT TRACKINGINFO's flags after ``on``."""
        flags = [b"bcast"] if self.bcast else []
        if self.optin:
            flags += [b"optin", b"caching-yes"] if self.caching else [b"optin"]
        if self.optout:
            flags += [b"optout", b"caching-no"] if self.caching else [b"optout"]
        if self.noloop:
            flags.append(b"noloop")
        if self.broken:
            flags.append(b"broken_redirect")
        return flags


class Prefix:
    """A BCAST prefix: the keys changed under it since the last broadcast, and its clients."""

    __slots__ = ("keys", "clients")

    def __init__(self) -> None:
        self.keys: dict[bytes, object] = {}  # key -> the client that changed it last (None: no client)
        self.clients: dict = {}


def overlap(a: bytes, b: bytes) -> bool:
    """Whether one prefix starts the other (they would both match some key)."""
    return a.startswith(b) or b.startswith(a)


class Tracking:
    """The node's tracking table, BCAST prefixes and pending invalidations."""

    def __init__(self, node) -> None:
        self.node = node
        self.table: dict[bytes, dict] = {}  # key -> {client: None}
        self.items = 0  # client entries across the table (INFO tracking_total_items)
        self.prefixes: dict[bytes, Prefix] = {}
        self.broadcast_due = False
        self.current = None  # the client whose command is running
        self.script_keys: list[bytes] | None = None  # the keys a running script declared (kvcore.scripting)
        self.pending: list[bytes | None] = []  # invalidations for `current`, after its reply; None: a flush
        self._flush_mark = None
        self._limit_misses = 0

    # -- clients ---------------------------------------------------------------
    def enable(self, client, redirect: int, options: set[str], prefixes: list[bytes]) -> None:
        """Redis's enableTracking: on, with these options (CLIENT TRACKING ON was checked)."""
        state = client.tracking
        if state is None:
            state = client.tracking = TrackingState()
            self.node.tracking_clients += 1
        state.redirect = redirect
        state.broken = False
        state.bcast = "bcast" in options
        state.optin, state.optout, state.noloop = "optin" in options, "optout" in options, "noloop" in options
        if state.bcast:
            for prefix in prefixes or [b""]:
                self._subscribe(client, state, prefix)

    def _subscribe(self, client, state: TrackingState, prefix: bytes) -> None:
        entry = self.prefixes.get(prefix)
        if entry is None:
            entry = self.prefixes[prefix] = Prefix()
        entry.clients[client] = None
        state.prefixes[prefix] = None

    def disable(self, client) -> None:
        """Redis's disableTracking: off; the table forgets the client lazily."""
        state = client.tracking
        if state is None:
            return
        for prefix in state.prefixes:
            entry = self.prefixes[prefix]
            entry.clients.pop(client, None)
            if not entry.clients:
                del self.prefixes[prefix]
        client.tracking = None
        self.node.tracking_clients -= 1

    # -- reads -------------------------------------------------------------------
    def after_call(self, client, cmd, argv: list[bytes], outer) -> None:
        """A command ran for ``client``: remember the keys it read, if it tracks them."""
        self.current = outer
        state = client.tracking
        if state is None or state.bcast or not cmd.flags._value_ & _READONLY or cmd.flags._value_ & _PUBSUB:
            return
        if (state.optin and not state.caching) or (state.optout and state.caching):
            return
        if cmd.name in _READ_ONLY_SCRIPTS:
            return  # tracked by what the script reads, as below
        if self.script_keys is not None:
            keys = self.script_keys  # a read inside a script tracks the keys the script declared, as Redis
        else:
            try:
                keys = [argv[position] for position in cmd.key_positions(argv)]
            except Exception:  # noqa: BLE001 - malformed key arguments: no keys, as getKeysFromCommand
                return
        table = self.table
        for key in keys:
            clients = table.get(key)
            if clients is None:
                clients = table[key] = {}
            if client not in clients:
                clients[client] = None
                self.items += 1

    def after_request(self, client, argv: list[bytes]) -> None:
        """A request's reply is queued: send the invalidations it caused to its own client,
        end a CLIENT CACHING that applied to it, and keep the table within its limit."""
        if self.pending:
            self._send_pending(client)
        state = client.tracking
        if state is not None and state.caching and client.multi is None and argv[0].lower() != b"client":
            state.caching = False
        self.limit()

    def serve(self, resume, client, key: bytes) -> bool:
        """Serve a blocked client (`kvcore.blocking`) as the running client, then send it
        what its command invalidated, after its reply."""
        outer, self.current = self.current, client
        try:
            served = resume(client, key)
        finally:
            self.current = outer
        if self.pending:
            self._send_pending(client)
        return served

    def _send_pending(self, client) -> None:
        keys, self.pending = self.pending, []
        for key in keys:
            if client.tracking is not None:
                self.send(client, [key] if key is not None else _NULLS[client.resp3])

    # -- changes -------------------------------------------------------------------
    def modified(self, key: bytes) -> None:
        """A key changed (Redis's signalModifiedKey -> trackingInvalidateKey)."""
        if self.prefixes:
            self._remember_broadcast(key, self.current)
        if key in self.table:
            self._invalidate(key)

    def expired(self, key: bytes) -> None:
        """A key was deleted for its TTL: no client changed it (NOLOOP clients hear of it too)."""
        if self.prefixes:
            self._remember_broadcast(key, None)

    def _remember_broadcast(self, key: bytes, client) -> None:
        for prefix, entry in self.prefixes.items():
            if key.startswith(prefix):
                entry.keys[key] = client
                self.broadcast_due = True

    def _invalidate(self, key: bytes) -> None:
        clients = self.table.pop(key)
        self.items -= len(clients)
        current = self.current
        targets = list(clients)
        if len(targets) > 1:  # Redis's rax of ids orders them by their little-endian bytes
            targets.sort(key=lambda target: target.id.to_bytes(8, "little"))
        for target in targets:
            state = target.tracking
            if state is None or state.bcast or (state.noloop and target is current):
                continue
            if target is current:
                self.pending.append(key)
            else:
                self.send(target, [key])

    def flushed(self) -> None:
        """FLUSHDB/FLUSHALL (once per command however many databases it empties): every
        tracking client is told that all keys are invalid, and the table is emptied."""
        mark = (self.node.stats.total_commands_processed, self.current)
        if mark == self._flush_mark:
            return
        self._flush_mark = mark
        if self.node.tracking_clients:
            for client in list(self.node.clients.values()):
                if client.tracking is None:
                    continue
                if client is self.current:
                    self.pending.append(None)
                else:
                    self.send(client, _NULLS[client.resp3])
        self.table = {}
        self.items = 0

    def limit(self) -> None:
        """Keep the table within tracking-table-max-keys: forget random keys, invalidating
        them, with Redis's effort (100 keys, 100 more each time that was not enough)."""
        max_keys = self.node.config["tracking-table-max-keys"]
        table = self.table
        if not max_keys or len(table) <= max_keys:
            self._limit_misses = 0
            return
        keys = list(table)
        rng = self.node.rng
        for _ in range(100 * (self._limit_misses + 1)):
            if not keys:
                break
            index = rng.randrange(len(keys))
            keys[index], keys[-1] = keys[-1], keys[index]
            self._invalidate(keys.pop())
            if len(table) <= max_keys:
                self._limit_misses = 0
                return
        self._limit_misses += 1

    # -- messages ------------------------------------------------------------------
    def broadcast(self) -> None:
        """Send each BCAST prefix's changed keys to its clients (Redis, once per event loop)."""
        if not self.broadcast_due:
            return
        self.broadcast_due = False
        for prefix in sorted(self.prefixes):
            entry = self.prefixes[prefix]
            if not entry.keys:
                continue
            changed, entry.keys = entry.keys, {}
            keys = sorted(changed)
            for client in list(entry.clients):
                if client.tracking.noloop:
                    own = [key for key in keys if changed[key] is not client]
                    if own:
                        self.send(client, own)
                else:
                    self.send(client, keys)

    def send(self, client, keys) -> None:
        """Redis's sendTrackingMessage: ``keys`` (a list, or a null) to the client or its redirect."""
        state = client.tracking
        target = client
        redirected = bool(state.redirect)
        if redirected:
            target = self.node.find_client(state.redirect)
            if target is None:
                state.broken = True
                if client.resp3:
                    client.push(Push([b"tracking-redir-broken", state.redirect]))
                return
        if target.resp3:
            target.push(Push([b"invalidate", keys]))
        elif redirected and target.subscriptions:
            target.push(Push([b"message", CHANNEL, keys]))


def tracking_of(node) -> Tracking:
    """The node's tracking table, made on first use (the first CLIENT TRACKING ON)."""
    if node.tracking is None:
        node.tracking = Tracking(node)
    return node.tracking
