"""The `export-dataset` stage: hand-off formats (Ultralytics YOLO-pose, FiftyOne, datumaro/MMPose)."""
