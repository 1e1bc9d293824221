#!/usr/bin/python3
"""A python3 workload for libhmm's benchmark suite: dicts, lists, strings.

Usage: py-workload.py [SCALE]

Builds word-frequency tables from generated text, JSON-like records that are
serialized and parsed back, sorted lists of tuples and big joined strings,
then prints one line "python ok <checksum>" that depends only on the work
(run-bench compares it with a reference run).  Needs PYTHONHASHSEED fixed
only for speed stability: nothing here depends on set or hash order.
"""
import json
import sys
import zlib


def rng(seed):
    x = seed & 0xFFFFFFFFFFFFFFFF
    while True:
        x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 7
        x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
        yield x


SYL = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "vu", "zen", "dra", "qua"]


def words(gen, n):
    out = []
    for _ in range(n):
        r = next(gen)
        k = 1 + r % 4
        out.append("".join(SYL[(r >> (4 * i + 3)) % len(SYL)] for i in range(k)))
    return out


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    n = max(1000, int(60000 * scale))
    gen = rng(12345)
    crc = 0

    # 1. Word frequencies over generated text, several documents.
    for doc in range(4):
        text = " ".join(words(gen, n))
        freq = {}
        for w in text.split():
            freq[w] = freq.get(w, 0) + 1
        top = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
        crc = zlib.crc32(repr(top).encode(), crc)
        del text, freq

    # 2. JSON-like records: build, serialize, parse back, aggregate.
    recs = []
    for i in range(n // 2):
        r = next(gen)
        recs.append({
            "id": i,
            "name": "user%d" % (r % 100000),
            "tags": words(gen, 1 + r % 5),
            "score": (r % 10007) / 7.0,
            "nested": {"a": [r % 3, r % 5, r % 7], "b": str(r % 999)},
        })
    blob = json.dumps(recs, sort_keys=True)
    back = json.loads(blob)
    assert back == recs, "JSON round trip changed the records"
    by_tag = {}
    for rec in back:
        for t in rec["tags"]:
            by_tag.setdefault(t, []).append(rec["id"])
    crc = zlib.crc32(str(sorted((k, len(v), sum(v)) for k, v in by_tag.items())).encode(), crc)
    del recs, back, blob, by_tag

    # 3. Lists of tuples: sort, group, slice and rebuild.
    rows = [(next(gen) % 1000, "r%d" % i, i * 3) for i in range(n * 2)]
    rows.sort()
    groups = {}
    for key, name, val in rows:
        groups.setdefault(key, []).append((name, val))
    total = 0
    for key in sorted(groups):
        g = groups[key]
        g2 = [v for _, v in g if v % 2 == 0]
        total += key * len(g) + sum(g2)
    crc = zlib.crc32(str(total).encode(), crc)
    del rows, groups

    # 4. String building: many small concatenations and big joins.
    parts = []
    for i in range(n):
        s = "line %d: " % i
        for w in words(gen, 3):
            s += w.upper() + "-"
        parts.append(s)
    big = "\n".join(parts)
    crc = zlib.crc32(big.encode(), crc)
    lines = big.splitlines()
    assert len(lines) == n, "splitlines lost lines"
    crc = zlib.crc32(str(sum(len(x) for x in lines)).encode(), crc)

    print("python ok %08x" % crc)


if __name__ == "__main__":
    main()
