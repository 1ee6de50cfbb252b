# The real SAM3 (848M params), input 1008 px, patch 14 -> 72x72 trunk tokens
# of 1024 channels. Weights are gated and cannot be downloaded by esam3:
# point `sam3_cfg.pretrained` at a local folder (save_pretrained layout) or
# a hub id already in your Hugging Face cache, e.g.
#   --cfg-options model.teacher.pretrained=/data/sam3 \
#                 model.student.sam3.pretrained=/data/sam3
trunk_channels = 1024
trunk_grid = 72  # 1008 / 14
fpn_channels = 256  # width of the FPN levels SAM3's heads read
# The student's light neck (default): it makes the levels SAM3's tracker and
# detector heads read (288/144/72 px at 1008 px, 256 channels each).
student_neck = dict(
    type='Sam3LightFPN',
    branches=('tracker', 'detector'),
    out_channels=fpn_channels,
    out_size=(trunk_grid, trunk_grid))
# Trunk mode, for comparison: the student imitates the ViT trunk and SAM3's
# own necks run on it. One line in a stage config switches to it:
#   model.student.trunk.neck = trunk_neck
trunk_neck = dict(
    type='Sam3AlignHead',
    mode='trunk',
    out_channels=trunk_channels,
    out_size=(trunk_grid, trunk_grid))
sam3_cfg = dict(pretrained='facebook/sam3')
teacher_cfg = dict(type='Sam3Teacher', **sam3_cfg)
