# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
import os.path as osp
import sys

import pytest
import torch

from esam3.apis import ImagePredictor, TextEmbeddings

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
import cache_vocabulary  # noqa: E402

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_cache_matches_live_encoder(tmp_path):
    cfg = osp.join(REPO, 'configs/stage1/tiny.py')
    (tmp_path / 'p.txt').write_text('# vocabulary\ncup\n\ncoffee cup\ncup\n')
    out = str(tmp_path / 'vocab.pt')
    assert cache_vocabulary.main([
        cfg, '--phrases',
        str(tmp_path / 'p.txt'), '--out', out, '--use-teacher', '--add-visual'
    ]) == 0
    cache = TextEmbeddings.load(out)
    assert cache.phrases == ['cup', 'coffee cup', 'visual']
    pred = ImagePredictor.from_config(cfg, use_teacher=True)
    cache.check_encoder(pred.text_encoder_identity())
    live = pred.encode_text(cache.phrases)
    torch.testing.assert_close(cache.features, live.features)
    assert torch.equal(cache.mask, live.mask)
