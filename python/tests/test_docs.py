"""The ```python blocks of docs/PYTHON.md and of the README's "Python" section run as they stand:
in order, in one namespace per document, in a scratch directory. A block whose first line is
`# needs: a, b` uses other libraries (QuantEcon, nashpy, pygambit); it runs on its own when they
are installed and is skipped otherwise."""

import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NEEDS = re.compile(r"#\s*needs:\s*(.+)")


def python_blocks(path, section=None):
    """[(line, code, [needed modules])] of the ```python blocks of a Markdown file, or of one of
    its "## " sections."""
    text = path.read_text(encoding="utf-8")
    start, end = 0, len(text)
    if section is not None:
        start = text.index(f"\n## {section}\n")
        end = text.find("\n## ", start + 1)
        end = len(text) if end < 0 else end
    blocks = []
    for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M):
        if start <= m.start() < end:
            code = m.group(1)
            needs = NEEDS.fullmatch(code.split("\n", 1)[0].strip())
            line = text.count("\n", 0, m.start()) + 2  # the block's first line of code
            blocks.append((line, code, [n.strip() for n in needs.group(1).split(",")] if needs else []))
    return blocks


DOCS = {
    "docs/PYTHON.md": python_blocks(ROOT / "docs" / "PYTHON.md"),
    "README.md#python": python_blocks(ROOT / "README.md", "Python"),
}
OPTIONAL = [(doc, line, code, needs) for doc, blocks in DOCS.items() for line, code, needs in blocks if needs]


def run(doc, line, code, namespace):
    exec(compile(code, f"{doc}:{line}", "exec"), namespace)


@pytest.mark.parametrize("doc", list(DOCS))
def test_blocks_run_in_order(doc, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__doc_example__"}
    ran = 0
    for line, code, needs in DOCS[doc]:
        if not needs:
            run(doc, line, code, namespace)
            ran += 1
    assert ran > 0, f"{doc}: no ```python block found"


@pytest.mark.parametrize("doc, line, code, needs", OPTIONAL, ids=[f"{d}:{l}" for d, l, _, _ in OPTIONAL])
def test_blocks_with_other_libraries(doc, line, code, needs, tmp_path, monkeypatch):
    for module in needs:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed")
    monkeypatch.chdir(tmp_path)
    run(doc, line, code, {"__name__": "__doc_example__"})


def test_the_interop_section_covers_each_library():
    assert sorted(n for _, _, _, needs in OPTIONAL for n in needs) == ["nashpy", "pygambit", "quantecon"]
