# EffViT-L student encoder: timm `efficientvit_b2`, strides 4/8/16/32.
# ImageNet init only from a local file (strictly loaded), e.g.
#   --cfg-options \
#     model.student.trunk.backbone.checkpoint_path=/data/efficientvit_b2.pth
student_backbone = dict(
    type='TimmBackbone', model_name='efficientvit_b2', checkpoint_path=None)
