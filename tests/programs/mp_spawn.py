import multiprocessing as mp


class Box:
    def __init__(self, v):
        self.v = v


def unbox(b):
    return b.v * 2


if __name__ == "__main__":
    ctx = mp.get_context("spawn")
    with ctx.Pool(2) as pool:
        print(pool.map(unbox, [Box(i) for i in range(5)]))
    p = ctx.Process(target=print, args=("child says hi",))
    p.start()
    p.join()
    print("exitcode", p.exitcode)
