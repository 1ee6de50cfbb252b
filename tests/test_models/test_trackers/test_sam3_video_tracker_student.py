# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import pytest
import torch
from tracker_fixtures import student_cfg, teacher_cfg, toy_frames, toy_masks

from esam3.models.trackers.tracker_decode import mask_as_output, sam_decode
from esam3.registry import MODELS

K = 8 + 4 * 4  # Perceiver latents per memory frame in student_cfg()
PTR_TOKENS = 128 // 64  # each pointer is split into width / 64 tokens


@pytest.fixture(scope='module', autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope='module')
def teacher():
    torch.manual_seed(0)
    return MODELS.build(teacher_cfg())


@pytest.fixture(scope='module')
def student(teacher):
    torch.manual_seed(0)
    model = MODELS.build(student_cfg())
    model.load_heads(teacher.heads_state_dict())
    return model


def _clip(b=2, t=3, n=3):
    masks = toy_masks(t, n)
    frames = torch.stack([toy_frames(masks, seed=i) for i in range(b)])
    return frames, masks[0][None].repeat(b, 1, 1, 1)


def _memory_sizes(model):
    sizes = []
    hook = model.heads.memory_attention.register_forward_hook(
        lambda m, a, kw, o: sizes.append(tuple(kw['memory'].shape)),
        with_kwargs=True)
    return sizes, hook


def test_step_and_forward_clip_shapes(student):
    frames, first = _clip(b=2, t=3, n=3)
    student.eval()
    with torch.no_grad():
        state = student.init_state()
        m, s, state = student.step(frames[:, 0], state, dict(masks=first))
        assert m.shape == (2, 3, 64, 64) and s.shape == (2, 3)
        assert state['readout'] is None
        trunk = student.encode_trunk(frames[:, 1])
        m, s, state = student.step(trunk, state)  # a trunk map works too
        assert m.shape == (2, 3, 64, 64) and s.shape == (2, 3)
        assert state['readout'].shape == (6, 128, 16, 16)
        assert state['frame_idx'] == 2
        out = student.forward_clip(frames, first, return_readout=True)
    assert out['mask_logits'].shape == (2, 3, 3, 64, 64)
    assert out['object_score_logits'].shape == (2, 3, 3)
    assert out['memory_readout'].shape == (2, 2, 3, 128, 16, 16)
    with pytest.raises(ValueError):
        student.step(frames[:, 0], student.init_state())  # no prompt


def test_point_and_box_prompts(student):
    frames, _ = _clip(b=1, t=2, n=2)
    student.eval()
    with torch.no_grad():
        state = student.init_state()
        m, s, state = student.step(
            frames[:, 0], state,
            dict(
                points=torch.tensor([[[[40., 40.]], [[50., 100.]]]]),
                labels=torch.ones(1, 2, 1, dtype=torch.long),
                boxes=torch.tensor([[[20., 20., 70., 60.],
                                     [30., 80., 80., 120.]]])))
        m, s, state = student.step(frames[:, 1], state)
    assert m.shape == (1, 2, 64, 64) and s.shape == (1, 2)


def test_memory_bank_is_compressed(student):
    """Memory-attention keys = frames * K + pointer tokens, not frames * h * w
    (+ pointers) as in the dense bank."""
    frames, first = _clip(b=2, t=4, n=3)
    sizes, hook = _memory_sizes(student)
    student.eval()
    with torch.no_grad():
        student.forward_clip(frames, first)
    hook.remove()
    # memory passed seq-first: [N_keys, B * N, 64]
    assert sizes == [(f * K + f * PTR_TOKENS, 6, 64) for f in (1, 2, 3)]

    dense = MODELS.build(student_cfg(bank='DenseMemoryBank'))
    sizes, hook = _memory_sizes(dense)
    dense.eval()
    with torch.no_grad():
        dense.forward_clip(frames[:1, :3], first[:1, :1])
    hook.remove()
    assert sizes == [(f * 16 * 16 + f * PTR_TOKENS, 1, 64) for f in (1, 2)]


def test_gradients_reach_memory_not_encoder(student):
    frames, first = _clip(b=2, t=3, n=2)
    student.train()
    student.zero_grad()
    out = student.forward_clip(frames, first, return_readout=True)
    loss = out['mask_logits'][:, 1:].float().sigmoid().mean() + \
        out['object_score_logits'].sigmoid().mean() + \
        out['memory_readout'].pow(2).mean()
    loss.backward()
    assert not student.trunk.training
    assert all(p.grad is None and not p.requires_grad
               for p in student.trunk.parameters())
    perceiver = student.memory_bank.perceiver
    for module in (perceiver, student.heads.memory_attention,
                   student.heads.memory_encoder):
        grads = [p.grad for p in module.parameters() if p.requires_grad]
        assert grads and all(g is not None for g in grads)
        assert sum(g.abs().sum() for g in grads) > 0
    assert student.memory_bank.maskmem_tpos_enc.grad is not None
    frozen = student.heads.vision_encoder.neck
    assert all(p.grad is None for p in frozen.parameters())
    student.zero_grad()


def test_gradient_checkpointing_matches(student, teacher):
    torch.manual_seed(0)
    cp = MODELS.build(student_cfg(with_cp=True))
    cp.load_state_dict(student.state_dict())
    assert cp.memory_bank.perceiver.with_cp
    frames, first = _clip(b=1, t=3, n=1)
    grads = []
    for model in (student, cp):
        model.eval()  # no dropout: identical computations
        model.zero_grad()
        out = model.forward_clip(frames, first)
        out['object_score_logits'].sum().backward()
        grads.append(model.heads.memory_attention.layers[0].mlp.up_proj.weight.
                     grad.clone())
        model.zero_grad()
    torch.testing.assert_close(grads[0], grads[1])


def test_heads_follow_teacher(student, teacher):
    """Copied heads: same frame-0 answer as the teacher, bank temporal
    encodings initialised from the tracker's, and the batched decoding glue
    equals transformers' single-object path."""
    masks = toy_masks(2, 2)
    frames = toy_frames(masks)
    t_out = teacher.track_clip(frames, masks[0])
    student.eval()
    with torch.no_grad():
        s_out = student.forward_clip(frames[None], masks[0][None].float())
    torch.testing.assert_close(s_out['mask_logits'][0, 0],
                               t_out['mask_logits'][0])
    torch.testing.assert_close(s_out['object_score_logits'][0, 0],
                               t_out['object_score_logits'][0])
    enc = student.heads.memory_temporal_positional_encoding.reshape(7, 64)
    torch.testing.assert_close(student.memory_bank.maskmem_tpos_enc.data,
                               enc.data)

    heads = student.heads
    with torch.no_grad():
        fpn, _ = student.frame_features(teacher.encode_trunk(frames[:1]))
        emb = fpn[:2] + [fpn[2] + heads.no_memory_embedding.view(1, -1, 1, 1)]
        pts = torch.tensor([[[[40., 40.]]]])
        lbl = torch.ones(1, 1, 1, dtype=torch.int32)
        ref = heads._single_frame_forward(
            input_points=pts,
            input_labels=lbl,
            image_embeddings=emb,
            multimask_output=True)
        ours = sam_decode(heads, emb, pts, lbl, multimask_output=True)
        torch.testing.assert_close(ours.pred_masks, ref.pred_masks[:, 0])
        torch.testing.assert_close(ours.object_pointer,
                                   ref.object_pointer.reshape(1, -1))
        m = masks[0, :1, None].float()
        ref = heads._use_mask_as_output(fpn[2], fpn[:2], m)
        ours = mask_as_output(heads, fpn, m)
        torch.testing.assert_close(ours.object_pointer,
                                   ref.object_pointer.reshape(1, -1))
        torch.testing.assert_close(ours.high_res_masks, ref.high_res_masks)


def test_trunk_checkpoint_is_strict(student, tmp_path):
    state = {
        f'student.trunk.{k}': v
        for k, v in student.trunk.state_dict().items()
    }
    state['student.heads.other'] = torch.zeros(1)
    # the Stage 1 tracker mask decoder travels with the encoder
    decoder = {
        k: v + 1
        for k, v in student.heads.mask_decoder.state_dict().items()
    }
    state.update({
        f'student.heads.tracker.mask_decoder.{k}': v
        for k, v in decoder.items()
    })
    good = tmp_path / 'stage1.pth'
    torch.save(dict(state_dict=state, meta=dict(iter=1)), good)
    torch.manual_seed(1)
    model = MODELS.build(student_cfg(trunk_checkpoint=str(good)))
    for a, b in zip(model.trunk.state_dict().values(),
                    student.trunk.state_dict().values()):
        torch.testing.assert_close(a, b)
    model.init_weights()  # mmengine's init must not undo the load
    for a, b in zip(model.trunk.state_dict().values(),
                    student.trunk.state_dict().values()):
        torch.testing.assert_close(a, b)
    for k, v in model.heads.mask_decoder.state_dict().items():
        torch.testing.assert_close(v, decoder[k])
    # the teacher's heads (copied by the distiller) do not replace it
    model.load_heads(student.heads.state_dict())
    for k, v in model.heads.mask_decoder.state_dict().items():
        torch.testing.assert_close(v, decoder[k])
    assert not any('carried' in k for k in model.state_dict())
    # a Stage 1 checkpoint without the decoder: strict error, or opt out
    no_dec = tmp_path / 'no_decoder.pth'
    torch.save(
        dict(state_dict={
            k: v
            for k, v in state.items() if 'mask_decoder' not in k
        }), no_dec)
    with pytest.raises(RuntimeError, match='(?s)mask_decoder.*missing'):
        MODELS.build(student_cfg(trunk_checkpoint=str(no_dec)))
    model = MODELS.build(
        student_cfg(
            trunk_checkpoint=str(no_dec), decoder_from_trunk_checkpoint=False))
    assert model._carried_decoder is None
    state.pop(next(iter(state)))
    bad = tmp_path / 'bad.pth'
    torch.save(dict(state_dict=state), bad)
    with pytest.raises(RuntimeError, match='missing'):
        MODELS.build(student_cfg(trunk_checkpoint=str(bad)))
