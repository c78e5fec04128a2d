"""The camera in Blender (bpy): one camera object, set per image from
blender/optics/camera_draw.py's draw: today's focal length on a centred sensor, or a calibrated or
distorted lens rendered as the square-pixel pinhole frame `lens.Lens.render_frame` gives."""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix

from blender.optics.lens import blender_camera
from blender.optics.lens import from_sample as lens_from_sample


class SceneCamera:
    def __init__(self, scene):
        self.scene = scene
        data = bpy.data.cameras.new("camera")
        data.sensor_fit = "HORIZONTAL"
        data.clip_start, data.clip_end = 0.005, 100.0
        self.obj = bpy.data.objects.new("camera", data)
        scene.collection.objects.link(self.obj)
        scene.camera = self.obj

    def apply(self, sample: dict) -> None:
        """The image size, lens and pose of one image's camera draw."""
        r, cam, data = self.scene.render, sample["camera"], self.obj.data
        model = lens_from_sample(sample)
        if model is None:
            r.resolution_x, r.resolution_y = sample["width"], sample["height"]
            data.lens, data.sensor_width = cam["focal_mm"], cam["sensor_mm"]
            data.shift_x = data.shift_y = 0.0
        else:
            K, width, height = model.render_frame()
            values = blender_camera(K, width, height, cam["sensor_mm"])
            r.resolution_x, r.resolution_y = width, height
            data.lens, data.sensor_width = values["lens_mm"], values["sensor_mm"]
            data.shift_x, data.shift_y = values["shift_x"], values["shift_y"]
        self.obj.matrix_world = Matrix(cam["camera_to_world"])

    def to_world(self) -> np.ndarray:
        return np.array(self.obj.matrix_world)
