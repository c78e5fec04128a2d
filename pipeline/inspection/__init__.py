"""Looking at a dataset: the `inspect` stage (overlays, contact sheet, stats sheet) and `validate`
(every problem of a COCO folder).
"""
