"""Loop-heavy workload: tight integer and float arithmetic in a few long-running frames.

Prints a checksum so a profiler run can be checked against a bare one.
"""

import sys


def integer_mix(n: int) -> int:
    acc = 0
    x = 12345
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        acc ^= x >> (i & 7)
        acc = (acc + i) & 0xFFFFFFFF
    return acc


def float_series(n: int) -> float:
    total = 0.0
    sign = 1.0
    for k in range(n):
        total += sign / (2 * k + 1)
        sign = -sign
    return total


def sieve(limit: int) -> int:
    marks = bytearray([1]) * (limit + 1)
    marks[0] = marks[1] = 0
    i = 2
    while i * i <= limit:
        if marks[i]:
            j = i * i
            while j <= limit:
                marks[j] = 0
                j += i
        i += 1
    return sum(marks)


def main() -> None:
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    checksum = 0
    for _ in range(scale):
        checksum = checksum * 31 + integer_mix(6_000_000)
        checksum = checksum * 31 + round(float_series(6_000_000) * 1e12)
        checksum = checksum * 31 + sieve(6_000_000)
    print(f"checksum: {checksum % (1 << 61)}")


if __name__ == "__main__":
    main()
