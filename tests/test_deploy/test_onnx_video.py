# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Video tracking on onnxruntime (tiny Stage 3 student): the tracker step
graphs looped with their fixed-size memory state, and OrtVideoPredictor vs
VideoPredictor over the bundled clip (prompt, propagate, add / remove
objects)."""
import glob
import json
import os.path as osp
import shutil
import sys

import numpy as np
import pytest
import torch

# isort: off
# yapf: disable
sys.path.insert(0, osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))),
                            'test_apis'))
from api_fixtures import DAVIS_CLIP, stage3_distiller  # noqa: E402
from esam3.apis import VideoPredictor  # noqa: E402
from esam3.deploy import OrtVideoPredictor, TrackerStepOnnx  # noqa: E402
from esam3.deploy import export_model, load_manifest  # noqa: E402
from esam3.deploy.onnx_parity import check_tracker_parity  # noqa: E402
# yapf: enable
# isort: on

FRAMES = sorted(glob.glob(osp.join(DAVIS_CLIP, '*.jpg')))
NUM_FRAMES = 10


def _iou(a, b):
    union = (a | b).sum()
    return 1.0 if union == 0 else (a & b).sum() / union


@pytest.fixture(scope='module')
def video_export(tmp_path_factory):
    distiller, _ = stage3_distiller()
    out = str(tmp_path_factory.mktemp('onnx_video'))
    with torch.no_grad():
        # a trained Perceiver's gain is not 0: open its attention path so
        # that the parity checks cover it (untrained it is pure pooling)
        gain = distiller.student.video.memory_bank.perceiver.residual_gain
        gain.copy_(torch.linspace(0.5, 1.5, gain.numel()))
        # and let the random tracker see its objects on every frame, so
        # that tracked masks are not all hidden (absent) and really compared
        decoder = distiller.student.video.heads.mask_decoder
        decoder.pred_obj_score_head.proj_out.bias.add_(20.0)
        export_model(distiller.student, out, parts=['encoder', 'tracker_step'])
    return distiller.student, out


def test_state_layout_and_parity(video_export):
    model, out = video_export
    info = load_manifest(out)
    bank = model.video.memory_bank
    state = info['tracker_state']
    # 1 conditioning + 6 recent slots of 16 global + 8x8 window latents
    assert state['num_slots'] == bank.num_maskmem == 7
    assert state['num_latents'] == 80 and state['num_ptrs'] == 16
    assert info['parts']['tracker_step']['inputs']['tracker_step'][
        'mem_tokens'] == ['num_objects', 7, 80, 64]
    assert list(
        info['parts']['encoder']['outputs']) == ['vid_s0', 'vid_s1', 'vid']
    rows = check_tracker_parity(model, out, FRAMES[:NUM_FRAMES])
    assert [r['graph'][:15]
            for r in rows] == ['tracker_prompt', 'tracker_step (f']
    assert all(r['ok'] for r in rows), rows


def test_fixed_state_equals_the_memory_bank(video_export):
    """The padded state + key mask gives the bank's unpadded result, through
    evictions (more frames than memory slots) and both prompted and tracked
    steps, in PyTorch (no exporter involved)."""
    model, _ = video_export
    tracker = model.video
    prompt_step = TrackerStepOnnx(tracker, True).eval()
    track_step = TrackerStepOnnx(tracker, False).eval()
    state = [
        torch.from_numpy(v) for v in prompt_step.spec.empty_state(1).values()
    ]
    track = tracker.new_track()
    gen = torch.Generator().manual_seed(0)
    box = torch.tensor([[[40.0, 40.0, 150.0, 180.0]]])
    with torch.no_grad():
        for i in range(9):  # 1 prompt + 8 tracked > 6 recent slots
            pixels = torch.randn(1, 3, 224, 224, generator=gen)
            trunk = model.encode_trunk(pixels)
            feats, _ = tracker.frame_features(trunk)
            idx = torch.tensor([float(i)])
            if i in (0, 5):  # re-prompting replaces the conditioning slot
                out = prompt_step(*feats, idx, *state, box.reshape(1, 2, 2),
                                  torch.tensor([[2, 3]]), torch.zeros(1))
                ref = tracker.track_step(track, trunk, i, dict(boxes=box))
            else:
                out = track_step(*feats, idx, *state)
                ref = tracker.track_step(track, trunk, i, None)
            state = list(out[2:])
            scale = ref[0].abs().max()
            assert (out[0] - ref[0][0]).abs().max() <= 1e-5 * scale
            assert (out[1] - ref[1][0]).abs().max() <= 1e-6
    valid = state[2][0].tolist()
    assert valid == [1.0] * 7  # every slot filled after 9 frames


def test_video_predictor_matches_torch(video_export):
    model, out = video_export
    preds = [VideoPredictor(model), OrtVideoPredictor(out)]
    results = []
    for pred in preds:
        info = pred.init_state(DAVIS_CLIP)
        assert info['num_frames'] == len(FRAMES)
        answers = [
            pred.add_prompt(0, 1, box=[40, 30, 120, 110]),
            pred.add_prompt(3, 2, points=[[80, 70]], labels=[1]),
            pred.add_prompt(2, 3, box=[10, 10, 60, 60])
        ]
        pred.remove_object(3)
        assert pred.obj_ids == [1, 2]
        results.append(answers + list(pred.propagate(max_frames=NUM_FRAMES)))
    assert len(results[1]) == 3 + NUM_FRAMES
    filled = 0
    for (fa, ida, ma), (fb, idb, mb) in zip(*results):
        assert fa == fb and ida == idb and ma.shape == mb.shape
        for a, b in zip(ma, mb):
            assert _iou(a, b) >= 0.99
            filled += int(a.any())
    assert filled >= NUM_FRAMES  # non-empty masks were compared


def test_bad_video_inputs(video_export, tmp_path):
    _, out = video_export
    pred = OrtVideoPredictor(out)
    pred.init_state(DAVIS_CLIP)
    mask = np.zeros((144, 176), bool)
    mask[10:40, 10:40] = True
    with pytest.raises(NotImplementedError, match='mask prompts'):
        pred.add_prompt(0, 1, mask=mask)
    graph = pred.parts.graph('tracker_step', 'tracker_step')
    state = pred.spec.empty_state(2)
    state['mem_tokens'] = state['mem_tokens'][:, :5]
    with pytest.raises(
            ValueError,
            match=r"tracker_step graph tracker_step .*'mem_tokens'"
            r" must have shape \['num_objects', 7, 80, 64\]"):
        graph(
            **{
                n: np.zeros(graph.input_shape(n), np.float32)
                for n in ('vid_s0', 'vid_s1', 'vid')
            },
            frame_idx=np.zeros(1, np.float32),
            **state)
    # an export without the tracker part
    bad = tmp_path / 'no_tracker'
    shutil.copytree(out, bad)
    with open(bad / 'esam3_onnx.json') as f:
        info = json.load(f)
    for name in ('tracker_step', 'tracker_prompt'):
        info['files'].pop(name)
    with open(bad / 'esam3_onnx.json', 'w') as f:
        json.dump(info, f)
    with pytest.raises(ValueError, match='has no tracker_step part'):
        OrtVideoPredictor(str(bad))
