"""A TNEF container's structure checked before tnefparse reads it, so that it ends in time.

tnefparse believes the counts in the file: a MAPI block saying it holds 2**32 properties, or a
property 2**32 values, loops that many times past the end of the data (reading nothing: short
reads are not errors there), and it copies the rest of the data for every attribute it reads,
so many small ones cost the square of the size. Both come from a few bytes any sender can
write. This walk reads only lengths and counts ([MS-OXTNEF] 2.1.3, the MAPI property layout
tnefparse's ``decode_mapi`` reads), in time linear in the data, and refuses what would not end
or would cost too much.
"""

from __future__ import annotations

import struct

SIGNATURE = 0x223E9F78
MAPI_BLOCKS = frozenset((0x9003, 0x9005))  # attMAPIProps, attAttachment
RECIPIENTS = 0x9004  # attRecipTable: rows of MAPI blocks
MAX_COPIED = 4_000_000_000  # bytes tnefparse copies, attribute by attribute (under a second)
MAX_DEPTH = 8  # messages attached inside messages
_EMBEDDED = 0x3701  # PR_ATTACH_DATA_OBJ, which holds an attached message
_MESSAGE_SIG = b"\x07\x03\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00\x46"
_FIXED = {0x0002: 2, 0x000B: 2, 0x0003: 4, 0x0004: 4, 0x000A: 4, 0x0048: 16}
_FIXED.update(dict.fromkeys((0x0005, 0x0006, 0x0007, 0x0014, 0x0040), 8))
_COUNTED = frozenset((0x0000, 0x000D, 0x001E, 0x001F, 0x0102))


class Unsafe(ValueError):
    pass


def check(data: bytes, depth: int = 0) -> None:
    """Raises ``Unsafe`` (with the reason) for a container tnefparse must not be given."""
    if depth > MAX_DEPTH:
        raise Unsafe("messages attached more than 8 levels deep")
    if len(data) < 6 or struct.unpack_from("<I", data)[0] != SIGNATURE:
        raise Unsafe("no TNEF signature")
    offset, copied = 6, 0
    while offset + 12 < len(data):
        _level, name, length = struct.unpack_from("<BHxxI", data, offset)
        copied += len(data) - offset
        body = data[offset + 9 : offset + 9 + length]
        if name in MAPI_BLOCKS:
            _properties(body, 0, depth)
        elif name == RECIPIENTS:
            _rows(body, depth)
        offset += length + 11
    if copied > MAX_COPIED:
        raise Unsafe("too many attributes for its size")


def _rows(data: bytes, depth: int) -> None:
    (rows,) = _read("<I", data, 0)
    offset = 4
    for _ in range(_counted(rows, data, offset, 4)):
        offset = _properties(data, offset, depth)


def _properties(data: bytes, offset: int, depth: int) -> int:
    (count,) = _read("<I", data, offset)
    offset += 4
    for _ in range(_counted(count, data, offset, 4)):
        offset = _property(data, offset, depth)
    return offset


def _property(data: bytes, offset: int, depth: int) -> int:
    kind, ident = _read("<HH", data, offset)
    offset += 4
    if ident >= 0x8000:  # a named property: its GUID, then a number or a name
        (named,) = _read("<I", data, offset + 16)
        offset += 20
        if named:
            (size,) = _read("<I", data, offset)
            offset += 4 + size + (-size % 4)
        else:
            offset += 4
    values, multi = 1, bool(kind & 0x1000)
    kind &= ~0x1000
    if multi:
        (values,) = _read("<I", data, offset)
        offset += 4
        values = _counted(values, data, offset, 2)
    for _ in range(values):
        offset = _value(data, offset, kind, ident, multi, depth)
    if values % 2 and kind in (0x0002, 0x000B):
        offset += 2
    return offset


def _value(data: bytes, offset: int, kind: int, ident: int, multi: bool, depth: int) -> int:
    if kind in _FIXED:
        return offset + _FIXED[kind]
    if kind not in _COUNTED:
        return len(data)  # tnefparse stops at an unknown type: so does the walk
    items = 1
    if not multi:
        (items,) = _read("<I", data, offset)
        offset += 4
    for _ in range(_counted(items, data, offset, 4)):
        (size,) = _read("<I", data, offset)
        value = data[offset + 4 : offset + 4 + size]
        if ident == _EMBEDDED and value.startswith(_MESSAGE_SIG):
            check(value[len(_MESSAGE_SIG) :], depth + 1)
        offset += 4 + size + (-size % 4)
    return offset


def _read(layout: str, data: bytes, offset: int) -> tuple[int, ...]:
    if offset + struct.calcsize(layout) > len(data):
        raise Unsafe("a MAPI property runs past its attribute")
    return struct.unpack_from(layout, data, offset)


def _counted(count: int, data: bytes, offset: int, size: int) -> int:
    """``count`` items of at least ``size`` bytes each, when the data can hold them."""
    if count * size > len(data) - offset:
        raise Unsafe(f"a count of {count} that the data cannot hold")
    return count
