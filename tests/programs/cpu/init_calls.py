"""Objects made in a loop, each `__init__` doing a little work: from 3.12 the interpreter
runs such an `__init__` above a frame of its own (a trampoline), which is no call of the
program's and must not show in its stacks."""


class Point:
    def __init__(self, x):
        self.x = x
        self.norm = sum(k * x for k in range(12))


def main():
    total = 0
    for i in range(1_000_000):
        total += Point(i).norm
    print(total)


main()
