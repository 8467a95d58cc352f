"""Many small instances of a class without __slots__, and one with."""


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y
        self.norm = x * x + y * y


class Slotted:
    __slots__ = ("x", "y")

    def __init__(self, x, y):
        self.x = x
        self.y = y


if __name__ == "__main__":
    points = [Point(i, i + 1) for i in range(300_000)]
    slotted = [Slotted(i, i) for i in range(300_000)]
    print(len(points), len(slotted))
