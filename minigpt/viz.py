"""Plots and looks inside the model that the chapters share. Each plot draws one message and
returns its matplotlib axes (or figure), so a chapter can add a title or an annotation of its own."""

from __future__ import annotations

import numpy as np
import torch

from .config import ModelConfig
from .counting import count_parameters, kv_cache_bytes_per_token, training_memory, weight_bytes

# What to install for the plots and widgets, in every error that finds them missing.
INSTALL = (
    'pip install "minigpt[course]" (in a clone of the course: pip install -e ".[course]"), '
    "or pip install matplotlib ipywidgets"
)

try:  # the plots are minigpt's `course` extra, not a dependency of the library
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        f"minigpt's plots (minigpt.viz, minigpt.design, minigpt.widgets) draw with matplotlib, which is not "
        f"installed ({exc}). It comes with minigpt's course extra: {INSTALL}",
        name=exc.name,
    ) from exc

# Components grouped as a reader thinks of them; colours fixed so every chart reads the same.
GROUPS = {
    "embedding": (("embedding",), "#4C72B0"),
    "attention": (("attention.q", "attention.k", "attention.v", "attention.o"), "#DD8452"),
    "MLP": (("mlp.gate", "mlp.up", "mlp.down"), "#55A868"),
    "norms": (("norms",), "#8172B3"),
    "LM head": (("lm_head",), "#C44E52"),
}


def grouped_counts(config: ModelConfig) -> dict[str, int]:
    breakdown = count_parameters(config).breakdown
    return {group: sum(breakdown[k] for k in keys) for group, (keys, _) in GROUPS.items()}


def plot_parameter_breakdown(configs: dict[str, ModelConfig], share: bool = True, ax=None):
    """One horizontal bar per model, split by component; `share=True` shows fractions."""
    ax = ax or plt.subplots(figsize=(7, 0.5 + 0.45 * len(configs)), dpi=100)[1]
    names = list(configs)
    left = np.zeros(len(names))
    for group, (_, color) in GROUPS.items():
        counts = np.array([grouped_counts(configs[n])[group] for n in names], dtype=float)
        totals = np.array([count_parameters(configs[n]).total for n in names], dtype=float)
        width = counts / totals if share else counts
        ax.barh(names, width, left=left, color=color, label=group)
        left += width
    ax.invert_yaxis()
    ax.set_xlabel("share of parameters" if share else "parameters")
    if share:
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return ax


def plot_model_size(config: ModelConfig, context: int = 1024, title: str | None = None):
    """Left: parameters by component. Right: memory for weights at four widths, AdamW training
    state and the KV cache for `context` tokens. The static figure and the widget both use it."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2), dpi=100, gridspec_kw={"width_ratios": [1, 1.4]})
    counts = grouped_counts(config)
    bottom = 0.0
    for group, (_, color) in GROUPS.items():
        left.bar(["parameters"], [counts[group] / 1e6], bottom=bottom, color=color, label=group)
        bottom += counts[group] / 1e6
    total = count_parameters(config).total
    left.set_ylabel("millions")
    left.set_title(f"{total / 1e6:,.1f}M parameters", fontsize=10)
    left.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    left.set_xlim(-0.8, 0.8)

    gib = 2**30
    memory = {f"weights {fmt}": weight_bytes(config, fmt) / gib for fmt in ("fp32", "bf16", "int8", "int4")}
    memory["AdamW training (fp32)"] = training_memory(config)["total"] / gib
    memory[f"KV cache, {context} tokens (bf16)"] = kv_cache_bytes_per_token(config) * context / gib
    bars = right.barh(list(memory), list(memory.values()), color="#64748b")
    right.bar_label(bars, labels=[_human(v * gib) for v in memory.values()], fontsize=8, padding=2)
    right.invert_yaxis()
    right.set_xlabel("GiB")
    right.set_xlim(0, max(memory.values()) * 1.35)
    right.set_title("memory", fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def plot_matrix(matrix, ax=None, title: str | None = None, limit: float | None = None):
    """Heatmap with a colour scale symmetric around zero (blue negative, red positive)."""
    m = _numpy(matrix)
    ax = ax or plt.subplots(figsize=(4, 4), dpi=100)[1]
    limit = limit or float(np.abs(m).max()) or 1.0
    image = ax.imshow(m, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if title:
        ax.set_title(title, fontsize=10)
    ax.set_xlabel("input dimension")
    ax.set_ylabel("output dimension")
    return ax


def plot_attention(weights, tokens: list[str], ax=None, title: str | None = None):
    """One head's attention weights: row = the token asking, column = the token looked at."""
    w = _numpy(weights)
    ax = ax or plt.subplots(figsize=(0.35 * len(tokens) + 1.5, 0.35 * len(tokens) + 1), dpi=100)[1]
    ax.imshow(w, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(tokens)), tokens, rotation=90, fontsize=8)
    ax.set_yticks(range(len(tokens)), tokens, fontsize=8)
    ax.set_xlabel("key (looked at)")
    ax.set_ylabel("query (asking)")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def attention_maps(model, ids) -> torch.Tensor:
    """Every layer's and head's attention weights for one sequence of token ids, without
    gradients: a tensor (layers, heads, query, key). Row i of a map sums to 1 over keys j <= i."""
    ids = torch.as_tensor(ids)
    with torch.no_grad():
        out = model(ids[None] if ids.dim() == 1 else ids, output_attentions=True)
    return torch.stack(out.attentions)[:, 0]


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=float)


def _human(n_bytes: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:,.1f} {unit}"
    return f"{n_bytes:.0f} B"
