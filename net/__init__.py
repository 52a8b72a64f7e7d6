"""The production runtime, ``kvserver``: asyncio (uvloop) sockets and real disk around kvcore.

- `net.main`: the command line, start-up, exit codes.
- `net.conffile`: redis.conf files and ``--name value`` arguments.
- `net.server`: the event loop, connections, and the effects carried out.
- `net.log`: the log in redis-server's line format.
"""
