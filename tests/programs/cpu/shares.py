"""Three functions doing 20, 30 and 50 % of the same work."""


def work(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def twenty():
    return work(40_000)


def thirty():
    return work(60_000)


def fifty():
    return work(100_000)


for _ in range(400):
    twenty()
    thirty()
    fifty()
print("done")
