"""Short-lived blocks of known sizes: each is freed an iteration after it is made."""


def main(width):
    total = 0
    for i in range(200_000):
        blob = b"x" * width
        number = i + 1_000_000
        total += len(blob) + (number & 1)
    return total


print(main(100))
