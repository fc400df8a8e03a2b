#!/usr/bin/python3
"""tests/st_reader.py: an independent safetensors reader (and reference writer) to
cross-check src/io/safetensors.c. Standard library only (json, struct, array, sys); it
shares no code and no conversion routine with the C side.

  st_reader.py FILE          Checks FILE against the format and against what our writer
                             promises (header length a multiple of 8, compact JSON padded
                             with spaces, every tensor aligned to its element size, the
                             tensors tiling the data buffer), then prints one JSON line:
                             {"header_len": N, "metadata": {...}, "tensors": [{"name",
                             "dtype", "shape", "data_offsets", "bits": [u32, ...]}, ...]}
                             in header order, each value as the bit pattern of its fp32
                             value (F16 decoded by struct's 'e' format, BF16 by a shift).
  st_reader.py --write FILE  Writes the reference file described in REFERENCE below.

Exit status 0, or 1 with one line on stderr saying what is wrong with FILE.
"""
import array
import json
import struct
import sys

SIZES = {"F32": 4, "F16": 2, "BF16": 2}

# The reference file: (name, dtype, shape, values); tests/test_safetensors.c holds the same
# table. Header order is this order; the data buffer is laid out in a different order
# (LAYOUT) so a reader cannot assume the two agree. Values are exact in their dtype.
REFERENCE = [
    ("b.f32", "F32", [2, 3], [-1.0, -0.5, 0.0, 0.5, 1.0, 1.5]),
    ("a.f16", "F16", [4], [1.0, -2.5, 65504.0, 2.0 ** -24]),
    ("c.bf16", "BF16", [2, 2], [1.0, -1.0, 3.140625, 0.5]),
    ("scalar", "F32", [], [42.0]),
    ("empty", "F16", [0, 5], []),
]
LAYOUT = ["b.f32", "scalar", "c.bf16", "a.f16", "empty"]
REFERENCE_META = {"source": "st_reader.py", "quote \"q\"": "caf\u00e9 \\ \u00fcber\nline"}


class Bad(Exception):
    pass


def need(cond, what):
    if not cond:
        raise Bad(what)


class Obj(list):
    """A JSON object as its (key, value) pairs, in the header's order."""


def no_dups(pairs):
    keys = [k for k, _ in pairs]
    need(len(keys) == len(set(keys)), "duplicate key in %r" % keys)
    return Obj(pairs)


def check_compact(text):
    """No whitespace outside strings (our writer prints compact JSON)."""
    in_str = esc = False
    for i, c in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
        else:
            need(c not in " \t\r\n", "header JSON is not compact (whitespace at %d)" % i)


def is_uint(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0


def read(path):
    with open(path, "rb") as f:
        buf = f.read()
    need(len(buf) >= 8, "file shorter than 8 bytes")
    (n,) = struct.unpack("<Q", buf[:8])
    need(8 + n <= len(buf), "header length %d past the end of the file" % n)
    need(n % 8 == 0, "header length %d is not a multiple of 8" % n)
    text = buf[8:8 + n].decode("utf-8")
    body = text.rstrip(" ")
    need(body.endswith("}"), "header padding is not spaces after the JSON")
    check_compact(body)
    pairs = json.loads(body, object_pairs_hook=no_dups)
    data = buf[8 + n:]
    meta, tensors = {}, []
    for name, info in pairs:
        if name == "__metadata__":
            need(isinstance(info, Obj), "__metadata__ not an object")
            for k, v in info:
                need(isinstance(v, str), "metadata value of %r not a string" % k)
                meta[k] = v
            continue
        need(isinstance(info, Obj), "entry %r not an object" % name)
        d = dict(info)
        need(sorted(d) == ["data_offsets", "dtype", "shape"], "entry %r fields %r" % (name, sorted(d)))
        dtype, shape, offs = d["dtype"], d["shape"], d["data_offsets"]
        need(dtype in SIZES, "tensor %r dtype %r" % (name, dtype))
        need(isinstance(shape, list) and not isinstance(shape, Obj) and all(is_uint(x) for x in shape), "tensor %r shape %r" % (name, shape))
        need(isinstance(offs, list) and not isinstance(offs, Obj) and len(offs) == 2 and all(is_uint(x) for x in offs),
             "tensor %r data_offsets %r" % (name, offs))
        count = 1
        for x in shape:
            count *= x
        size = SIZES[dtype]
        b, e = offs
        need(b <= e <= len(data), "tensor %r offsets %r outside the data (%d bytes)" % (name, offs, len(data)))
        need(e - b == count * size, "tensor %r: %d bytes for %d x %s" % (name, e - b, count, dtype))
        need(b % size == 0, "tensor %r at %d is not aligned to %d" % (name, b, size))
        raw = data[b:e]
        if dtype == "F32":
            bits = array.array("I")
            need(bits.itemsize == 4, "array('I') is not 32-bit here")
            bits.frombytes(raw)
            if sys.byteorder == "big":
                bits.byteswap()
            bits = list(bits)
        elif dtype == "F16":
            vals = struct.unpack("<%de" % count, raw)
            bits = list(struct.unpack("<%dI" % count, struct.pack("<%df" % count, *vals)))
        else:
            bits = [h << 16 for h in struct.unpack("<%dH" % count, raw)]
        tensors.append({"name": name, "dtype": dtype, "shape": shape, "data_offsets": offs, "bits": bits})
    spans = sorted((t["data_offsets"][0], t["data_offsets"][1], t["name"]) for t in tensors)
    pos = 0
    for b, e, name in spans:
        need(b == pos, "tensor %r starts at %d, expected %d (hole or overlap)" % (name, b, pos))
        pos = e
    need(pos == len(data), "data buffer has %d bytes after the last tensor" % (len(data) - pos))
    return {"header_len": n, "metadata": meta, "tensors": tensors}


def encode(dtype, values):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    # BF16: the top half of the fp32 pattern (REFERENCE values are exact in bf16)
    out = b""
    for v in values:
        (u,) = struct.unpack("<I", struct.pack("<f", v))
        need(u & 0xFFFF == 0, "%r is not exact in bf16" % v)
        out += struct.pack("<H", u >> 16)
    return out


def write_reference(path):
    blobs = {name: encode(dtype, vals) for name, dtype, _, vals in REFERENCE}
    offsets, pos = {}, 0
    for name in LAYOUT:
        offsets[name] = [pos, pos + len(blobs[name])]
        pos += len(blobs[name])
    header = {"__metadata__": REFERENCE_META}
    for name, dtype, shape, _ in REFERENCE:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": offsets[name]}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs[n] for n in LAYOUT))


def main(argv):
    try:
        if len(argv) == 3 and argv[1] == "--write":
            write_reference(argv[2])
        elif len(argv) == 2 and not argv[1].startswith("-"):
            print(json.dumps(read(argv[1]), separators=(",", ":")))
        else:
            sys.stderr.write("usage: st_reader.py FILE | st_reader.py --write FILE\n")
            return 2
    except Exception as e:  # any failure to read FILE is a verdict on it, not a crash
        sys.stderr.write("st_reader.py: %s: %s\n" % (argv[-1], e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
