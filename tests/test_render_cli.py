"""The render command's scheduler helpers, without rendering: shard count, launcher flags."""

from __future__ import annotations

import pytest

from pipeline.rendering.render_dataset import main as render_main
from tests.support.params import tiny_params, write_params


@pytest.mark.parametrize(("num_images", "shard_size", "expected"), [(200, 50, "4"), (201, 50, "5"), (3, 50, "1")])
def test_num_shards_prints_a_scheduler_array_size(tmp_path, capsys, num_images, shard_size, expected):
    pfile = write_params(tmp_path / "p.yaml", tiny_params(num_images=num_images, shard_size=shard_size))
    assert render_main(["--params", str(pfile), "--num-shards"]) == 0
    assert capsys.readouterr().out == expected + "\n"


def test_ray_address_without_the_ray_launcher_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        render_main(["--ray-address", "auto"])
    assert exit_.value.code == 2 and "--ray-address needs --launcher ray" in capsys.readouterr().err
