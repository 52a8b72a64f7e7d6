"""A script past busy-reply-threshold (lua-time-limit), and the clients served meanwhile.

Redis answers other clients while a script runs long: every command gets
``-BUSY`` but those flagged ``allow_busy`` (SCRIPT KILL, FUNCTION KILL, FUNCTION
STATS, SHUTDOWN NOSAVE, AUTH, HELLO, MULTI...), and SCRIPT KILL / FUNCTION KILL
stop a script that has not written. The core cannot wait for input, so a
runtime that can serve clients meanwhile sets ``node.busy_runtime``, an object
with three methods the script's instruction hook calls:

- ``now()``: the clock, in ms (the core has no other way to see time pass
  inside one input);
- ``serve()``: once the script is busy, every hook: hand the node what arrived
  on any connection but the script's caller (``Node.receive``, accepting new
  ones with ``Node.open``), then carry out ``Node.busy_effects()``;
- ``done()``: the busy script ended; the runtime goes back to its own loop.

Without one (the simulator, tests in memory), the hook counts instructions as
time and ends a script that ran past the threshold without writing itself
(`kvcore.scripting`), so that runs stay deterministic.
"""

from __future__ import annotations

from kvcore.reply import Error

KILLED = "Script killed by user with SCRIPT KILL..."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either "
              "wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.")
UNKILLABLE_MASTER = ("UNKILLABLE The busy script was sent by a master instance in the context of replication "
                     "and cannot be killed.")
NOT_BUSY = "NOTBUSY No scripts in execution right now."
BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_FUNCTION = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."


class BusyScript:
    """The script that ran past busy-reply-threshold (``node.scripts.busy`` while it runs)."""

    __slots__ = ("caller", "name", "request", "eval_mode", "started_ms", "dirty_at_start", "killed")

    def __init__(self, caller, name: str, request: list[bytes], eval_mode: bool, started_ms: int,
                 dirty_at_start: int) -> None:
        self.caller = caller
        self.name = name
        self.request = list(request)
        self.eval_mode = eval_mode
        self.started_ms = started_ms
        self.dirty_at_start = dirty_at_start
        self.killed = False

    @property
    def refusal(self) -> str:
        """The -BUSY error for any command not allowed meanwhile."""
        return BUSY_EVAL if self.eval_mode else BUSY_FUNCTION

    def kill_command(self) -> str:
        return "SCRIPT KILL" if self.eval_mode else "FUNCTION KILL"


def kill(node, is_eval: bool) -> Error | None:
    """SCRIPT KILL (``is_eval``) or FUNCTION KILL: mark the busy script to stop at its next hook; the error if not."""
    busy = node.scripts.busy
    if busy is None:
        return Error(NOT_BUSY)
    link = node.master_link
    if link is not None and busy.caller is link.client:
        return Error(UNKILLABLE_MASTER)
    if node.stats.dirty != busy.dirty_at_start:
        return Error(UNKILLABLE)
    if is_eval != busy.eval_mode:  # SCRIPT KILL of a function, FUNCTION KILL of an EVAL
        return Error(busy.refusal)
    busy.killed = True
    return None
