"""A pool of four workers that burn nearly all the CPU in work(); the start method is the
first argument (spawn, fork or forkserver)."""

import multiprocessing as mp
import sys

from burn import work

if __name__ == "__main__":
    with mp.get_context(sys.argv[1]).Pool(4) as pool:
        print(sum(pool.map(work, [300] * 16, chunksize=1)))
