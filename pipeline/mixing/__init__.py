"""The `mix` stage: renders and real COCO exports (read, repaired, mapped onto the rigs) into seeded
train/val/test splits.
"""
