"""Allocates about 1.5 GB in small blocks at one line and 0.3 GB at another."""


def main():
    n = 0
    for i in range(300000):
        a = [i] * 600
        b = bytes(1000)
        n += len(a) + len(b)
    return n


print(main())
