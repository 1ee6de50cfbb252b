# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from torch import nn

from esam3.models.utils.param_prefix import params_under


def test_prefix_matches_whole_name_parts_only():
    m = nn.ModuleDict(
        dict(det=nn.Linear(2, 2), detector=nn.Linear(2, 3), x=nn.Linear(1, 1)))
    assert params_under(m, 'det') == [m['det'].weight, m['det'].bias]
    assert params_under(m, 'detector.bias') == [m['detector'].bias]
    assert params_under(m, 'dete') == []
    assert len(params_under(m, '')) == 0  # no empty-prefix wildcard
