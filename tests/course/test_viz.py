import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from minigpt import ModelConfig, count_parameters  # noqa: E402
from minigpt.viz import grouped_counts, plot_attention, plot_matrix, plot_model_size, plot_parameter_breakdown  # noqa: E402


def test_groups_cover_every_parameter():
    for name in ModelConfig.presets():
        config = ModelConfig.from_preset(name)
        assert sum(grouped_counts(config).values()) == count_parameters(config).total


def test_breakdown_bars_sum_to_one():
    ax = plot_parameter_breakdown({n: ModelConfig.from_preset(n) for n in ("tiny", "llama-7b")})
    ends = {}
    for bar in ax.patches:
        y = round(bar.get_y(), 6)
        ends[y] = max(ends.get(y, 0), bar.get_x() + bar.get_width())
    assert len(ends) == 2 and all(abs(e - 1) < 1e-9 for e in ends.values())
    plt.close("all")


def test_plots_draw():
    plot_model_size(ModelConfig.from_preset("qwen2.5-0.5b"))
    plot_matrix(torch.randn(8, 8))
    plot_attention(torch.softmax(torch.randn(4, 4), -1), list("abcd"))
    plt.close("all")


def test_widget_builds_and_reports_bad_shapes(capsys):
    from minigpt.widgets import model_size_explorer

    box = model_size_explorer("tiny")
    sliders = box.children[0].children
    capsys.readouterr()
    sliders[2].value = 3  # 3 query heads do not divide a width of 64
    assert "not divisible by num_heads=3" in capsys.readouterr().out
    plt.close("all")


def test_attention_maps_are_causal_distributions_for_every_layer_and_head():
    from minigpt import MiniGPT
    from minigpt.viz import attention_maps

    torch.manual_seed(0)
    config = ModelConfig(
        vocab_size=64, hidden_size=32, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=64, max_seq_len=16
    )
    model = MiniGPT(config).eval()
    ids = torch.randint(0, 64, (9,))
    maps = attention_maps(model, ids)
    assert maps.shape == (2, 4, 9, 9)
    assert torch.allclose(maps.sum(-1), torch.ones(2, 4, 9), atol=1e-5)
    assert (maps.triu(1) == 0).all()
    assert torch.equal(maps, attention_maps(model, ids[None]))  # a batch of one reads the same
