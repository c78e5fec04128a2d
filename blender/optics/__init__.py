"""The camera: pinhole maths and pixel conventions, calibrated lenses and distortion, what a view
shows and whether it meets `camera.require`, and the ray casts that answer it inside Blender.
"""
