"""The Lua debugger (LDB): SCRIPT DEBUG YES|SYNC, then EVAL, speaking Redis's debugger protocol.

An EVAL from a client in debug mode does not run: it opens a session, stopped
at the script's first line, and the client's requests become debugger commands,
each answered with a multibulk of status lines, as redis-cli --ldb expects. The
session ends when the script ran: ``<endsession>``, the script's reply, and
the connection closes, as Redis ends one.

The core cannot hold a script in the middle of its run while it waits for the
client's next request, so this debugger has no stepping: ``step``, ``next`` and
``continue`` run the script to its end (``step`` and ``next`` log the Redis
commands it calls, as Redis logs them while stepping), and breakpoints are
refused. Everything else is Redis's: ``redis``, ``list``, ``whole``, ``print``,
``eval``, ``maxlen``, ``abort``, ``help``. In YES (forked) mode, as Redis's
forked session, what the script changed is rolled back at the end and nothing
of it is propagated; in SYNC mode it stays.
"""

from __future__ import annotations

from kvcore import rdb
from kvcore.effects import LogMessage
from kvcore.reply import Error, Simple
from kvcore.scripting import keys_and_args, sha1hex

HELP = [
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
]
UNKNOWN = "<error> Unknown Redis Lua debugger command or wrong number of arguments."
NO_STEPPING = "<error> This server's debugger runs scripts to their end: there are no breakpoints."
CONTEXT_LINES = 5
MAXLEN_DEFAULT = 256
MAXLEN_MIN = 60
TRIMMED = "<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming."
SCRIPT_LAYER_ERRORS = ("Unknown Redis command called from script", "Wrong number of args calling Redis command",
                       "This Redis command is not allowed from script", "Please specify at least one argument",
                       "Lua redis lib command arguments must be")


class Session:
    """One client's debugging session of one EVAL (``client.ldb`` while it lasts)."""

    def __init__(self, client, argv: list[bytes], forked: bool) -> None:
        self.client = client
        self.argv = argv
        self.forked = forked
        self.lines = argv[1].split(b"\n")
        while self.lines and not self.lines[-1]:  # a final newline makes no line of its own
            self.lines.pop()
        self.maxlen = MAXLEN_DEFAULT
        self.hinted = False  # the trimming hint goes once a session, and not to who used maxlen
        self.image = rdb.write(client.node) if forked else None  # what a forked session rolls back to
        self.saved_targets = 0  # where writes went before a forked session stopped them

    def start(self) -> list[str]:
        self.client.node.emit(LogMessage("warning", f"Redis {self._kind()} debugging eval session started"))
        return ["* Stopped at 1, stop reason = step over", self._source_line(1)]

    # -- the client's requests ---------------------------------------------------------
    def feed(self, requests: list[list[bytes]]) -> None:
        client = self.client
        for argv in requests:
            if client.ldb is not self:
                return  # the session ended: the connection closes after its last reply
            if argv:
                self._command(argv)

    def _command(self, argv: list[bytes]) -> None:
        name = argv[0].lower()
        count = len(argv)
        if name in (b"h", b"help") and count == 1:
            self._log(HELP)
        elif name in (b"s", b"step", b"n", b"next") and count == 1:
            self._finish(trace=True)
        elif name in (b"c", b"continue") and count == 1:
            self._finish(trace=False)
        elif name in (b"a", b"abort") and count == 1:
            self._end(Error(f"ERR script aborted for user request script: {self._sha()}, on @user_script:1."), [])
        elif name in (b"l", b"list") and count <= 3:
            around = int(argv[1]) if count > 1 and argv[1].lstrip(b"-").isdigit() else 0
            context = int(argv[2]) if count > 2 and argv[2].isdigit() else CONTEXT_LINES
            self._log(self._listing(around or 1, context))
        elif name in (b"w", b"whole") and count == 1:
            self._log(self._listing(1, 1_000_000))
        elif name in (b"p", b"print") and count <= 2:
            self._log(self._trimmed(self._print(argv[1] if count == 2 else None)))
        elif name in (b"r", b"redis") and count > 1:
            self._log(self._redis(argv[1:]))
        elif name in (b"e", b"eval") and count > 1:
            self._log(self._trimmed(self._eval(b" ".join(argv[1:]))))
        elif name in (b"m", b"maxlen") and count <= 2:
            self.hinted = True
            if count == 2:
                self.maxlen = int(argv[1]) if argv[1].isdigit() else 0
                if 0 < self.maxlen < MAXLEN_MIN:
                    self.maxlen = MAXLEN_MIN
            self._log([f"<value> replies are truncated at {self.maxlen} bytes." if self.maxlen
                       else "<value> replies are unlimited."])
        elif name in (b"b", b"break") and count <= 2:
            self._log(["No breakpoints set. Use 'b <line>' to add one." if count == 1 else NO_STEPPING])
        elif name in (b"t", b"trace") and count == 1:
            self._log(["In top level:", self._source_line(1)])
        else:
            self._log([UNKNOWN])

    # -- commands ------------------------------------------------------------------------
    def _finish(self, trace: bool) -> None:
        """Run the script to its end, then end the session with its reply."""
        client = self.client
        node = client.node
        scripts = node.scripts
        lua = scripts.interpreter()
        logs: list[str] = []
        lua.trace = logs if trace else None
        try:
            keys, args = keys_and_args(self.argv)
            reply = scripts.run(client, scripts.load(self.argv[1]), keys, args, False, self.argv)
        except Error as exc:
            reply = exc
        finally:
            lua.trace = None
        self._end(reply, [line for entry in logs for line in self._trimmed(entry)])

    def _end(self, reply, logs: list[str]) -> None:
        client = self.client
        node = client.node
        client.ldb = None
        if self.forked:
            rdb.load(node, self.image, drop_expired=False)
            node.propagation_targets = self.saved_targets
        node.emit(LogMessage("warning", f"Redis {self._kind()} debugging eval session ended"))
        self._log([*logs, "<endsession>"])
        client.reply(reply)
        node.close_after_reply(client)

    def _redis(self, args: list[bytes]) -> list[str]:
        lua = self.client.node.scripts.interpreter()
        reply = lua.command_for(self.client, tuple(args))
        return ["<redis> " + " ".join(_text(arg) for arg in args), *self._trimmed(reply_line(reply))]

    def _print(self, name: bytes | None) -> str:
        if name is None:
            return "No local variables in the current context."
        if name in (b"KEYS", b"ARGV"):
            keys, args = keys_and_args(self.argv)
            values = keys if name == b"KEYS" else args
            return "<value> {" + "; ".join('"%s"' % _text(value) for value in values) + "}"
        return "No such variable."

    def _eval(self, code: bytes) -> str:
        lua = self.client.node.scripts.interpreter()
        ok, value = lua.debug_eval(code)
        return ("<retval> " if ok else "<error> ") + value

    # -- output ------------------------------------------------------------------------
    def _log(self, lines: list[str]) -> None:
        self.client.reply([Simple(line) for line in lines])

    def _listing(self, around: int, context: int) -> list[str]:
        first, last = max(1, around - context), min(len(self.lines), around + context)
        return [self._source_line(number) for number in range(first, last + 1)]

    def _source_line(self, number: int) -> str:
        prefix = "-> " if number == 1 else "   "
        return "%s%-3d %s" % (prefix, number, _text(self.lines[number - 1]))

    def _trimmed(self, line: str) -> list[str]:
        """A value's line cut at maxlen, with Redis's hint after it; other lines as they are."""
        if self.maxlen and len(line) > self.maxlen and line.startswith(("<reply>", "<value>", "<retval>")):
            hint, self.hinted = ([] if self.hinted else [TRIMMED]), True
            return [line[: self.maxlen] + " ...", *hint]
        return [line]

    def _sha(self) -> str:
        return sha1hex(self.argv[1])

    def _kind(self) -> str:
        return "forked" if self.forked else "synchronous"


def start(client, argv: list[bytes]):
    """EVAL in debug mode: open the session; the first stop's lines are the reply."""
    node = client.node
    problem = node.scripts.compile_error(argv[1])
    if problem is not None:
        return problem
    keys_and_args(argv)  # its numkeys error before any session
    client.ldb = session = Session(client, argv, forked=client.ldb_mode == "yes")
    if session.forked:  # nothing of it reaches the log or the replicas, as a forked session's
        session.saved_targets, node.propagation_targets = node.propagation_targets, 0
    return [Simple(line) for line in session.start()]


def reply_line(reply) -> str:
    """How the debugger logs what a command gave: its reply, or the script layer's refusal."""
    if type(reply) is Error:
        text = reply.text[4:] if reply.text.startswith("ERR ") else reply.text
        if text.startswith(SCRIPT_LAYER_ERRORS):
            return "<error> " + text
    return "<reply> " + human(reply)


def human(reply) -> str:
    """A reply as the debugger shows it (ldbRedisProtocolToHuman)."""
    kind = type(reply)
    if reply is None:
        return "NULL"
    if kind is Error:
        return '"-%s"' % reply.text
    if kind is Simple:
        return '"+%s"' % reply.text
    if kind is int:
        return str(reply)
    if kind is bytes:
        return '"%s"' % _text(reply)
    if kind is list:
        return "[" + ",".join(human(item) for item in reply) + "]"
    items = getattr(reply, "items", None)
    if items is not None:
        return "[" + ",".join(human(item) for item in items) + "]"
    return '"%s"' % _text(str(reply).encode())


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")
