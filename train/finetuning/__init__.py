"""A question of the user's own: tasks, the labelled galaxies, the new head, the finetune itself, its calibration,
and which galaxies to label next (suggest)."""
