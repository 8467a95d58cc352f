"""A steady baseline, then a short spike that is freed."""

baseline = [bytearray(10000) for _ in range(1000)]


def spike():
    temp = [bytearray(100000) for _ in range(1000)]
    return len(temp)


def steady():
    return sum(len(str(i)) for i in range(200000))


steady()
spike()
steady()
print("ok")
