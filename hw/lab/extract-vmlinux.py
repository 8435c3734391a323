#!/usr/bin/env python3
"""Extract the uncompressed ELF kernel from a bzImage (vmlinuz), like the kernel's
scripts/extract-vmlinux: find each compression magic in the image, try to decompress from there,
keep the first result that is an ELF file. An uncompressed kernel boots in about half the time
under TCG because QEMU's emulated CPU does not spend seconds in the decompressor.

usage: extract-vmlinux.py VMLINUZ OUTPUT
"""
import bz2
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

ELF = b"\x7fELF"


def gunzip(data):
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return d.decompress(data)


def unxz(data):
    d = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    return d.decompress(data)


def unlzma(data):
    d = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    return d.decompress(data)


def unbz2(data):
    return bz2.BZ2Decompressor().decompress(data)


def with_tool(*argv):
    """Decompress through an external tool (zstd, lz4, lzop) when Python has no module for it."""

    def run(data):
        if shutil.which(argv[0]) is None:
            raise RuntimeError(f"{argv[0]} is not installed")
        with tempfile.TemporaryFile() as src:
            src.write(data)
            src.seek(0)
            # The stream is followed by the rest of the bzImage: the tools complain about the
            # trailing bytes but have written the whole payload by then.
            proc = subprocess.run(list(argv), stdin=src, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, check=False)
            return proc.stdout

    return run


# Magic numbers as scripts/extract-vmlinux searches for them.
FORMATS = [
    ("gzip", b"\x1f\x8b\x08", gunzip),
    ("xz", b"\xfd7zXZ\x00", unxz),
    ("bzip2", b"BZh", unbz2),
    ("lzma", b"\x5d\x00\x00\x00", unlzma),
    ("zstd", b"\x28\xb5\x2f\xfd", with_tool("zstd", "-dc")),
    ("lz4", b"\x02\x21\x4c\x18", with_tool("lz4", "-dc")),
    ("lzo", b"\x89LZO", with_tool("lzop", "-dc")),
]


def extract(image):
    if image.startswith(ELF):
        return "none", image
    tried = []
    for name, magic, decompress in FORMATS:
        start = 0
        while True:
            off = image.find(magic, start)
            if off < 0:
                break
            start = off + 1
            try:
                out = decompress(image[off:])
            except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error, RuntimeError) as e:
                tried.append(f"{name}@{off}: {e}")
                continue
            if out.startswith(ELF):
                return f"{name}@{off}", out
            tried.append(f"{name}@{off}: not an ELF file")
    raise SystemExit("extract-vmlinux: no compressed ELF kernel found; tried:\n  "
                     + "\n  ".join(tried[:20]))


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, "rb") as f:
        image = f.read()
    how, elf = extract(image)
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(elf)
    os.replace(tmp, dst)
    print(f"extract-vmlinux: {src} ({len(image)} bytes, {how}) -> {dst} ({len(elf)} bytes)")


if __name__ == "__main__":
    main()
