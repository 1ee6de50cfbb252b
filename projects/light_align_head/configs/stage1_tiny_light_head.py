# Stage 1 tiny with the plug-in alignment head: only this file and the
# module it imports are new; esam3 itself is untouched.
_base_ = ['../../../configs/stage1/tiny.py']
custom_imports = dict(
    imports=['projects.light_align_head.light_align_head'],
    allow_failed_imports=False)
model = dict(
    student=dict(
        trunk=dict(
            neck=dict(
                _delete_=True,
                type='LightAlignHead',
                out_channels=32,
                embed_dims=64))))
