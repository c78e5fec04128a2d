"""Drawing: annotations and detections over an image, the look drawings share, contact sheets and the
stats sheet (inspect, evaluate and predict use it).
"""
