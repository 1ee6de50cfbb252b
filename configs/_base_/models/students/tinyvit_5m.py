# TinyViT-S student encoder: timm `tiny_vit_5m_224`, strides 4/8/16/32.
# TinyViT's attention windows (7/7/14/7) are fixed; timm pads each stage
# map to a multiple of the window, so it runs at 224, 1008 and 1024 px.
# ImageNet init only from a local file (strictly loaded), e.g.
#   --cfg-options \
#     model.student.trunk.backbone.checkpoint_path=/data/tiny_vit_5m_224.pth
student_backbone = dict(
    type='TimmBackbone', model_name='tiny_vit_5m_224', checkpoint_path=None)
