"""Pictures for bad-input tests, written in microseconds."""
import struct
import zlib


def png_bytes(width, height, bit_depth=8, colour_type=6):
    """A PNG whose header announces width × height but whose pixel data is one empty row: what a decompression bomb
    looks like to Image.open, which reads the header only (colour type 6: RGBA, 0: gray)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def png_header(path, width, height, bit_depth=8, colour_type=6):
    """`png_bytes` written to `path`; returns the path as a string."""
    with open(path, "wb") as handle:
        handle.write(png_bytes(width, height, bit_depth, colour_type))
    return str(path)
