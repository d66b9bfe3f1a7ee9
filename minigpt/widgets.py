"""Interactive widgets for the chapters, using only API common to ipywidgets 7 and 8
(Colab has shipped 7.x). Each widget redraws a figure from minigpt.viz, the same function a
chapter calls first with default values so the online book (no kernel) still shows it."""

from __future__ import annotations

from .config import ModelConfig, swiglu_intermediate_size
from .design import design_summary, plot_design
from .viz import INSTALL, plot_model_size, plt  # viz says what to install when matplotlib is missing

try:  # the widgets are minigpt's `course` extra, not a dependency of the library
    import ipywidgets as widgets
    from IPython.display import display
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        f"minigpt.widgets needs ipywidgets, and {exc.name} is not installed. It comes with minigpt's "
        f"course extra: {INSTALL}",
        name=exc.name,
    ) from exc

STYLE = {"description_width": "130px"}


def _shape_sliders(base: ModelConfig, layout) -> dict:
    """Sliders for the five shape numbers both explorers share, starting at `base`'s values."""
    return {
        "hidden_size": widgets.IntSlider(
            value=base.hidden_size, min=64, max=8192, step=64, description="hidden size", style=STYLE, layout=layout
        ),
        "num_layers": widgets.IntSlider(
            value=base.num_layers, min=1, max=96, description="layers", style=STYLE, layout=layout
        ),
        "num_heads": widgets.IntSlider(
            value=base.num_heads, min=1, max=128, description="query heads", style=STYLE, layout=layout
        ),
        "num_kv_heads": widgets.IntSlider(
            value=base.num_kv_heads, min=1, max=128, description="KV heads", style=STYLE, layout=layout
        ),
        "vocab_size": widgets.IntSlider(
            value=base.vocab_size, min=256, max=262144, step=256, description="vocabulary", style=STYLE, layout=layout
        ),
    }


def model_size_explorer(preset: str = "minimind2-small"):
    """Sliders for the shapes of a model; redraws parameters by component and memory."""
    base = ModelConfig.from_preset(preset)
    style, layout = STYLE, widgets.Layout(width="420px")
    controls = {
        **_shape_sliders(base, layout),
        "intermediate_size": widgets.IntSlider(
            value=base.intermediate_size,
            min=64,
            max=32768,
            step=64,
            description="MLP width",
            style=style,
            layout=layout,
        ),
        "tie_word_embeddings": widgets.Checkbox(value=base.tie_word_embeddings, description="tied LM head"),
    }

    def redraw(**values):
        try:
            config = ModelConfig(**values, max_seq_len=base.max_seq_len)
        except ValueError as err:  # e.g. heads that do not divide the width: say why instead
            print(err)
            return
        plot_model_size(config)
        plt.show()

    output = widgets.interactive_output(redraw, controls)
    box = widgets.VBox([widgets.VBox(list(controls.values())), output])
    display(box)
    return box


TOKEN_BUDGETS = [10**6, 10**7, 10**8, 10**9, 10**10, 10**11, 10**12, 10**13]
CONTEXTS = [256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 131072]


def design_explorer(preset: str = "course", tokens: int = 10**7):
    """Chapter 9's "design your own": sliders for a shape, a token budget and a serving context;
    prints design_summary and redraws plot_design (MLP width by the SwiGLU rule, or the preset's)."""
    base = ModelConfig.from_preset(preset)
    style, layout = STYLE, widgets.Layout(width="420px")
    controls = {
        **_shape_sliders(base, layout),
        "context": widgets.Dropdown(
            options=CONTEXTS,
            value=min(CONTEXTS, key=lambda c: abs(c - base.max_seq_len)),
            description="context",
            style=style,
            layout=layout,
        ),
        "tokens": widgets.Dropdown(
            options=[(f"{t:.0e}", t) for t in TOKEN_BUDGETS],
            value=tokens,
            description="training tokens",
            style=style,
            layout=layout,
        ),
    }

    def redraw(hidden_size, num_layers, num_heads, num_kv_heads, vocab_size, context, tokens):
        keep_width = hidden_size == base.hidden_size
        try:
            config = ModelConfig(
                hidden_size=hidden_size,
                num_layers=num_layers,
                num_heads=num_heads,
                num_kv_heads=num_kv_heads,
                vocab_size=vocab_size,
                max_seq_len=context,
                intermediate_size=base.intermediate_size if keep_width else swiglu_intermediate_size(hidden_size),
                tie_word_embeddings=base.tie_word_embeddings,
            )
        except ValueError as err:  # e.g. heads that do not divide the width: say why instead
            print(err)
            return
        print(design_summary(config, tokens))
        plot_design(config, tokens)
        plt.show()

    output = widgets.interactive_output(redraw, controls)
    box = widgets.VBox([widgets.VBox(list(controls.values())), output])
    display(box)
    return box
