"""Render settings made once per process: engine, samples, denoiser, colour management, the Cycles
device and uncompressed multilayer EXR output (bpy)."""

from __future__ import annotations

import sys

import bpy

from common.render_spec import RenderSettings


def set_multilayer_exr(settings) -> None:
    """Uncompressed 32-bit multilayer EXR output; Blender 5 moved it behind `media_type`."""
    if hasattr(settings, "media_type"):
        settings.media_type = "MULTI_LAYER_IMAGE"
    settings.file_format = "OPEN_EXR_MULTILAYER"
    settings.color_depth = "32"
    settings.exr_codec = "NONE"


def configure_render(scene, render_cfg: RenderSettings, threads: int) -> None:
    r = scene.render
    try:
        r.engine = render_cfg.engine
    except TypeError:  # Blender 4.2-4.4 call EEVEE "BLENDER_EEVEE_NEXT"
        r.engine = "BLENDER_EEVEE_NEXT"
    r.resolution_percentage = 100
    r.pixel_aspect_x = r.pixel_aspect_y = 1.0
    r.use_persistent_data = True
    r.dither_intensity = 0.0
    r.use_stamp = False
    for attr in dir(r):
        if attr.startswith("use_stamp_"):
            try:
                setattr(r, attr, False)
            except (AttributeError, TypeError):
                pass
    if threads > 0:
        r.threads_mode, r.threads = "FIXED", threads
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    scene.view_settings.exposure, scene.view_settings.gamma = 0.0, 1.0
    vl = scene.view_layers[0]
    vl.use_pass_object_index = True
    c = scene.cycles  # Cycles renders the images, or (with EEVEE) a 1-sample object-index pass
    eevee = scene.render.engine != "CYCLES"
    if eevee and hasattr(scene, "eevee"):
        scene.eevee.taa_render_samples = render_cfg.samples
    c.samples = 1 if eevee else render_cfg.samples
    c.use_adaptive_sampling = False
    c.use_denoising = render_cfg.denoise and not eevee and _has_denoiser()
    c.denoising_prefilter = "FAST"  # ACCURATE triples the denoiser's time for little gain here
    if hasattr(c, "denoising_quality"):  # Blender >= 4.1
        c.denoising_quality = "FAST"
    if hasattr(vl, "cycles"):
        vl.cycles.denoising_store_passes = False
    c.max_bounces = 4
    c.caustics_reflective = c.caustics_refractive = False
    c.pixel_filter_type = "BOX"  # the index pass and keypoints then share one pixel footprint
    c.filter_width = 1.0
    _cycles_device(c, render_cfg.device)
    set_multilayer_exr(r.image_settings)


def _has_denoiser() -> bool:
    """Some Blender builds (e.g. Debian's) lack OpenImageDenoise; rendering then must not ask for it."""
    try:
        import _cycles

        available = bool(getattr(_cycles, "with_openimagedenoise", True))
    except ImportError:
        available = True
    if not available:
        print("warning: this Blender has no OpenImageDenoise; rendering without the denoiser", file=sys.stderr)
    return available


def _cycles_device(c, device: str) -> None:
    if device == "CPU":
        c.device = "CPU"
        return
    prefs = bpy.context.preferences.addons["cycles"].preferences
    try:
        prefs.compute_device_type = device
    except TypeError:
        raise RuntimeError(f"render.device: this Blender has no {device} support; use CPU or another backend") from None
    prefs.get_devices()
    found = [d for d in prefs.devices if d.type == device]
    if not found:
        raise RuntimeError(
            f"render.device: {device} requested but Blender finds no {device} device; "
            "check drivers or set render.device: CPU"
        )
    for d in prefs.devices:
        d.use = d.type == device
    c.device = "GPU"
