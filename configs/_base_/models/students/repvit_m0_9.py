# RepViT-S student encoder: timm `repvit_m0_9`, strides 4/8/16/32.
# ImageNet init only from a local file (strictly loaded), e.g.
#   --cfg-options \
#     model.student.trunk.backbone.checkpoint_path=/data/repvit_m0_9.pth
student_backbone = dict(
    type='TimmBackbone', model_name='repvit_m0_9', checkpoint_path=None)
