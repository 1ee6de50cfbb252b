# The real SAM3 (848M params), input 1008 px, patch 14 -> 72x72 trunk tokens
# of 1024 channels. Weights are gated and cannot be downloaded by esam3:
# point `sam3_cfg.pretrained` at a local folder (save_pretrained layout) or
# a hub id already in your Hugging Face cache, e.g.
#   --cfg-options sam3_cfg.pretrained=/data/weights/sam3
img_size = 1008
trunk_channels = 1024
sam3_cfg = dict(pretrained='facebook/sam3')
