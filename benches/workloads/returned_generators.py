"""Generator expressions made by one function and run by its caller, through a lazy wrapper
that C code drives (`sum(map(...))`, `list(zip(...))`): the function that made each generator
has returned before it runs, and the next call of it takes the same place on the data stack.
A sampled stack must never show the generator under the function that made it."""


def make(n):
    return map(abs, (i - n for i in range(n)))


def make_zip(n):
    return zip(range(n), (i * 2 for i in range(n)), strict=True)


def main():
    total = 0
    for _ in range(6000):
        total += sum(make(100))
        total += len(list(make_zip(50)))
    print(total)


main()
