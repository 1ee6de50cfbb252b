# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import pytest
import torch


@pytest.fixture(scope='module')
def one_thread():
    """Tiny inputs: one intra-op thread, no spin-waiting on a shared CPU
    (restored afterwards). Use with
    ``pytestmark = pytest.mark.usefixtures('one_thread')``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
