"""The worker process: runs (layer, block) tasks and holds their results.

    lamina worker tcp://127.0.0.1:8786 --nthreads 4

See ``lamina.worker.worker.Worker``.
"""
