# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
from .sam3_video_tracker_student import Sam3VideoTrackerStudent
from .tracker_prompts import fold_prompt, prompt_num_objects

__all__ = ['Sam3VideoTrackerStudent', 'fold_prompt', 'prompt_num_objects']
