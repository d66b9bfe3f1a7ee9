"""minigpt.design and the design widget: the figure's bars are the budget's numbers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from minigpt import ModelConfig  # noqa: E402
from minigpt.counting import count_parameters  # noqa: E402
from minigpt.design import GIB, design_summary, plot_design  # noqa: E402


def test_figure_bars_are_the_budget():
    config = ModelConfig.from_preset("llama-7b")
    fig = plot_design(config, tokens=10**12, context=4096)
    memory, flops = fig.axes
    n = count_parameters(config).total
    heights = [bar.get_height() for bar in memory.patches]
    assert heights == [2 * n / GIB, 16 * n / GIB, 2 * 32 * 4096 * 2 * 4096 / GIB]  # bf16, AdamW, KV cache
    weights, attention = (bar.get_height() for bar in flops.patches)
    # by hand: 3 x 2 x matmul weights (embedding lookup excluded) per token; attention 3 x 4 x L x d x context
    assert weights == float(10**12 * 6 * (n - 32000 * 4096 - 65 * 4096))
    assert attention == float(10**12 * 3 * 4 * 32 * 4096 * 4096)
    plt.close("all")


def test_summary_names_the_numbers():
    text = design_summary(ModelConfig.from_preset("course"), tokens=10**7, context=512)
    assert "parameters 5.2M" in text and "1.9 training tokens per parameter" in text
    assert "KV cache for 1 x 512 tokens" in text


def test_design_widget_builds_and_reports_bad_shapes(capsys):
    from minigpt.widgets import design_explorer

    box = design_explorer("course")
    sliders = box.children[0].children
    capsys.readouterr()
    sliders[2].value = 3  # 3 query heads do not divide a width of 256
    assert "not divisible by num_heads=3" in capsys.readouterr().out
    sliders[2].value = 8
    sliders[0].value = 512  # a wider model: the MLP width follows the SwiGLU rule
    out = capsys.readouterr().out
    assert "parameters" in out and "training FLOPs" in out
    plt.close("all")
