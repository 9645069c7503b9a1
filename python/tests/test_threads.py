"""The GIL is released while the engine computes, and Ctrl-C stops a long call."""

import _thread
import threading
import time

import numpy as np
import pytest

import huber

# Long runs are made by broadcasting two small arrays into a large outer product, on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:broadcast=True pairs inputs")

def test_other_threads_run_meanwhile():
    p = np.random.default_rng(0).normal(size=(2000, 1)).astype(np.float32)
    t = np.random.default_rng(1).normal(size=(1, 4000)).astype(np.float32)
    ticks = []
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    time.sleep(0.02)
    start = time.perf_counter()
    for _ in range(3):
        huber.huber_loss(p, t, broadcast=True)
    end = time.perf_counter()
    stop.set()
    counter.join()
    during = [x for x in ticks if start < x < end]
    # The counter ticks about once a millisecond whenever it holds the GIL.
    assert len(during) >= 0.3 * (end - start) / 0.001, (len(during), end - start)


def test_ctrl_c_raises_keyboard_interrupt_in_the_caller():
    # 10^10 element losses from two small arrays: minutes of work unless interrupted.
    p = np.zeros((100_000, 1), dtype=np.float32)
    t = np.zeros((1, 100_000), dtype=np.float32)
    timer = threading.Timer(0.3, _thread.interrupt_main)
    timer.start()
    start = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        huber.huber_loss(p, t, broadcast=True)
    assert time.perf_counter() - start < 5
    timer.join()
    # The package still works afterwards.
    assert huber.huber_loss(np.ones(2), np.zeros(2)) == 0.5
