"""One small render per Blender (the `bpy` package, a stock `blender`) of a known scene, saved as
PNG and EXR in several codecs: the reference files of the EXR reader and PNG writer tests."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Renders the default cube (object index 3) in front of an emission ramp (linear 0 to 1.3, so
# the sRGB toe, mid tones and clipping all occur), then saves the one Render Result as a Standard
# view PNG, as multilayer EXRs (NONE, ZIP, ZIPS) and as a single-layer RGBA EXR that OpenCV reads.
# Runs in Blender 3.4 to 5.x, in the `bpy` package (`python script -- out w h`) or a stock
# Blender (`blender -b --factory-startup --python script -- out w h`).
BLENDER_SCRIPT = """
import sys
import bpy

out, width, height = sys.argv[sys.argv.index("--") + 1 :]
sc = bpy.context.scene
sc.render.engine = "CYCLES"
sc.cycles.samples = 4
sc.cycles.use_denoising = False  # Debian's Blender is built without OpenImageDenoise
sc.cycles.seed = 1
sc.render.resolution_x, sc.render.resolution_y = int(width), int(height)
sc.render.resolution_percentage = 100
sc.render.dither_intensity = 0
sc.view_layers[0].use_pass_object_index = True
bpy.data.objects["Cube"].pass_index = 3
bpy.ops.mesh.primitive_plane_add(size=30, location=(-6, 6, -2), rotation=(1.2, 0, -0.8))
plane = bpy.context.object
mat = bpy.data.materials.new("ramp")
mat.use_nodes = True
nodes, links = mat.node_tree.nodes, mat.node_tree.links
nodes.clear()
coords = nodes.new("ShaderNodeTexCoord")
split = nodes.new("ShaderNodeSeparateXYZ")
power = nodes.new("ShaderNodeMath")
power.operation = "POWER"
power.inputs[1].default_value = 3.0
scale = nodes.new("ShaderNodeMath")
scale.operation = "MULTIPLY"
scale.inputs[1].default_value = 1.3
emit = nodes.new("ShaderNodeEmission")
output = nodes.new("ShaderNodeOutputMaterial")
links.new(coords.outputs["Generated"], split.inputs[0])
links.new(split.outputs["X"], power.inputs[0])
links.new(power.outputs[0], scale.inputs[0])
links.new(scale.outputs[0], emit.inputs["Color"])
links.new(emit.outputs[0], output.inputs["Surface"])
plane.data.materials.append(mat)
view = sc.view_settings
view.view_transform, view.look, view.exposure, view.gamma = "Standard", "None", 0.0, 1.0
bpy.ops.render.render()

settings = sc.render.image_settings
def save(name, media, file_format, **values):
    if hasattr(settings, "media_type"):  # Blender 5
        settings.media_type = media
    settings.file_format = file_format
    for key, value in values.items():
        setattr(settings, key, value)
    bpy.data.images["Render Result"].save_render(out + "/" + name, scene=sc)

save("standard.png", "IMAGE", "PNG", color_mode="RGB", color_depth="8")
for codec in ("NONE", "ZIP", "ZIPS"):
    save(f"multilayer_{codec}.exr", "MULTI_LAYER_IMAGE", "OPEN_EXR_MULTILAYER",
         exr_codec=codec, color_depth="32")
save("combined.exr", "IMAGE", "OPEN_EXR", color_mode="RGBA", exr_codec="NONE", color_depth="32")
"""
RENDER_SIZE = (160, 120)
CUBE_INDEX = 3


def render_with_blender(command: list[str], tmp_path_factory) -> Path:
    """Run BLENDER_SCRIPT under `command` (a Python or a Blender invocation); its output folder."""
    out = tmp_path_factory.mktemp("blender_render")
    script = out / "render.py"
    script.write_text(BLENDER_SCRIPT)
    args = [*command, str(script), "--", str(out), *map(str, RENDER_SIZE)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def bpy_render_dir(tmp_path_factory) -> Path:
    """Files from the `bpy` package (Blender 5.x: multi-part multilayer EXRs)."""
    if importlib.util.find_spec("bpy") is None:
        pytest.skip("the bpy package is not installed")
    return render_with_blender([sys.executable], tmp_path_factory)


def blender_render_dir(tmp_path_factory) -> Path:
    """Files from a stock `blender` executable (3.x/4.x: single-part multilayer EXRs)."""
    exe = shutil.which("blender")
    if exe is None:
        pytest.skip("no `blender` executable on PATH")
    return render_with_blender([exe, "-b", "--factory-startup", "--python"], tmp_path_factory)
