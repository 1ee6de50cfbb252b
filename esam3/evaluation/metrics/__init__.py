# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .cgf1_metric import CGF1Metric
from .prompt_miou_metric import PromptMIoUMetric
from .score_calibration_metric import ScoreCalibrationMetric
from .teacher_fidelity_metric import TeacherFidelityMetric
from .text_fidelity_metric import TextFidelityMetric
from .video_cgf1_metric import VideoCGF1Metric
from .vos_metric import VOSMetric

__all__ = [
    'CGF1Metric', 'PromptMIoUMetric', 'ScoreCalibrationMetric',
    'TeacherFidelityMetric', 'TextFidelityMetric', 'VOSMetric',
    'VideoCGF1Metric'
]
