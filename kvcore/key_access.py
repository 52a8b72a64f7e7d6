"""What a command does to each of its keys, for ACL key patterns: read it, write it, both, or neither.

ACL key patterns grant read (``%R~``), write (``%W~``) or both (``~``). As
Redis 7.0, the access a key needs comes from the flags its command's key
specs give it (`kvcore.commands.key_specs.keys_and_flags`, which also asks the
command where the flags depend on the arguments, as SET ... GET): a key whose
value the command reveals (ACCESS) needs read, one it inserts, deletes or
updates needs write, and one it only looks at the existence, type or size of
(EXISTS, TYPE, TTL...) needs neither, so any pattern that matches it will do.
Shard channels sit at key positions but are no keys (NOT_KEY).
"""

from __future__ import annotations

READ = 1
WRITE = 2


def key_access(cmd, argv: list[bytes]) -> list[tuple[int, int]]:
    """Each key of a request, as its position in argv, with the access (READ | WRITE bits) it needs."""
    # Imported here: the command families import this module (through kvcore.acl), and
    # importing from the kvcore.commands package builds the command table from them.
    from kvcore.commands.key_specs import KeyFlag, keys_and_flags
    from kvcore.commands.table import Flag

    writes = KeyFlag.INSERT | KeyFlag.DELETE | KeyFlag.UPDATE
    specs = cmd.key_specs
    if specs and all(spec.flags & KeyFlag.NOT_KEY for spec in specs):
        return []
    found = keys_and_flags(cmd, argv)
    if not specs:  # a command Redis 7.0 does not have (JSON.*): as its flags say
        needed = READ if cmd.flags & Flag.READONLY else READ | WRITE
        return [(pos, needed) for pos, _ in found]
    return [(pos, (READ if flags & KeyFlag.ACCESS else 0) | (WRITE if flags & writes else 0))
            for pos, flags in found if not flags & KeyFlag.NOT_KEY]
