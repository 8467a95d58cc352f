"""Safe fixes whose behaviour must not change: the smallest element, key membership."""

import random

rng = random.Random(7)
data = [rng.random() for _ in range(3000)]
table = {i: i * i for i in range(100)}


def smallest_often(xs, rounds):
    total = 0.0
    for _ in range(rounds):
        total += sorted(xs)[0]
    return total


def keys_found(d, probes):
    return sum(1 for p in probes if p in d.keys())


if __name__ == "__main__":
    print(smallest_often(data, 150), keys_found(table, range(200)))
