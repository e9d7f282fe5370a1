"""The worker's block store: memory limits, spill order, bit-exact reload, freeing files."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from lamina.worker.store import BlockStore, UnlimitedStore, open_store, parse_memory_limit, sizeof

KB = 1000


def block(fill: float, n: int = 125) -> np.ndarray:
    """A float64 block of ``n`` values: 1 kB by default."""
    return np.full(n, fill)


def on_disk(store: BlockStore) -> list[int]:
    """The keys whose spill files are on disk now."""
    return sorted(int(name.split("-")[0]) for name in store.spill_files())


# parsing limits -----------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("2GiB", 2 * 2**30), ("500MB", 500 * 10**6), ("1.5 kib", 1536), ("4000000000", 4 * 10**9),
    ("4e9", 4 * 10**9), ("12b", 12), (1024, 1024), (2.5e6, 2_500_000),
])
def test_memory_limits_parse_units_and_plain_bytes(text, expected):
    assert parse_memory_limit(text) == expected


@pytest.mark.parametrize("text", [None, 0, "0", "none", "None", ""])
def test_no_limit_spellings_mean_none(text):
    assert parse_memory_limit(text) is None


def test_a_fraction_is_a_share_of_system_memory():
    import psutil

    assert parse_memory_limit("0.5") == int(0.5 * psutil.virtual_memory().total)
    assert parse_memory_limit(1.0) == psutil.virtual_memory().total


@pytest.mark.parametrize("text", ["two gigs", "3XB", "-5MB", "GiB", "1.2.3", "nan", "-1"])
def test_bad_memory_limits_say_what_to_give(text):
    with pytest.raises(ValueError, match="memory limit"):
        parse_memory_limit(text)


# spilling -------------------------------------------------------------------------------
def test_without_a_limit_nothing_spills():
    store = open_store(None)
    for key in range(100):
        store[key] = block(key)
    assert type(store) is UnlimitedStore and isinstance(store, dict)
    info = store.info()
    assert info["spills"] == 0 and info["memory_bytes"] == 100 * KB and on_disk(store) == []
    assert not store.over_pause() and not store.on_disk(range(100))
    assert store.discard(3) and not store.discard(3) and len(store) == 99
    assert set(info) == set(BlockStore(KB).info())


def test_least_recently_used_blocks_spill_first():
    store = BlockStore(memory_limit=5 * KB, spill_fraction=0.6)    # 3 blocks fit
    for key in range(3):
        store[key] = block(key)
    store[0]                                                       # 0 is now recent
    store[3] = block(3)
    assert on_disk(store) == [1]
    store[4] = block(4)
    assert on_disk(store) == [1, 2]
    assert store.memory_bytes == 3 * KB and store.disk_bytes == 2 * KB


def test_reading_a_spilled_block_brings_it_back_and_spills_the_oldest():
    store = BlockStore(memory_limit=5 * KB, spill_fraction=0.6)
    for key in range(4):
        store[key] = block(key)
    np.testing.assert_array_equal(store[0], block(0))
    assert store.reloads == 1 and on_disk(store) == [1]


def test_a_block_larger_than_the_target_stays_while_in_use():
    store = BlockStore(memory_limit=2 * KB, spill_fraction=0.5)
    store[0] = block(0, 1000)
    assert 0 in store and on_disk(store) == []
    store[1] = block(1)
    assert on_disk(store) == [0]


@pytest.mark.parametrize("value", [
    np.arange(24, dtype=np.int16).reshape(2, 3, 4)[:, ::2, 1:],    # non-contiguous view
    np.asfortranarray(np.arange(12.0).reshape(3, 4)),
    np.array([1 + 2j, np.nan, -0.0], dtype=np.complex64),
    np.array([np.nan, -0.0, np.inf], dtype=">f8"),                  # big-endian, signed zero
    np.zeros((0, 5), dtype=np.uint8),
    np.array(3.5),
    np.array([(1, 2.0)], dtype=[("a", "i4"), ("b", "f2")]),
    np.array(["x", None, 3], dtype=object),                        # pickled
    np.datetime64("2024-01-02") + np.arange(3),
    {"a mapping": [1, 2]},
    7,
])
def test_spilled_blocks_come_back_bit_for_bit(value):
    store = BlockStore(memory_limit=1)
    store[0] = value
    store[1] = 0                                                    # pushes 0 out
    assert on_disk(store) == [0]
    back = store[0]
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape
        if value.dtype.hasobject:
            assert back.tolist() == value.tolist()
        else:
            assert back.tobytes() == value.tobytes()
    else:
        assert back == value


def test_releasing_a_spilled_block_deletes_its_file_without_reading_it():
    store = BlockStore(memory_limit=5 * KB, spill_fraction=0.6)
    for key in range(5):
        store[key] = block(key)
    assert store.discard(0) and store.discard(4) and not store.discard(99)
    assert on_disk(store) == [1] and store.reloads == 0
    assert len(store) == 3 and store.disk_bytes == KB and store.memory_bytes == 2 * KB


def test_replacing_a_spilled_block_deletes_its_old_file():
    store = BlockStore(memory_limit=3 * KB, spill_fraction=0.5)
    store[0], store[1] = block(0), block(1)
    assert on_disk(store) == [0]
    store[0] = block(5)
    assert on_disk(store) == [1]
    np.testing.assert_array_equal(store[0], block(5))


def test_pop_returns_a_spilled_block_and_forgets_it():
    store = BlockStore(memory_limit=KB, spill_fraction=1.0)
    store[0], store[1] = block(0), block(1)
    np.testing.assert_array_equal(store.pop(0), block(0))
    assert 0 not in store and store.pop(0, None) is None and on_disk(store) == []


def test_closing_removes_the_spill_folder():
    store = BlockStore(memory_limit=KB)
    store[0], store[1] = block(0), block(1)
    folder = store.info()["spill_directory"]
    assert os.path.isdir(folder)
    store.close()
    assert not os.path.exists(folder) and len(store) == 0


def test_blocks_over_the_pause_target_pause_until_they_spill(monkeypatch):
    import lamina.worker.store as store_module

    monkeypatch.setattr(store_module, "process_memory", lambda process=None: 0)
    store = BlockStore(memory_limit=10 * KB, spill_fraction=0.1, pause_fraction=0.5)
    store[0] = block(0, 1000)                # 8 kB stays in memory: it was just stored
    assert store.over_pause()
    store[1] = block(1)                      # the next block pushes it out
    assert on_disk(store) == [0] and not store.over_pause()


def test_a_block_that_cannot_be_written_stays_and_others_spill(caplog):
    store = BlockStore(memory_limit=2 * KB, spill_fraction=0.5)
    store[0] = threading.Lock()              # cannot be pickled
    store[1] = block(1)
    store[2] = block(2)
    assert on_disk(store) == [1] and 0 in store
    assert "could not spill block 0" in caplog.text


def test_a_block_released_while_its_file_is_written_leaves_no_file(monkeypatch):
    import lamina.worker.store as store_module

    writing, release_done = threading.Event(), threading.Event()
    real_write = store_module._write

    def slow_write(path, value):
        writing.set()
        release_done.wait(10)
        return real_write(path, value)

    monkeypatch.setattr(store_module, "_write", slow_write)
    store = BlockStore(memory_limit=2 * KB, spill_fraction=0.5)
    store[0] = block(0)
    spiller = threading.Thread(target=store.__setitem__, args=(1, block(1)))
    spiller.start()
    assert writing.wait(10)
    assert 0 in store and store.discard(0)          # not blocked by the write
    release_done.set()
    spiller.join(10)
    assert on_disk(store) == [] and 0 not in store and store.memory_bytes == KB
    store.close()


def test_the_process_memory_counts_towards_the_pause():
    store = BlockStore(memory_limit=1000)    # the interpreter alone is far above 800 bytes
    assert store.over_pause()


def test_sizeof_counts_array_bytes_and_pandas_deep_usage():
    pd = pytest.importorskip("pandas")

    assert sizeof(np.zeros((10, 10))) == 800
    frame = pd.DataFrame({"a": np.arange(100), "b": ["x" * 50] * 100})
    assert sizeof(frame) == int(frame.memory_usage(deep=True).sum())


def test_threads_storing_and_reading_keep_every_block():
    store = BlockStore(memory_limit=20 * KB)

    def work(offset: int) -> None:
        for key in range(offset, offset + 200):
            store[key] = block(key)
            np.testing.assert_array_equal(store[key - 3 if key - 3 >= offset else key],
                                          block(key - 3 if key - 3 >= offset else key))

    threads = [threading.Thread(target=work, args=(i * 1000,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store) == 800 and store.memory_bytes <= 12 * KB
    assert all(store[k][0] == k for k in range(0, 4000, 1000))
    store.close()


# any sequence of operations ---------------------------------------------------------------
class StoreMachine(RuleBasedStateMachine):
    """A store under random stores, reads and releases equals a dict, within its limits."""

    def __init__(self) -> None:
        super().__init__()
        self.store = BlockStore(memory_limit=4 * KB, spill_fraction=0.75)
        self.model: dict[int, np.ndarray] = {}

    @rule(key=st.integers(0, 9), n=st.sampled_from([1, 50, 125, 400]), fill=st.floats())
    def put(self, key, n, fill):
        self.model[key] = block(fill, n)
        self.store[key] = self.model[key]

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def get(self, data):
        key = data.draw(st.sampled_from(sorted(self.model)))
        assert self.store[key].tobytes() == self.model[key].tobytes()

    @rule(key=st.integers(0, 9))
    def release(self, key):
        assert self.store.discard(key) == (self.model.pop(key, None) is not None)

    @invariant()
    def same_keys_and_files(self):
        assert sorted(self.store) == sorted(self.model)
        assert len(self.store.spill_files()) == self.store.info()["spilled_keys"]
        assert self.store.memory_bytes + self.store.disk_bytes == \
            sum(v.nbytes for v in self.model.values())

    @invariant()
    def memory_within_target_but_for_the_latest_block(self):
        assert self.store.memory_bytes <= 3 * KB + 400 * 8

    def teardown(self) -> None:
        self.store.close()
        assert on_disk(self.store) == []


TestStoreOperations = StoreMachine.TestCase
TestStoreOperations.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 5), min_size=1, max_size=30))
def test_spill_order_is_least_recent_access(accesses):
    store = BlockStore(memory_limit=3 * KB, spill_fraction=1.0)     # 3 blocks in memory
    recent: list[int] = []
    for key in accesses:
        if key in store:
            store[key]
        else:
            store[key] = block(key)
        recent = [k for k in recent if k != key] + [key]
    assert set(store._memory) == set(recent[-3:])
    store.close()
