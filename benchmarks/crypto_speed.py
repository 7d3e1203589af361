"""Time field encryption, decryption and blind indexes of 1,000,000 short emails.

    python benchmarks/crypto_speed.py --values 1000000 --batch 25000

Import writes personal data in chunks (25,000 rows by default), so the values go through
`Cipher.encrypt_many`, `decrypt_many` and `blind_index_many` one chunk at a time, on one core.
Prints values per second for each step and checks that decryption gives the emails back.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence

from rolodex.secure.crypto import Cipher, Keyring

CONTEXT = "contact.email"


def emails(count: int, *, seed: int) -> list[str]:
    """Make `count` short, plausible email addresses."""
    rng = random.Random(seed)
    names = ["ada", "grace", "alan", "edsger", "barbara", "ken", "zoë", "linus", "margaret"]
    domains = ["example.org", "mail.example.com", "example.de", "corp.example.net"]
    return [
        f"{rng.choice(names)}.{rng.randrange(100_000)}@{rng.choice(domains)}" for _ in range(count)
    ]


def timed(
    step: Callable[[Sequence[str]], Sequence[str]], values: list[str], *, batch: int
) -> tuple[float, list[str]]:
    """Run `step` over `values` chunk by chunk; return the seconds and the joined results."""
    out: list[str] = []
    start = time.perf_counter()
    for offset in range(0, len(values), batch):
        out += step(values[offset : offset + batch])
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    plain = emails(args.values, seed=args.seed)
    cipher = Cipher(Keyring.generate())

    encrypt_s, tokens = timed(
        lambda chunk: cipher.encrypt_many(chunk, context=CONTEXT), plain, batch=args.batch
    )
    decrypt_s, back = timed(
        lambda chunk: cipher.decrypt_many(chunk, context=CONTEXT), tokens, batch=args.batch
    )
    index_s, _ = timed(
        lambda chunk: cipher.blind_index_many(chunk, field=CONTEXT), plain, batch=args.batch
    )
    if back != plain:
        raise SystemExit("decryption did not give the emails back")

    mean_token = sum(map(len, tokens)) / len(tokens)
    mean_plain = sum(len(value.encode()) for value in plain) / len(plain)
    print(f"{args.values:,} emails ({mean_plain:.1f} bytes), tokens {mean_token:.1f} chars")
    for step, seconds in [
        ("encrypt_many", encrypt_s),
        ("decrypt_many", decrypt_s),
        ("blind_index_many", index_s),
    ]:
        print(f"{step:<17} {seconds:7.2f} s  {args.values / seconds:12,.0f} values/s")


if __name__ == "__main__":
    main()
