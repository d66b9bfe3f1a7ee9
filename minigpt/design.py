"""Design a model for a budget: what a shape costs to train and to serve, as a table and a figure.

Every number comes from minigpt.counting (training_budget); chapter 9 draws the figure for one
design, then minigpt.widgets.design_explorer redraws it from sliders.
"""

from __future__ import annotations

from .config import ModelConfig
from .counting import flops_per_token, training_budget

GIB = 2**30


def design_summary(config: ModelConfig, tokens: int, context: int | None = None, batch_size: int = 1) -> str:
    """A few lines: parameters, tokens per parameter, training FLOPs, memory to train and to serve."""
    b = training_budget(config, tokens, context, batch_size)
    context = config.max_seq_len if context is None else context
    lines = [
        f"parameters {b['parameters'] / 1e6:,.1f}M ({b['non_embedding_parameters'] / 1e6:,.1f}M outside the "
        f"embedding and head); {b['tokens_per_parameter']:,.1f} training tokens per parameter",
        f"training FLOPs {b['training_flops']:.2e} (6ND rule: {b['six_nd']:.2e})",
        f"memory: bf16 weights {b['weights_bytes'] / GIB:,.2f} GiB; AdamW training state "
        f"{b['training_state_bytes'] / GIB:,.2f} GiB (activations excluded); KV cache for "
        f"{batch_size} x {context:,} tokens {b['kv_cache_bytes'] / GIB:,.2f} GiB",
    ]
    return "\n".join(lines)


def plot_design(config: ModelConfig, tokens: int, context: int | None = None, batch_size: int = 1):
    """Left: memory to serve and to train (GiB). Right: training FLOPs split into the matmuls of
    the weights and attention's own products over the context. Returns the figure."""
    from .viz import plt  # matplotlib, or an error that says what to install: the library does not need it

    b = training_budget(config, tokens, context, batch_size)
    context = config.max_seq_len if context is None else context
    weights_part = flops_per_token(config, context=0, training=True) * tokens
    attention_part = b["training_flops"] - weights_part
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.2), dpi=100)
    names = ["bf16 weights", "AdamW state", f"KV cache\n{batch_size} x {context:,}"]
    values = [b["weights_bytes"] / GIB, b["training_state_bytes"] / GIB, b["kv_cache_bytes"] / GIB]
    bars = left.bar(names, values, color=["tab:blue", "tab:orange", "tab:green"])
    for bar, value in zip(bars, values, strict=True):
        left.annotate(
            f"{value:,.2f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=8
        )
    left.set_ylabel("GiB")
    left.set_title(f"{b['parameters'] / 1e6:,.1f}M parameters: memory", fontsize=10)
    right.bar(
        ["weight matmuls", f"attention\n(context {context:,})"],
        [float(weights_part), float(attention_part)],
        color=["tab:purple", "tab:red"],
    )
    right.set_ylabel("training FLOPs")
    right.set_title(
        f"{tokens:.1e} tokens ({b['tokens_per_parameter']:,.1f} per parameter): {b['training_flops']:.1e} FLOPs",
        fontsize=10,
    )
    fig.tight_layout()
    return fig
