"""Decoding a partner API batch body (1,000 unlocks): json.loads against msgspec, the two the
API uses (msgspec first, json.loads for what only JSON allows), in this process.

    .venv/bin/python bench/json_decode.py [--repeat 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import timeit
from datetime import UTC, datetime

import msgspec


def body(count: int = 1000) -> bytes:
    """A batch of `count` unlocks as partner apps send them."""
    now = datetime.now(UTC).isoformat()
    events = [
        {"id": f"bench-{i}", "series_id": 12, "episode": 3 + i % 78, "amount": 99,
         "currency": "USD", "occurred_at": now, "country": "US", "viewer": f"v{i}"}
        for i in range(count)
    ]  # fmt: skip
    return json.dumps({"events": events}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    raw = body()
    decoder = msgspec.json.Decoder()
    assert decoder.decode(raw) == json.loads(raw)
    calls = {"json": lambda: json.loads(raw), "msgspec": lambda: decoder.decode(raw)}
    number = args.repeat // 5
    best = {name: min(timeit.repeat(call, number=number, repeat=5)) / number
            for name, call in calls.items()}  # fmt: skip
    print(f"1,000 unlocks, {len(raw):,} bytes: json.loads {best['json'] * 1000:.2f} ms,"
          f" msgspec {best['msgspec'] * 1000:.2f} ms")  # fmt: skip
    if args.json:
        print(json.dumps({"bytes": len(raw), "json_ms": round(best["json"] * 1000, 3),
                          "msgspec_ms": round(best["msgspec"] * 1000, 3)}))  # fmt: skip


if __name__ == "__main__":
    main()
