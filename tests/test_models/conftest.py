# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData


@pytest.fixture(scope='module')
def one_thread():
    """Tiny inputs: one intra-op thread, no spin-waiting on a shared CPU
    (restored afterwards). Use with
    ``pytestmark = pytest.mark.usefixtures('one_thread')``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def red_box_sample():
    """A factory of one concept sample: phrase 'red box', one 70 x 60 box
    instance with its mask, at ``size`` px."""

    def make(size: int = 224) -> DetDataSample:
        m = np.zeros((1, size, size), np.uint8)
        m[0, 40:100, 50:120] = 1
        ds = DetDataSample(
            metainfo=dict(
                text='red box',
                img_shape=(size, size),
                ori_shape=(size, size),
                pad_shape=(size, size),
                scale_factor=(1.0, 1.0),
                img_id=0))
        ds.gt_instances = InstanceData(
            masks=BitmapMasks(m, size, size),
            bboxes=torch.tensor([[50., 40., 120., 100.]]),
            labels=torch.zeros(1, dtype=torch.long))
        return ds

    return make
