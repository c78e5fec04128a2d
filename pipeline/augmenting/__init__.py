"""The `augment` stage: albumentations copies of a render folder, labels exact, resumable."""
