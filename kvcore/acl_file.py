"""ACL LOAD and ACL SAVE: the ``aclfile`` read and written through the runtime.

ACL LOAD asks for the file (`ReadFiles`) and answers when its bytes come
back; ACL SAVE writes the users to a temporary file, fsyncs it and renames it
over the ACL file (`WriteFiles`, foreground), and answers when that is done.
Meanwhile the client waits (`HeldReply`), as for SAVE.
"""

from __future__ import annotations

from kvcore.acl import AclError
from kvcore.blocking import HeldReply
from kvcore.effects import ReadFiles, WriteFiles
from kvcore.reply import OK, Error

NO_ACLFILE = (
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the "
    "ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) "
    "in order to store users in the Redis configuration."
)
SAVE_FAILED = "ERR There was an error trying to save the ACLs. Please check the server logs for more information"


class AclFile:
    def __init__(self, node) -> None:
        self.node = node
        self.waiting: dict[int, HeldReply] = {}  # job -> the client that asked

    def owns(self, job: int) -> bool:
        return job in self.waiting

    def path(self) -> str:
        path = self.node.config["aclfile"]
        if not path:
            raise Error(NO_ACLFILE)
        return path

    def load(self, client) -> None:
        path = self.path()
        job = self.node.new_job()
        self.waiting[job] = HeldReply(client, "ACL LOAD")
        self.node.emit(ReadFiles(job, (path,)))

    def save(self, client) -> None:
        path = self.path()
        job = self.node.new_job()
        self.waiting[job] = HeldReply(client, "ACL SAVE")
        temp = f"{path}.tmp-{job}"
        steps = (("write", temp), ("fsync", temp), ("rename", temp, path))
        self.node.emit(WriteFiles(job, path, self.node.acl.file_text(), False, steps, kind="aclfile"))

    def files_read(self, job: int, contents: dict[str, bytes | None]) -> None:
        waiter = self.waiting.pop(job)
        path = self.node.config["aclfile"]
        try:
            self.node.acl.load(path, contents.get(path))
        except AclError as exc:
            waiter.release(self.node, Error(f"ERR {exc}"))
            return
        waiter.release(self.node, OK)

    def job_done(self, job: int, ok: bool, error: str) -> None:
        waiter = self.waiting.pop(job)  # the runtime logs why a write failed
        waiter.release(self.node, OK if ok else Error(SAVE_FAILED))
