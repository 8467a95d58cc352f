"""Calls of every kind: recursion, methods, generators, builtins, a class."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def norm2(self):
        return self.x * self.x + self.y * self.y


def squares(n):
    for i in range(n):
        yield i * i


def main():
    total = fib(18)
    points = [Point(i, i + 1) for i in range(500)]
    total += sum(p.norm2() for p in points)
    total += sum(squares(300))
    total += len(sorted(points, key=Point.norm2))
    print(total)


main()
