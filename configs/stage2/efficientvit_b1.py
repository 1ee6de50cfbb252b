_base_ = ['./stage2_base.py', '../_base_/models/students/efficientvit_b1.py']
model = dict(student=dict(trunk=dict(backbone={{_base_.student_backbone}})))
