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


def body_hash(e):
    """The body's BLAKE2b-256; a redacted entry carries only body_hash."""
    if "body" in e:
        h = hashlib.blake2b(e["body"].encode("utf-8"), digest_size=32).digest()
        if "body_hash" in e and e["body_hash"] != h.hex():
            return None
        return h
    return bytes.fromhex(e["body_hash"])


def main():
    prev = bytes(32)
    n = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            e = json.loads(line)
            bh = body_hash(e)
            if bh is None:
                print(f"entry {n}: body does not match body_hash")
                return 3
            h = hashlib.blake2b(
                prev
                + struct.pack("<QQQ", e["seq"], e["time_ms"], e["version"])
                + lp(e["author"]) + lp(e["op"]) + lp(e["kind"]) + lp(e["id"])
                + bh,
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
