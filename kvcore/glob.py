"""Redis's glob-style pattern matching (stringmatchlen), byte for byte."""

from __future__ import annotations


def glob_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    if nocase:
        pattern, string = pattern.lower(), string.lower()
    if pattern == b"*":
        return True
    return _match(pattern, 0, string, 0, [False])


def _match(p: bytes, pi: int, s: bytes, si: int, skip_longer: list[bool]) -> bool:
    """stringmatchlen; ``skip_longer`` is Redis's guard against exponential time."""
    plen, slen = len(p), len(s)
    while pi < plen and si < slen:
        c = p[pi]
        if c == 0x2A:  # '*'
            while pi + 1 < plen and p[pi + 1] == 0x2A:
                pi += 1
            if pi + 1 == plen:
                return True
            while si < slen:
                if _match(p, pi + 1, s, si, skip_longer):
                    return True
                if skip_longer[0]:
                    return False
                si += 1
            skip_longer[0] = True
            return False
        if c == 0x3F:  # '?'
            si += 1
        elif c == 0x5B:  # '['
            pi, matched = _match_class(p, pi + 1, s[si])
            if not matched:
                return False
            si += 1
        else:
            if c == 0x5C and pi + 1 < plen:  # '\\'
                pi += 1
                c = p[pi]
            if c != s[si]:
                return False
            si += 1
        pi += 1
        if si == slen:
            while pi < plen and p[pi] == 0x2A:
                pi += 1
            break
    return pi == plen and si == slen


def _match_class(p: bytes, pi: int, ch: int) -> tuple[int, bool]:
    """Match ch against the class starting after '['; return (index of ']', hit)."""
    plen = len(p)
    negate = pi < plen and p[pi] == 0x5E  # '^'
    if negate:
        pi += 1
    hit = False
    while pi < plen:
        c = p[pi]
        if c == 0x5C and pi + 1 < plen:
            pi += 1
            if p[pi] == ch:
                hit = True
        elif c == 0x5D:  # ']'
            break
        elif pi + 2 < plen and p[pi + 1] == 0x2D:  # range a-z
            lo, hi = c, p[pi + 2]
            if lo > hi:
                lo, hi = hi, lo
            if lo <= ch <= hi:
                hit = True
            pi += 2
        elif c == ch:
            hit = True
        pi += 1
    if pi >= plen:
        pi = plen - 1  # Redis treats a missing ']' as the end of the pattern
    return pi, hit != negate
