"""The import rules of docs/ARCHITECTURE.md, read off the code (every import, at any depth of a module).

- blender/ imports only bpy, mathutils, bmesh, numpy, the standard library and blender/; its pure
  modules import no Blender module, not even through another blender/ module.
- A stage module (a command) is imported by no project module: pipeline/cli.py runs it by name.
- train/ imports from pipeline/ only its library modules; pipeline/ imports nothing of train/.
- No import cycle among the project's modules; no two modules share a file name; none shadows
  the standard library.
- Identifiers spell `color` as bpy, PIL and matplotlib do; prose, params keys and file contents
  keep their own spelling.
- No module is over MAX_LINES lines: one responsibility each (STYLE.md), split by concern; no folder
  holds more than MAX_MODULES modules, and the map of docs/ARCHITECTURE.md names every folder.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize

import pytest

from tests.support import ROOT
from tests.support.imports import imports as read_imports
from tests.support.imports import module_name

PACKAGES = ("blender", "common", "pipeline", "train")
MAX_LINES = 400  # a module longer than this holds more than one concern: split it
MAX_MODULES = 20  # a folder with more is a flat list: split it into sub-packages by concern
BLENDER_ONLY = {"bpy", "mathutils", "bmesh", "_cycles"}
BLENDER_ALLOWED = BLENDER_ONLY | {"numpy"} | set(sys.stdlib_module_names)
# blender/ modules that touch Blender; every other one is pure (tested without Blender)
BPY_MODULES = set(
    """
    blender.layout blender.optics.rays blender.placement.physics blender.render blender.render_settings
    blender.rigging.articulation blender.rigging.articulation_checks blender.rigging.mesh_dump
    blender.optics.scene_camera blender.rigging.instances blender.rigging.posed blender.rigging.rigs blender.scene
    blender.surfaces.decals blender.surfaces.looks
    blender.surfaces.materials
    blender.surfaces.wear blender.world.distractors blender.world.lighting blender.world.mesh_distractors
    blender.world.scene_parts
    """.split()
)
# commands: run by `rig2kp <command>` / `python -m`, imported by no other module
STAGES = set(
    """
    pipeline.augmenting.augment pipeline.authoring.mesh_info pipeline.authoring.preview pipeline.cli
    pipeline.inspection.validate pipeline.dataset_export.export_dataset pipeline.inspection.inspect_dataset
    pipeline.mixing.mix pipeline.project.params_reference pipeline.project.write_dvc_deps
    pipeline.rendering.render_dataset train.evaluate train.export train.predict train.reporting.error_report
    train.reporting.report train.train
    """.split()
)

MODULES = {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imports(name: str) -> set[str]:
    """Every module `name` imports, at any depth; `from pkg import name` counts `pkg.name` when it is a module."""
    found = read_imports(MODULES[name], name)
    return {m for m in found if m in MODULES or m.rpartition(".")[0] not in MODULES}


def project_imports(name: str) -> set[str]:
    return {m for m in imports(name) if m in MODULES and m != name}


def test_blender_imports_only_blender_common_numpy_and_the_standard_library():
    bad = {
        name: sorted(m for m in imports(name) if m.split(".")[0] not in BLENDER_ALLOWED | {"blender", "common"})
        for name in MODULES
        if name.startswith("blender")
    }
    assert {k: v for k, v in bad.items() if v} == {}


def test_common_is_pure_and_imports_no_other_layer():
    """common/ is what Blender, the stages and training share: numpy and the standard library only."""
    allowed = {"numpy", "common"} | set(sys.stdlib_module_names)
    bad = {
        name: sorted(m for m in imports(name) if m.split(".")[0] not in allowed)
        for name in MODULES
        if name.split(".")[0] == "common"
    }
    assert {k: v for k, v in bad.items() if v} == {}


def _closure(name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        for m in project_imports(todo.pop()) - seen:
            seen.add(m)
            todo.append(m)
    return seen


def test_pure_blender_modules_never_reach_bpy():
    assert BPY_MODULES <= set(MODULES), sorted(BPY_MODULES - set(MODULES))
    for name in (m for m in MODULES if m.startswith("blender.") and m not in BPY_MODULES):
        touched = {m for mod in {name, *_closure(name)} for m in imports(mod) if m.split(".")[0] in BLENDER_ONLY}
        assert not touched, f"{name} is listed as pure but imports {sorted(touched)} (directly or through blender/)"
        assert not (_closure(name) & BPY_MODULES), f"{name} imports a Blender module: {_closure(name) & BPY_MODULES}"


def test_no_module_imports_a_stage():
    bad = {name: sorted(project_imports(name) & STAGES) for name in MODULES}
    assert {k: v for k, v in bad.items() if v} == {}


def test_train_uses_pipeline_libraries_only_and_no_blender_and_pipeline_never_imports_train():
    for name in MODULES:
        deps = project_imports(name)
        if name.startswith("pipeline"):
            assert not {m for m in deps if m.startswith("train")}, name
        if name.startswith("train"):
            assert not (deps & STAGES), name
            # train/ learns from COCO folders: what it shares with the renderer lives in common/
            assert not {m for m in deps if m.startswith("blender")}, name


def test_no_import_cycles():
    graph = {name: project_imports(name) - {n for n in MODULES if name.startswith(n + ".")} for name in MODULES}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_file_names_are_unique_and_shadow_nothing():
    names = [p.name for p in MODULES.values() if p.name != "__init__.py"]
    assert sorted({n for n in names if names.count(n) > 1}) == []
    assert sorted(n[:-3] for n in names if n[:-3] in sys.stdlib_module_names) == []


def test_architecture_page_lists_every_module():
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    missing = [
        str(p.relative_to(ROOT))
        for p in MODULES.values()
        if p.name != "__init__.py" and f"`{p.relative_to(ROOT)}`" not in page
    ]
    assert missing == [], "docs/ARCHITECTURE.md: add one line for each module"


def test_blender_package_doc_lists_its_pure_modules():
    """blender/__init__.py's list of pure modules is the one users read; it went stale once."""
    doc = (ROOT / "blender" / "__init__.py").read_text()
    listed = set(re.search(r"\(([^)]*)\) are pure", doc)[1].replace("\n", " ").split(", "))
    pure = {
        m.removeprefix("blender.")
        for m, path in MODULES.items()
        if m.startswith("blender.") and m not in BPY_MODULES and path.name != "__init__.py"
    }
    assert listed == pure


def british_names(source: str) -> list[tuple[int, str]]:
    """(line, name) of each identifier spelled `colour`; comments and strings are not names (nor,
    before Python 3.12, a name inside an f-string's braces; where it is defined it is one)."""
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return [(t.start[0], t.string) for t in tokens if t.type == tokenize.NAME and "colour" in t.string.lower()]


def test_identifiers_spell_color_one_way():
    found = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path in MODULES.values()
        for line, name in british_names(path.read_text())
    ]
    assert found == [], "rename to `color` (bpy, PIL and matplotlib spell it so):\n" + "\n".join(found)


def test_color_spelling_check_reads_names_only():
    source = '# the colour of a label\nmix_colour = "colour"\ncolor = colour_at(0.5)\n"""base colour"""\n'
    assert [name for _, name in british_names(source)] == ["mix_colour", "colour_at"]


WRITERS = {"write_text", "write_bytes", "save", "savefig", "imwrite", "dump"}  # calls that write a file
# direct writes that are not outputs under a final name, each with why
DIRECT_WRITES_ALLOWED = {
    ("pipeline/authoring/preview.py", "write_text"): 2,  # spec.json and scenes.json in its own TemporaryDirectory
    ("blender/rigging/mesh_dump.py", "save"): 1,  # np.save into an io.BytesIO
    ("train/reporting/report_page.py", "savefig"): 1,  # into an io.BytesIO, then written through atomic
    ("train/export.py", "save"): 1,  # torch.jit onto the path that atomic.replacing hands its caller
    ("pipeline/augmenting/augment.py", "open"): 1,  # its append-only part log: a line a crash cuts is not read back
}


def direct_writes(source: str) -> list[tuple[int, str]]:
    """(line, method) of calls that write a file by name, except atomic's own functions and a
    writer handed the temporary path of a `with replacing(...) as tmp` block."""
    import ast

    tree = ast.parse(source)
    temporaries = {
        item.optional_vars.id
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        for item in node.items
        if isinstance(item.context_expr, ast.Call)
        and getattr(item.context_expr.func, "id", getattr(item.context_expr.func, "attr", None)) == "replacing"
        and isinstance(item.optional_vars, ast.Name)
    }
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITERS):
            continue
        if isinstance(node.func.value, ast.Name) and node.func.value.id in ("atomic", "checkpoint", "json", "yaml"):
            continue  # atomic's and checkpoint.save (through atomic); json/yaml.dump into a stream: see open()
        if any(isinstance(a, ast.Name) and a.id in temporaries for a in node.args):
            continue
        found.append((node.lineno, node.func.attr))
    for node in ast.walk(tree):  # open(..., "w"/"a"/"x") on a path
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open" and len(node.args) > 1:
            mode = node.args[1]
            if isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax"):
                found.append((node.lineno, "open"))
    return found


def test_every_output_file_is_written_through_atomic():
    """ARCHITECTURE.md's rule 5: a crash or a full disk never leaves a partial file under its name."""
    counts: dict[tuple[str, str], list[int]] = {}
    for name, path in MODULES.items():
        if name == "common.atomic":
            continue
        for line, method in direct_writes(path.read_text()):
            counts.setdefault((path.relative_to(ROOT).as_posix(), method), []).append(line)
    wrong = {k: v for k, v in counts.items() if len(v) > DIRECT_WRITES_ALLOWED.get(k, 0)}
    assert not wrong, f"write these through common/atomic.py (write_*, replacing): {wrong}"


def test_direct_write_check_sees_writes_and_passes_atomic_temporaries():
    source = (
        "from common.atomic import replacing\n"
        "def f(img, out, fig):\n"
        "    img.save(out / 'a.png')\n"
        "    with replacing(out / 'b.png') as tmp:\n"
        "        img.save(tmp, format='PNG')\n"
        "    fig.savefig(out / 'c.png')\n"
        "    atomic.write_text(out / 'd.txt', 'x')\n"
        "    (out / 'e.txt').write_text('x')\n"
        "    with open(out / 'f.txt', 'w') as fh:\n"
        "        fh.write('x')\n"
    )
    assert direct_writes(source) == [(3, "save"), (6, "savefig"), (8, "write_text"), (9, "open")]


def test_no_module_is_over_max_lines():
    """blender/, pipeline/ (schema/ too) and train/: every module a few hundred lines at most."""
    long = {str(p.relative_to(ROOT)): n for p in MODULES.values() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}, f"modules over {MAX_LINES} lines, split each by concern: {long}"


def test_no_folder_holds_more_than_max_modules():
    """Folders by concern (docs/ARCHITECTURE.md's map): a folder past MAX_MODULES is a flat list again."""
    counts: dict[str, int] = {}
    for p in MODULES.values():
        if p.name != "__init__.py":
            folder = str(p.parent.relative_to(ROOT))
            counts[folder] = counts.get(folder, 0) + 1
    big = {k: v for k, v in counts.items() if v > MAX_MODULES}
    assert big == {}, f"folders over {MAX_MODULES} modules, split each into sub-packages by concern: {big}"


def test_the_map_names_every_sub_package():
    """The one-screen map of docs/ARCHITECTURE.md names each folder of code, so a newcomer finds it."""
    page = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    the_map = page[page.index("## The map") : page.index("## Where a new render feature goes")]
    folders = {p.parent.name for p in MODULES.values() if p.name == "__init__.py"}
    assert sorted(f for f in folders if f"{f}/" not in the_map) == []
