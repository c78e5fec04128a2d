"""Everything around the rig: backgrounds composited behind the render, the world's HDRI, the
shadow floor, primitive and mesh-file distractors.
"""
