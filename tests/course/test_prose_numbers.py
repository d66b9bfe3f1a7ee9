"""coursebook prose-numbers: a number in the prose must be printed, chosen in code, cited or reviewed."""

import nbformat
import pytest

from coursebook import prose_numbers as cpn


def chapter(tmp_path, prose: str, printed: str, code: str = "print(result)", name: str = "09_demo"):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(code)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    nb.cells = [nbformat.v4.new_markdown_cell(prose), cell]
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def missing(path, allow=None):
    return [f.quantity for f in cpn.check_notebook(path, allow or {}) if f.where == "MISSING"]


def test_a_printed_number_passes_and_a_changed_one_fails(tmp_path):
    printed = "held-out loss 0.663, name probes 98%, 5205248 parameters\n"
    ok = chapter(tmp_path, "The loss is 0.663, names are right 98% of the time, 5,205,248 parameters.", printed)
    assert missing(ok) == []
    stale = chapter(tmp_path, "The loss is 0.664, names are right 97% of the time, 5,205,249 parameters.", printed)
    assert missing(stale) == ["0.664", "97%", "5,205,249"]


def test_the_nora_paula_slip_is_caught(tmp_path):
    printed = "answer: ' Paula' | the head's top three keys: [(' Paula', 0.82), (' Bella', 0.13)]\n"
    assert missing(chapter(tmp_path, 'The next layers turn it into the prediction " Paula".', printed)) == []
    assert missing(chapter(tmp_path, 'The next layers turn it into the prediction " Nora".', printed)) == ['" Nora"']
    assert missing(chapter(tmp_path, "它们把它变成预测“ Nora”。", printed)) == ['" Nora"']


def test_named_heads_must_be_printed(tmp_path):
    printed = "best name head: layer 0, head 7 (74% of its attention on the speaker)\n"
    assert missing(chapter(tmp_path, "The head is layer 0, head 7, with 74% on the speaker.", printed)) == []
    assert missing(chapter(tmp_path, "The head is layer 3, head 0.", printed)) == ["layer 3, head 0"]
    assert missing(chapter(tmp_path, "这个头是第 3 层第 0 个头。", printed)) == ["第 3 层第 0 个头"]


def test_settings_in_code_citations_claims_quotes_and_years_are_exempt(tmp_path):
    prose = (
        "We train for 3000 steps at lr 0.003. LLaMA-7B has 6,738,415,616 parameters (Touvron et al. 2023).\n\n"
        "> **Claim** (seed 001): a 7B model needs 14.5 GB.\n>\n> **Check:** above.\n\n"
        'The notes say it "gains 12.5% quality". Published in 2017.'
    )
    assert missing(chapter(tmp_path, prose, "nothing\n", code="steps, lr = 3000, 0.003")) == []


def test_check_and_correction_lines_of_a_box_are_checked(tmp_path):
    prose = "> **Claim** (seed 001): 14.5 GB.\n>\n> **Correction:** it needs 13.48 GB."
    assert missing(chapter(tmp_path, prose, "13.47 GB\n")) == ["13.48"]


@pytest.mark.parametrize(
    "written, ok", [("1680 万", True), ("1670 万", False), ("16.8 million", True), ("5 亿", False)]
)
def test_rounded_large_numbers_with_a_unit_word(tmp_path, written, ok):
    path = chapter(
        tmp_path, f"A square matrix of width 4096 has about {written} numbers.", "width 4096: 16777216 numbers\n"
    )
    assert (missing(path) == []) == ok


def test_the_allow_list_names_chapter_and_quantity(tmp_path):
    path = chapter(tmp_path, "fp16 overflows above 65504.", "6.55e+04\n")
    assert missing(path) == ["65504"]
    assert missing(path, {"09_demo": {"65504"}}) == []
    assert missing(path, {"08_other": {"65504"}}) == ["65504"]


def test_every_allow_list_line_has_a_reason():
    allow = cpn.load_allow()  # exits with the line number on a malformed line
    assert all(allow.values())
