#!/usr/bin/env python3
"""Checks an exported haven ledger (haven ledger export FILE) with nothing but
Python's standard library: the independent check of docs/record.md.
Usage: verify-ledger.py FILE [EXPECTED_HEAD_HEX]. Exit 0 ok, 3 broken."""
import hashlib
import json
import struct
import sys


def lp(s):
    b = s.encode("utf-8")
    return struct.pack("<I", len(b)) + b


def part_hash(e, name):
    """The BLAKE2b-256 of e[name] ("id" or "body") as it enters the hash. A
    copy may withhold it (body absent, id null) and carry only name_hash;
    when both are given they must agree. None when they do not."""
    if e.get(name) is not None:
        h = hashlib.blake2b(e[name].encode("utf-8"), digest_size=32).digest()
        if name + "_hash" in e and e[name + "_hash"] != h.hex():
            return None
        return h
    return bytes.fromhex(e[name + "_hash"])


def main():
    prev = bytes(32)
    n = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                e = json.loads(line)
                ih, bh = part_hash(e, "id"), part_hash(e, "body")
            except (ValueError, KeyError, TypeError, AttributeError):
                print(f"entry {n}: not a ledger entry")
                return 3
            if ih is None or bh is None:
                what = "id" if ih is None else "body"
                print(f"entry {n}: {what} does not match {what}_hash")
                return 3
            h = hashlib.blake2b(
                prev
                + struct.pack("<QQQ", e["seq"], e["time_ms"], e["version"])
                + lp(e["author"]) + lp(e["op"]) + lp(e["kind"]) + ih + bh,
                digest_size=32)
            if e["seq"] != n or bytes.fromhex(e["prev_hash"]) != prev:
                print(f"entry {n}: out of chain")
                return 3
            if h.hexdigest() != e["hash"]:
                print(f"entry {n}: content does not match its hash")
                return 3
            prev = h.digest()
    if len(sys.argv) > 2 and prev.hex() != sys.argv[2]:
        print(f"head {prev.hex()} is not the expected {sys.argv[2]}")
        return 3
    print(f"ok: {n} entries, head {prev.hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
