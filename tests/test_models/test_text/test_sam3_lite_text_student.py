# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import pytest
import torch
from text_fixtures import tiny_lite_text_cfg, tiny_sam3_cfg, tiny_text_student
from transformers import Sam3LiteTextConfig, Sam3LiteTextModel

from esam3.models.teachers import Sam3Tokenizer
from esam3.registry import MODELS
from esam3.utils.checkpoint import CheckpointMismatchError

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def tokens():
    return Sam3Tokenizer()(['a cat', 'red fire hydrant on a street'])


def tiny_lite_text_model(seed=0) -> Sam3LiteTextModel:
    """A tiny Sam3LiteTextModel (SAM3 with the MobileCLIP-style text encoder)
    whose DETR width is the tiny SAM3's (32)."""
    cfg = {
        k: v
        for k, v in tiny_sam3_cfg()['config'].items() if k != 'tracker_config'
    }
    cfg['vision_config'] = dict(cfg['vision_config'])
    cfg['vision_config']['backbone_config'] = dict(
        cfg['vision_config']['backbone_config'], model_type='sam3_vit_model')
    cfg['vision_config']['model_type'] = 'sam3_vision_model'
    cfg['text_config'] = tiny_lite_text_cfg()
    torch.manual_seed(seed)
    return Sam3LiteTextModel(Sam3LiteTextConfig(**cfg)).eval()


def test_projected_features_shape_and_padding(tokens):
    torch.manual_seed(0)
    student = MODELS.build(tiny_text_student()).eval()
    ids, mask = tokens
    out = student(ids, mask)
    assert out.pooler_output.shape == (2, 32, 32)
    assert out.last_hidden_state.shape == (2, 32, 16)
    # gradients reach the encoder and the projection
    student.train()
    student(ids, mask).pooler_output[mask.bool()].pow(2).sum().backward()
    assert student.text_projection.weight.grad.abs().sum() > 0
    assert student.text_encoder.embeddings.token_embedding.weight.grad is \
        not None


def test_loads_sam3_lite_text_model_folder_strictly(tmp_path, tokens):
    ref = tiny_lite_text_model()
    ref.save_pretrained(tmp_path / 'lite')
    student = MODELS.build(
        dict(type='Sam3LiteTextStudent',
             pretrained=str(tmp_path / 'lite'))).eval()
    assert student.out_channels == 32
    ids, mask = tokens
    with torch.no_grad():
        want = ref.get_text_features(
            input_ids=ids, attention_mask=mask).pooler_output
        got = student(ids, mask).pooler_output
    torch.testing.assert_close(got, want)


def test_text_model_folder_needs_and_loads_projection(tmp_path, tokens):
    torch.manual_seed(1)
    student = MODELS.build(tiny_text_student()).eval()
    student.save_pretrained(str(tmp_path / 'text'))
    again = MODELS.build(
        dict(type='Sam3LiteTextStudent',
             pretrained=str(tmp_path / 'text'))).eval()
    ids, mask = tokens
    with torch.no_grad():
        torch.testing.assert_close(
            again(ids, mask).pooler_output,
            student(ids, mask).pooler_output)
    # a text-model folder without the projection: given explicitly, or an
    # error that says so
    (tmp_path / 'text' / 'text_projection.safetensors').rename(
        tmp_path / 'proj.safetensors')
    with pytest.raises(ValueError, match='projection='):
        MODELS.build(
            dict(
                type='Sam3LiteTextStudent', pretrained=str(tmp_path / 'text')))
    third = MODELS.build(
        dict(
            type='Sam3LiteTextStudent',
            pretrained=str(tmp_path / 'text'),
            projection=str(tmp_path / 'proj.safetensors'))).eval()
    torch.testing.assert_close(third.text_projection.weight,
                               student.text_projection.weight)


def test_distiller_checkpoint_loads_and_mismatch_names_keys(tmp_path):
    torch.manual_seed(2)
    student = MODELS.build(tiny_text_student())
    state = {f'student.{k}': v for k, v in student.state_dict().items()}
    torch.save(dict(state_dict=state), tmp_path / 'ok.pth')
    loaded = MODELS.build(
        tiny_text_student(pretrained=str(tmp_path / 'ok.pth')))
    torch.testing.assert_close(loaded.text_projection.weight,
                               student.text_projection.weight)
    del state['student.text_projection.weight']
    torch.save(dict(state_dict=state), tmp_path / 'bad.pth')
    with pytest.raises(
            CheckpointMismatchError, match='text_projection.weight'):
        MODELS.build(tiny_text_student(pretrained=str(tmp_path / 'bad.pth')))
    # a student of another size does not load silently
    with pytest.raises(CheckpointMismatchError):
        MODELS.build(
            tiny_text_student(
                config=tiny_lite_text_cfg(layers=4),
                pretrained=str(tmp_path / 'ok.pth')))


def test_wrong_folder_kind_is_named(tmp_path):
    (tmp_path / 'x').mkdir()
    (tmp_path / 'x' / 'config.json').write_text('{"model_type": "sam3"}')
    with pytest.raises(ValueError, match="model_type 'sam3'"):
        MODELS.build(
            dict(type='Sam3LiteTextStudent', pretrained=str(tmp_path / 'x')))
