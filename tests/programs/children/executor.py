"""concurrent.futures.ProcessPoolExecutor, its workers burning the CPU in work()."""

import concurrent.futures

from burn import work

if __name__ == "__main__":
    with concurrent.futures.ProcessPoolExecutor(4) as pool:
        print(sum(pool.map(work, [300] * 16)))
