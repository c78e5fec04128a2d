"""File formats the renderer reads and writes: multilayer EXR passes, deterministic PNG, COCO RLE (pure)."""
