# The real SAM3 (848M params), input 1008 px, patch 14 -> 72x72 trunk tokens
# of 1024 channels. Weights are gated and cannot be downloaded by esam3:
# point `sam3_cfg.pretrained` at a local folder (save_pretrained layout) or
# a hub id already in your Hugging Face cache, e.g.
#   --cfg-options model.teacher.pretrained=/data/sam3 \
#                 model.student.sam3.pretrained=/data/sam3
trunk_channels = 1024
trunk_grid = 72  # 1008 / 14
sam3_cfg = dict(pretrained='facebook/sam3')
teacher_cfg = dict(type='Sam3Teacher', **sam3_cfg)
