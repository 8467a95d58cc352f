"""Call-heavy workload: recursive calls, method calls and closures, little work per call.

Prints a checksum so a profiler run can be checked against a bare one.
"""

import sys


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


class Counter:
    def __init__(self) -> None:
        self.total = 0

    def add(self, value: int) -> None:
        self.total += self.scale(value)

    def scale(self, value: int) -> int:
        return value * 3 % 1009


class EvenCounter(Counter):
    def scale(self, value: int) -> int:
        return super().scale(value) + 1


def make_step(k: int):
    def step(x: int) -> int:
        return (x * k + 1) % 65521

    return step


def drive_methods(rounds: int) -> int:
    counters = [Counter(), EvenCounter()]
    for i in range(rounds):
        counters[i & 1].add(i)
    return counters[0].total ^ counters[1].total


def drive_closures(rounds: int) -> int:
    steps = [make_step(k) for k in range(1, 8)]
    x = 1
    for i in range(rounds):
        x = steps[i % 7](x)
    return x


def main() -> None:
    scale = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    checksum = 0
    for _ in range(scale):
        checksum = checksum * 31 + fib(33)
        checksum = checksum * 31 + drive_methods(4_000_000)
        checksum = checksum * 31 + drive_closures(5_000_000)
    print(f"checksum: {checksum % (1 << 61)}")


if __name__ == "__main__":
    main()
