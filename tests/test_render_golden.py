"""Every shipped params file renders the same bytes as when tests/golden/render_digests.json was made
(tests/support/golden.py): restructuring the renderer changes no image, meta file or annotation."""

from __future__ import annotations

import json

import pytest

from tests.support import needs_bpy
from tests.support.golden import DIGESTS, cases, machine, render

pytestmark = [pytest.mark.slow, needs_bpy]
GOLDEN = json.loads(DIGESTS.read_text())


def test_every_shipped_params_file_has_a_golden_case():
    """A new example gets its digests (python -m tests.support.golden --update), or says why not."""
    missing = sorted(set(cases()) - set(GOLDEN["cases"]))
    assert missing in ([], ["glue_tubes_real/params_label_decal"]), missing  # its decal is cut from outside photos


@pytest.mark.parametrize("name", sorted(GOLDEN["cases"]))
def test_renders_are_byte_identical_to_the_golden_digests(name, tmp_path):
    got = render(name, cases()[name], tmp_path)
    assert got is not None, f"{name}: its example's make_*.py failed, so it could not be rendered"
    want = GOLDEN["cases"][name]
    assert sorted(got) == sorted(want), f"{name}: other files than the golden render"
    images = {f for f in want if f.endswith(".png")}
    differ = sorted(f for f in want if got[f] != want[f])
    made_on = GOLDEN.get("machines", {}).get(name, GOLDEN["machine"])
    if machine() != made_on:
        # Cycles picks its CPU kernels by CPU: pixels are compared where the digests were made only
        assert [f for f in differ if f not in images and not f.startswith("meta/")] == [], differ
        pytest.skip(f"images made on {made_on!r}, this is {machine()!r}: annotations checked only")
    assert differ == [], f"{name}: these files changed: {differ}"
