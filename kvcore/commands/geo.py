"""Geospatial commands: positions stored as sorted-set scores (kvcore.geohash).

GEOADD writes through ZADD (and is logged as the ZADD it made, as Redis
rewrites it); the searches (GEORADIUS*, GEOSEARCH*) walk the geohash boxes
Redis walks, in its order, and sort by distance only when asked (or when
COUNT without ANY makes Redis sort).
"""

from __future__ import annotations

from fractions import Fraction

from kvcore import errors, geohash
from kvcore.commands.args import parse_float, parse_int
from kvcore.commands.key_specs import Index, KeySpec, Keyword
from kvcore.commands.sets import store_result
from kvcore.commands.strings import format_long_double
from kvcore.commands.table import Flag, Registry
from kvcore.commands.zsets import _read, zadd
from kvcore.reply import NULL_ARRAY, Double, Error
from kvcore.types_zset import ZSetValue

REGISTRY = Registry("geo")
command = REGISTRY.command

W, R = Flag.WRITE | Flag.DENYOOM, Flag.READONLY
UNITS = {b"m": 1.0, b"km": 1000.0, b"ft": 0.3048, b"mi": 1609.34}
BAD_UNIT = "ERR unsupported unit provided. please use M, KM, FT, MI"
STORE_WITH = "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
SEARCHSTORE_WITH = "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options"


def _coordinates(lon_arg: bytes, lat_arg: bytes) -> tuple[float, float]:
    lon, lat = parse_float(lon_arg, errors.NOT_FLOAT), parse_float(lat_arg, errors.NOT_FLOAT)
    if not geohash.valid(lon, lat):
        raise Error("ERR invalid longitude,latitude pair %f,%f" % (lon, lat))
    return lon, lat


def _unit(arg: bytes) -> float:
    conversion = UNITS.get(arg.lower())
    if conversion is None:
        raise Error(BAD_UNIT)
    return conversion


def _position(value: ZSetValue | None, member: bytes) -> tuple[float, float] | None:
    score = None if value is None else value.view().score(member)
    return None if score is None else geohash.decode(int(score))


def _human(number: float) -> Double:
    """A coordinate as Redis answers it: its long double text (a bulk string in RESP2)."""
    return Double(number, format_long_double(Fraction(number)))


@command("geoadd", -5, W, (1, 1, 1), since="3.2.0", key_specs=(KeySpec("RW UPDATE", Index(1)),))
def geoadd(client, argv):
    """GEOADD key [NX | XX] [CH] longitude latitude member [longitude latitude member ...]"""
    index, flags = 2, []
    while index < len(argv) and argv[index].lower() in (b"nx", b"xx", b"ch"):
        flags.append(argv[index])
        index += 1
    lowered = {flag.lower() for flag in flags}
    if b"nx" in lowered and b"xx" in lowered:
        raise Error(errors.SYNTAX)
    rest = argv[index:]
    if not rest or len(rest) % 3:
        raise Error(errors.SYNTAX)
    rewritten = [b"zadd", argv[1], *flags]
    for i in range(0, len(rest), 3):
        lon, lat = _coordinates(rest[i], rest[i + 1])
        rewritten += [b"%d" % geohash.encode(lon, lat), rest[i + 2]]
    reply = zadd(client, rewritten)
    client.propagate_as = [rewritten]  # logged and replicated as the ZADD it is
    return reply


@command("geopos", -2, R, (1, 1, 1), since="3.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def geopos(client, argv):
    """GEOPOS key [member [member ...]]"""
    value = _read(client, argv[1])
    out = []
    for member in argv[2:]:
        position = _position(value, member)
        out.append(NULL_ARRAY if position is None else [_human(position[0]), _human(position[1])])
    return out


@command("geodist", -4, R, (1, 1, 1), since="3.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def geodist(client, argv):
    """GEODIST key member1 member2 [M | KM | FT | MI]"""
    if len(argv) > 5:
        raise Error(errors.SYNTAX)
    conversion = _unit(argv[4]) if len(argv) == 5 else 1.0
    value = _read(client, argv[1])
    first, second = _position(value, argv[2]), _position(value, argv[3])
    if first is None or second is None:
        return None
    return b"%.4f" % (geohash.distance(*first, *second) / conversion)


@command("geohash", -2, R, (1, 1, 1), since="3.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def geohash_(client, argv):
    """GEOHASH key [member [member ...]]"""
    value = _read(client, argv[1])
    view = None if value is None else value.view()
    out = []
    for member in argv[2:]:
        score = None if view is None else view.score(member)
        out.append(None if score is None else geohash.text(int(score)))
    return out


# -- searches -------------------------------------------------------------------------
RADIUS_COORDS, RADIUS_MEMBER, SEARCH = "coords", "member", "search"


class Search:
    """A parsed GEORADIUS / GEOSEARCH: where, what shape, and what to answer or store."""

    def __init__(self) -> None:
        self.lonlat: tuple[float, float] | None = None
        self.radius: float | None = None
        self.box: tuple[float, float] | None = None
        self.conversion = 1.0
        self.with_dist = self.with_hash = self.with_coord = False
        self.sort: str | None = None
        self.count = 0
        self.any = False
        self.store: bytes | None = None
        self.store_dist = False


def _distance(search: Search, radius: bytes, unit: bytes) -> None:
    """extractDistanceOrReply: the number, its sign, then the unit."""
    search.radius = parse_float(radius, "ERR need numeric radius")
    if search.radius < 0:
        raise Error("ERR radius cannot be negative")
    search.conversion = _unit(unit)


def _box(search: Search, width: bytes, height: bytes, unit: bytes) -> None:
    """extractBoxOrReply."""
    box_width = parse_float(width, "ERR need numeric width")
    box_height = parse_float(height, "ERR need numeric height")
    if box_height < 0 or box_width < 0:
        raise Error("ERR height or width cannot be negative")
    search.box = (box_width, box_height)
    search.conversion = _unit(unit)


def _member_position(value: ZSetValue, member: bytes) -> tuple[float, float]:
    position = _position(value, member)
    if position is None:
        raise Error("ERR could not decode requested zset member")
    return position


def _georadius_generic(client, argv: list[bytes], source: int, mode: str, nostore: bool = False,
                       storing: bool = False):
    """Redis's georadiusGeneric: the checks in its order, then the search."""
    value = _read(client, argv[source])
    search = Search()
    geosearch = mode == SEARCH
    if mode == RADIUS_COORDS:
        base = 6
        search.lonlat = _coordinates(argv[2], argv[3])
        _distance(search, argv[4], argv[5])
    elif mode == RADIUS_MEMBER:
        base = 5
        if value is not None:
            search.lonlat = _member_position(value, argv[2])
            _distance(search, argv[3], argv[4])
    else:
        base = source + 1
        if storing:
            search.store = argv[1]
    from_member = from_lonlat = False
    index = base
    while index < len(argv):
        option = argv[index].lower()
        more = len(argv) - index - 1
        if option == b"withdist":
            search.with_dist = True
        elif option == b"withhash":
            search.with_hash = True
        elif option == b"withcoord":
            search.with_coord = True
        elif option == b"any":
            search.any = True
        elif option in (b"asc", b"desc"):
            search.sort = option.decode()
        elif option == b"count" and more >= 1:
            search.count = parse_int(argv[index + 1])
            if search.count <= 0:
                raise Error("ERR COUNT must be > 0")
            index += 1
        elif option in (b"store", b"storedist") and more >= 1 and not nostore and not geosearch:
            search.store, search.store_dist = argv[index + 1], option == b"storedist"
            index += 1
        elif option == b"storedist" and geosearch and storing:
            search.store_dist = True
        elif option == b"frommember" and more >= 1 and geosearch and not from_lonlat:
            if value is not None:
                search.lonlat = _member_position(value, argv[index + 1])
            from_member = True
            index += 1
        elif option == b"fromlonlat" and more >= 2 and geosearch and not from_member:
            search.lonlat = _coordinates(argv[index + 1], argv[index + 2])
            from_lonlat = True
            index += 2
        elif option == b"byradius" and more >= 2 and geosearch and search.box is None:
            _distance(search, argv[index + 1], argv[index + 2])
            index += 2
        elif option == b"bybox" and more >= 3 and geosearch and search.radius is None:
            _box(search, argv[index + 1], argv[index + 2], argv[index + 3])
            index += 3
        else:
            raise Error(errors.SYNTAX)
        index += 1
    if search.store is not None and (search.with_dist or search.with_hash or search.with_coord):
        raise Error(SEARCHSTORE_WITH if storing else STORE_WITH)
    name = argv[0].decode("utf-8", "replace")
    if geosearch and not (from_member or from_lonlat):
        raise Error(f"ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}")
    if geosearch and search.radius is None and search.box is None:
        raise Error(f"ERR exactly one of BYRADIUS and BYBOX can be specified for {name}")
    if search.any and not search.count:
        raise Error("ERR the ANY argument requires COUNT argument")
    event = "geosearchstore" if geosearch else "georadiusstore"
    if value is None:
        return _finish(client, search, [], event)
    return _finish(client, search, _matches(value, search), event)


def _matches(value: ZSetValue, search: Search) -> list:
    """(metres, score, member, position) of each member in the shape, in Redis's visiting order."""
    lon, lat = search.lonlat
    shape = geohash.Shape(lon, lat, search.conversion, radius=search.radius,
                          width=search.box[0] if search.box else 0.0, height=search.box[1] if search.box else 0.0)
    limit = search.count if search.any else 0
    found = []
    view = value.view()
    for bits, step in shape.boxes():
        if limit and len(found) >= limit:
            break
        low, high = geohash.box_scores(bits, step)
        for score, member in view.walk(view.bisect(low)):
            if score >= high:
                break
            position = geohash.decode(int(score))
            metres = shape.contains(*position)
            if metres is not None:
                found.append((metres, int(score), member, position))
                if limit and len(found) >= limit:
                    break
    return found


def _finish(client, search: Search, found: list, event: str):
    sort = search.sort
    if search.count and sort is None and not search.any:
        sort = "asc"  # Redis sorts to take the nearest COUNT
    if sort is not None:
        found.sort(key=lambda item: item[0], reverse=sort == "desc")
    if search.count:
        found = found[: search.count]
    if search.store is not None:
        scores = {member: (metres / search.conversion if search.store_dist else float(score))
                  for metres, score, member, _ in found}
        return store_result(client, search.store, ZSetValue.built(scores, client.node.config), event)
    if not (search.with_dist or search.with_hash or search.with_coord):
        return [member for _, _, member, _ in found]
    out = []
    for metres, score, member, (lon, lat) in found:
        item = [member]
        if search.with_dist:
            item.append(b"%.4f" % (metres / search.conversion))
        if search.with_hash:
            item.append(score)
        if search.with_coord:
            item.append([_human(lon), _human(lat)])
        out.append(item)
    return out


def _georadius_keys(argv: list[bytes]) -> list[int]:
    """The source key, and the STORE / STOREDIST destination.

    Options start after the radius (index 5 at the earliest, so a member named
    "store" is not taken for the keyword); of several STORE options the last wins,
    as it does when the command runs."""
    destination = None
    i = 5
    while i < len(argv) - 1:
        if argv[i].lower() in (b"store", b"storedist"):
            destination = i + 1
            i += 1
        i += 1
    return [1] if destination is None else [1, destination]


def _radius_specs(options_from: int) -> tuple[KeySpec, ...]:
    """GEORADIUS's and GEORADIUSBYMEMBER's key specs: the source, and a destination after
    STORE or STOREDIST looked for from ``options_from``."""
    return (
        KeySpec("RO ACCESS", Index(1)),
        KeySpec("OW UPDATE", Keyword("STORE", options_from)),
        KeySpec("OW UPDATE", Keyword("STOREDIST", options_from)),
    )


@command("georadius", -6, W, (1, 1, 1), keys_fn=_georadius_keys, since="3.2.0", key_specs=_radius_specs(6))
def georadius(client, argv):
    """GEORADIUS key longitude latitude radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]]
    [ASC | DESC] [STORE key | STOREDIST key]"""
    return _georadius_generic(client, argv, 1, RADIUS_COORDS)


@command("georadiusbymember", -5, W, (1, 1, 1), keys_fn=_georadius_keys, since="3.2.0", key_specs=_radius_specs(5))
def georadiusbymember(client, argv):
    """GEORADIUSBYMEMBER key member radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH] [COUNT count [ANY]]
    [ASC | DESC] [STORE key | STOREDIST key]"""
    return _georadius_generic(client, argv, 1, RADIUS_MEMBER)


@command("georadius_ro", -6, R, (1, 1, 1), since="3.2.10", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def georadius_ro(client, argv):
    """GEORADIUS_RO key longitude latitude radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH]
    [COUNT count [ANY]] [ASC | DESC]"""
    return _georadius_generic(client, argv, 1, RADIUS_COORDS, nostore=True)


@command("georadiusbymember_ro", -5, R, (1, 1, 1), since="3.2.10", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def georadiusbymember_ro(client, argv):
    """GEORADIUSBYMEMBER_RO key member radius M | KM | FT | MI [WITHCOORD] [WITHDIST] [WITHHASH]
    [COUNT count [ANY]] [ASC | DESC]"""
    return _georadius_generic(client, argv, 1, RADIUS_MEMBER, nostore=True)


@command("geosearch", -7, R, (1, 1, 1), since="6.2.0", key_specs=(KeySpec("RO ACCESS", Index(1)),))
def geosearch(client, argv):
    """GEOSEARCH key FROMMEMBER member | FROMLONLAT longitude latitude BYRADIUS radius M | KM | FT | MI |
    BYBOX width height M | KM | FT | MI [ASC | DESC] [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]"""
    return _georadius_generic(client, argv, 1, SEARCH)


@command(
    "geosearchstore", -8, W, (1, 2, 1), since="6.2.0",
    key_specs=(
        KeySpec("OW UPDATE", Index(1)),
        KeySpec("RO ACCESS", Index(2)),
    ),
)
def geosearchstore(client, argv):
    """GEOSEARCHSTORE destination source FROMMEMBER member | FROMLONLAT longitude latitude BYRADIUS radius
    M | KM | FT | MI | BYBOX width height M | KM | FT | MI [ASC | DESC] [COUNT count [ANY]] [STOREDIST]"""
    return _georadius_generic(client, argv, 2, SEARCH, storing=True)
