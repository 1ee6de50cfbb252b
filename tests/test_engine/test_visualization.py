# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Sam3Visualizer and Sam3VisualizationHook."""
import os.path as osp
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.structures import BaseDataElement, InstanceData

from esam3.engine.hooks import Sam3VisualizationHook
from esam3.registry import VISUALIZERS


def _sample(h=32, w=48):
    mask = torch.zeros(1, h, w, dtype=torch.bool)
    mask[0, 8:20, 10:30] = True
    sample = BaseDataElement(
        metainfo=dict(
            prompt_points=np.array([[15., 12.]]),
            prompt_point_labels=np.array([1])))
    sample.gt_instances = InstanceData(
        masks=mask, bboxes=torch.tensor([[10., 8., 30., 20.]]))
    sample.pred_instances = InstanceData(
        masks=mask.clone(),
        bboxes=torch.tensor([[10., 8., 30., 20.]]),
        scores=torch.tensor([0.9]))
    return sample


def test_visualizer_overlays_masks_boxes_points(tmp_path):
    vis = VISUALIZERS.build(dict(type='Sam3Visualizer', name='vis_test_1'))
    image = np.full((32, 48, 3), 40, np.uint8)
    out_file = str(tmp_path / 'drawn.jpg')
    drawn = vis.add_datasample('img', image, _sample(), out_file=out_file)
    assert drawn.shape == (32, 96, 3)  # GT panel | prediction panel
    left, right = drawn[:, :48], drawn[:, 48:]
    for panel in (left, right):
        inside = panel[12:18, 14:26].astype(int)
        assert np.abs(inside - 40).sum() > 0  # mask overlay changed pixels
        assert np.array_equal(panel[28:, 40:], image[28:, 40:])  # outside
    assert osp.isfile(out_file)


def test_visualizer_prompt_masks_and_low_scores():
    vis = VISUALIZERS.build(dict(type='Sam3Visualizer', name='vis_test_2'))
    image = np.zeros((16, 16, 3), np.uint8)
    sample = BaseDataElement()
    sample.prompt_masks = {'box': torch.ones(1, 8, 8, dtype=torch.bool)}
    drawn = vis.add_datasample('p', image, sample)  # masks get resized
    assert drawn.shape == (16, 16, 3) and drawn.any()
    low = BaseDataElement()
    low.pred_instances = InstanceData(
        masks=torch.ones(1, 16, 16, dtype=torch.bool),
        scores=torch.tensor([0.1]))
    drawn = vis.add_datasample('q', image, low, pred_score_thr=0.5)
    assert not drawn.any()  # filtered by score


def test_hook_draws_test_outputs_from_inputs(tmp_path):
    VISUALIZERS.build(dict(type='Sam3Visualizer', name='vis_test_3'))
    hook = Sam3VisualizationHook(draw=True, test_out_dir='vis')
    runner = SimpleNamespace(work_dir=str(tmp_path), timestamp='ts', iter=0)
    # packed inputs are BGR uint8 [3, H, W] (esam3 contract)
    inputs = [torch.full((3, 32, 48), 90, dtype=torch.uint8)]
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, dict(inputs=inputs), [_sample()])
    assert len(list((tmp_path / 'ts' / 'vis').glob('*.jpg'))) == 1
    off = Sam3VisualizationHook(draw=False, test_out_dir='off')
    off.after_test_iter(runner, 0, dict(inputs=inputs), [_sample()])
    assert not (tmp_path / 'ts' / 'off').exists()


def test_gt_is_mapped_from_the_packed_input_to_the_original_image():
    """GT in the packed (2x resized, padded) frame lands on the right pixels of
    the original image; predictions are already original."""
    vis = VISUALIZERS.build(dict(type='Sam3Visualizer', name='vis_test_4'))
    ori = np.zeros((20, 30, 3), np.uint8)
    gt_mask = torch.zeros(1, 64, 64, dtype=torch.bool)
    gt_mask[0, 20:40, 40:60] = True  # original rows 10:20, cols 20:30
    sample = BaseDataElement(
        metainfo=dict(
            ori_shape=(20, 30),
            img_shape=(40, 60),
            pad_shape=(64, 64),
            scale_factor=(2.0, 2.0)))
    sample.gt_instances = InstanceData(masks=gt_mask)
    drawn = vis.add_datasample('f', ori, sample, draw_pred=False)
    assert drawn.shape == (20, 30, 3)
    assert drawn[12:19, 22:29].any() and not drawn[:9, :19].any()
