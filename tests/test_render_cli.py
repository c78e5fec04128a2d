"""The render command's scheduler helpers, without rendering: shard count, launcher flags."""

from __future__ import annotations

import json

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


def test_single_output_files_replace_only_what_render_wrote(tmp_path, capsys):
    """--write-spec and --metrics name one file: a file the command did not write (a user's
    notes, a COCO export) is refused before any work, untouched; its own earlier file is replaced."""
    pfile = write_params(tmp_path / "p.yaml", tiny_params())
    spec = tmp_path / "spec.json"
    assert render_main(["--params", str(pfile), "--write-spec", str(spec)]) == 0
    first = json.loads(spec.read_text())
    assert {"rigs", "render"} <= first.keys()
    assert render_main(["--params", str(pfile), "--write-spec", str(spec)]) == 0  # its own: replaced
    assert json.loads(spec.read_text()) == first
    capsys.readouterr()

    coco = tmp_path / "annotations.json"
    coco.write_text('{"images": [], "annotations": [], "categories": []}')
    out = tmp_path / "renders"
    for flags in (["--write-spec", str(coco)], ["--out", str(out), "--metrics", str(coco)]):
        assert render_main(["--params", str(pfile), *flags]) == 2
        err = capsys.readouterr().err
        assert str(coco) in err and "refusing to overwrite it" in err, err
    assert coco.read_text() == '{"images": [], "annotations": [], "categories": []}'
    assert not out.exists(), "refused before any work"
    assert render_main(["--params", str(pfile), "--write-spec", str(tmp_path)]) == 2
    assert "is a folder; expected a file name" in capsys.readouterr().err
