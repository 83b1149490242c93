#!/usr/bin/env python3
"""long_png.py OUT W H [CHANNELS] [PERIODS]: a smooth synthetic PNG of any
size, written in seconds and a few hundred KB even at 60,000,000 x 1.

Channel c of pixel (x, y) is 20 + 15 c + f(x) + g(y), where f and g are
triangle waves of 100 levels with PERIODS periods (default 3) along their
axis. Because the picture is piecewise linear, the rows are made filtered
(Sub along the first row, Up below it) as runs of equal bytes, and are
compressed as they are made: nothing of image size is held in memory.
"""
import struct
import sys
import zlib

AMP = 100  # levels per half period


def levels(n, periods):
    """(x, delta) for every x of an n-long axis where the triangle wave
    differs from its value at x - 1, delta as a byte (mod 256)."""
    steps = 2 * AMP * periods
    out = {}
    for u in range(1, steps + 1):
        x = -(-u * n // steps)  # ceil: the first x with level index u
        if x >= n:
            break
        out[x] = out.get(x, 0) + (1 if (u - 1) % (2 * AMP) < AMP else -1)
    return [(x, d % 256) for x, d in sorted(out.items()) if d % 256]


def chunk(tag, data):
    body = tag + data
    return struct.pack(">I", len(data)) + body + \
        struct.pack(">I", zlib.crc32(body) & 0xffffffff)


def main():
    out, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    ch = int(sys.argv[4]) if len(sys.argv) > 4 else 3
    periods = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    z = zlib.compressobj(9)
    idat = []

    # first row, Sub-filtered: the first pixel, then f's steps
    row = [b"\x01", bytes(20 + 15 * c for c in range(ch))]
    prev = 1
    for x, d in (levels(w, periods) if w > 1 else []):
        row.append(b"\0" * (ch * (x - prev)))
        row.append(bytes([d]) * ch)
        prev = x + 1
    row.append(b"\0" * (ch * (w - prev)))
    for part in row:
        idat.append(z.compress(part))
    # the rest, Up-filtered: each row is the one above plus g's step
    flat = b"\x02" + b"\0" * (w * ch)
    prev = 1
    batch = max(1, (1 << 20) // len(flat))
    for y, d in (levels(h, periods) if h > 1 else []) + [(h, None)]:
        left = y - prev
        while left > 0:
            k = min(left, batch)
            idat.append(z.compress(flat * k))
            left -= k
        if d is not None:
            idat.append(z.compress(b"\x02" + bytes([d]) * (w * ch)))
        prev = y + 1
    idat.append(z.flush())

    colour = {1: 0, 2: 4, 3: 2, 4: 6}[ch]
    with open(out, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour,
                                           0, 0, 0)))
        f.write(chunk(b"IDAT", b"".join(idat)))
        f.write(chunk(b"IEND", b""))


if __name__ == "__main__":
    main()
