"""Batch samplers and data loaders for training (shuffled, aspect-grouped, sharded by rank) and
prediction (in order, sharded without repeats).

The training sampler yields (epoch, index) pairs so each item's augmentation seed follows the
epoch even inside persistent loader workers, and every rank gets the same number of batches
(DDP needs that, or the ranks wait on each other forever).

Every loader draws its worker seeds from a generator of its own, never from torch's global one:
a DataLoader takes a seed from its generator each time it starts an iterator (every epoch
without workers, once per process with persistent workers), and a draw from the global
generator would shift the model's own random draws, so a resumed run or another worker count
would train differently.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

from train.dataset import KeypointDataset, collate
from train.ddp import World
from train.devices import DeviceSetup


def aspect_groups(ratios: list[float], k: int = 3) -> np.ndarray:
    """Group id per image from width / height, in 2k log-spaced bins (torchvision's scheme)."""
    bins = 2 ** np.linspace(-1, 1, 2 * k + 1)
    return np.digitize(np.asarray(ratios, np.float64), bins)


class GroupedEpochBatchSampler(Sampler[list[tuple[int, int]]]):
    """Shuffled batches of one aspect group each; this rank's share; same for a given seed+epoch."""

    def __init__(self, groups: np.ndarray, batch_size: int, world: World, seed: int):
        self.groups, self.batch_size, self.world, self.seed = (
            np.asarray(groups),
            batch_size,
            world,
            seed,
        )
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self) -> list[list[int]]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(len(self.groups), generator=g).tolist()
        batches = []
        for gid in np.unique(self.groups):
            members = [i for i in order if self.groups[i] == gid]
            batches += [members[j : j + self.batch_size] for j in range(0, len(members), self.batch_size)]
        shuffle = torch.randperm(len(batches), generator=g).tolist()
        batches = [batches[i] for i in shuffle]
        per_rank = math.ceil(len(batches) / self.world.world_size)
        return (batches * self.world.world_size)[: per_rank * self.world.world_size]

    def __iter__(self):
        for batch in self._all_batches()[self.world.rank :: self.world.world_size]:
            yield [(self.epoch, i) for i in batch]

    def __len__(self) -> int:
        n = sum(math.ceil(np.sum(self.groups == g) / self.batch_size) for g in np.unique(self.groups))
        return math.ceil(n / self.world.world_size)


class ShardSampler(Sampler[int]):
    """Indices rank, rank + world, ...: every image once over all ranks, none repeated."""

    def __init__(self, n: int, world: World):
        self.indices = list(range(world.rank, n, world.world_size))

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def _loader_kwargs(workers: int, setup: DeviceSetup, seed: int) -> dict:
    generator = torch.Generator().manual_seed(seed)  # worker seeds only: the data's randomness is its own
    kw = {"num_workers": workers, "collate_fn": collate, "pin_memory": setup.pin_memory, "generator": generator}
    if workers > 0:
        kw.update(persistent_workers=True, prefetch_factor=4)
    return kw


def train_loader(
    ds: KeypointDataset, batch_size: int, workers: int, setup: DeviceSetup, world: World, seed: int
) -> DataLoader:
    sampler = GroupedEpochBatchSampler(aspect_groups(ds.aspect_ratios()), batch_size, world, seed)
    return DataLoader(ds, batch_sampler=sampler, **_loader_kwargs(workers, setup, seed))


def eval_loader(ds: KeypointDataset, batch_size: int, workers: int, setup: DeviceSetup, world: World) -> DataLoader:
    sampler = ShardSampler(len(ds), world)
    kw = _loader_kwargs(workers, setup, 0)
    kw["persistent_workers"] = False
    return DataLoader(ds, batch_size=batch_size, sampler=sampler, **kw)
