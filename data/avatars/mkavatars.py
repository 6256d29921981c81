#!/usr/bin/python3
"""Draws the gateways' avatars (XEP-0054/0153): a disc in the network's
colour with its short name in a 5x7 pixel font. Standard library only, so
the PNGs in this folder can be made again anywhere:
    python3 data/avatars/mkavatars.py data/avatars"""
import struct
import sys
import zlib
from pathlib import Path

SIZE = 96

FONT = {  # 5x7, one string per row
    "E": ["#####", "#....", "#....", "####.", "#....", "#....", "#####"],
    "I": ["#####", "..#..", "..#..", "..#..", "..#..", "..#..", "#####"],
    "R": ["####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"],
    "C": [".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."],
    "S": [".####", "#....", "#....", ".###.", "....#", "....#", "####."],
    "M": ["#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"],
    "@": [".###.", "#...#", "#.###", "#.#.#", "#.###", "#....", ".####"],
}

AVATARS = {  # file name (the backend's section) -> text, colour
    "echo": ("E", (0x6c, 0x75, 0x7d)),
    "irc": ("IRC", (0x2e, 0x7d, 0x32)),
    "sms": ("SMS", (0x15, 0x65, 0xc0)),
    "email": ("@", (0xc6, 0x28, 0x28)),
}


def draw(text, colour):
    px = [[(0, 0, 0, 0)] * SIZE for _ in range(SIZE)]
    r = SIZE / 2
    for y in range(SIZE):
        for x in range(SIZE):
            if (x + 0.5 - r) ** 2 + (y + 0.5 - r) ** 2 <= r * r:
                px[y][x] = colour + (255,)
    scale = 9 if len(text) == 1 else 5
    width = (len(text) * 6 - 1) * scale
    x0, y0 = (SIZE - width) // 2, (SIZE - 7 * scale) // 2
    for i, ch in enumerate(text):
        for row, bits in enumerate(FONT[ch]):
            for col, bit in enumerate(bits):
                if bit != "#":
                    continue
                for dy in range(scale):
                    for dx in range(scale):
                        px[y0 + row * scale + dy][x0 + (i * 6 + col) * scale + dx] = \
                            (255, 255, 255, 255)
    return px


def png(px):
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c))
    raw = b"".join(b"\0" + bytes(v for p in row for v in p) for row in px)
    ihdr = struct.pack(">IIBBBBB", len(px[0]), len(px), 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
            chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for name, (text, colour) in AVATARS.items():
        (out / f"{name}.png").write_bytes(png(draw(text, colour)))


if __name__ == "__main__":
    main()
