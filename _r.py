import time, sys
sys.path.insert(0, "tests")
import lamina.array as la
from lamina.client import LocalCluster, Client
depth = None if sys.argv[1] == "on" else 0
kw = {} if depth is None else {"ahead_depth": 0}
with LocalCluster(2, 1, **kw) as cl, Client(cl) as c:
    for side in (1000, 3160):
        x = la.ones((side, side), chunks=10)
        t = time.perf_counter()
        f = c.compute(((x + 1) * 2).sum())
        print(side, f.result(300), time.perf_counter() - t, f.n_speculative, f.n_tasks, c.scheduler_info()["tasks_stolen"])
