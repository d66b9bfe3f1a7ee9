"""Hugging Face folders: config.json + model.safetensors (+ the tokenizer), read and written whole.

    MiniGPT.from_pretrained(folder)            -> load_pretrained(MiniGPT, folder)   (the one way to load)
    model.save_pretrained(folder, dtype=...)   -> save_pretrained(model, folder)     (the one way to save)

The config keys are minigpt.hf_config's; this module reads and writes the files. It knows the
format, not the model class: `load_pretrained` builds whatever class it is given
(MiniGPT.from_pretrained passes itself), so minigpt.model imports this module and not the other
way round.

Saving never leaves a half-written folder: everything is checked first, the files are written
into a new sibling folder, and that folder replaces the old one only when it is complete.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .config import read_json
from .files import raise_if_disk_full, replace_folder
from .hf_config import dtype_name, from_hf_config, to_hf_config, weight_dtype

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
PICKLE_NAME = "pytorch_model.bin"
TOKENIZER_SHA256_KEY = "minigpt_tokenizer_sha256"  # config.json: the tokenizer saved with these weights


# ---- weights ---------------------------------------------------------------------------------


@dataclasses.dataclass
class PretrainedFiles:
    """The files of a Hugging Face folder, made and checked in memory before anything is written."""

    weights: dict[str, torch.Tensor]
    config_text: str
    tokenizer: object | None = None  # a minigpt Tokenizer: tokenizer.json + tokenizer_config.json
    max_seq_len: int = 512
    extra: dict[str, str] = dataclasses.field(default_factory=dict)  # e.g. {"run_summary.json": text}

    def names(self) -> list[str]:
        tokenizer = ["tokenizer.json", "tokenizer_config.json"] if self.tokenizer is not None else []
        return [WEIGHTS_NAME, CONFIG_NAME, *tokenizer, *self.extra]

    def write(self, folder: Path) -> None:
        """Write every file into `folder` (which exists); a full disk is named as such."""
        writes: list[tuple[str, Callable[[Path], object]]] = [
            (WEIGHTS_NAME, lambda f: save_file(self.weights, str(f), metadata={"format": "pt"})),
            (CONFIG_NAME, lambda f: f.write_text(self.config_text, encoding="utf-8")),
        ]
        if self.tokenizer is not None:
            tokenizer = self.tokenizer
            writes.append(("tokenizer.json", lambda f: tokenizer.save_pretrained(f.parent, self.max_seq_len)))  # pyright: ignore[reportAttributeAccessIssue]
        writes += [
            (name, lambda f, text=text: f.write_text(text, encoding="utf-8")) for name, text in self.extra.items()
        ]
        for name, write in writes:
            try:
                write(folder / name)
            except Exception as e:
                raise_if_disk_full(e, folder / name)
                raise
        (folder / WEIGHTS_NAME).chmod(0o644)  # safetensors creates files readable by their owner only


def pretrained_files(model, dtype=None, tokenizer=None, extra: dict[str, str] | None = None) -> PretrainedFiles:
    """What save_pretrained writes, checked: a weight format minigpt knows, config.json from the
    model's config (with the tokenizer's sha256 when there is one, so a loader can tell the
    tokenizer that belongs to these weights), the weights as CPU tensors in `dtype`."""
    params = dict(model.named_parameters())  # a tied lm_head.weight is one Parameter: listed once
    dtype = weight_dtype(dtype if dtype is not None else next(iter(params.values())).dtype, "save_pretrained dtype")
    hf = to_hf_config(model.config, dtype)
    sha256 = getattr(tokenizer, "sha256", None)
    if sha256:
        hf[TOKENIZER_SHA256_KEY] = sha256
    weights = {name: p.detach().to(device="cpu", dtype=dtype).contiguous() for name, p in params.items()}
    return PretrainedFiles(weights, json.dumps(hf, indent=2) + "\n", tokenizer, model.config.max_seq_len, extra or {})


def save_pretrained(model, path: str | Path, dtype=None, tokenizer=None, extra: dict[str, str] | None = None) -> None:
    """Write the folder `path`: config.json, model.safetensors in `dtype` (default: the model's),
    and with a tokenizer its tokenizer.json + tokenizer_config.json; `extra` maps more file names
    to their text. Other files already in `path` are kept; an old sharded or pickled copy of the
    weights is dropped (the new model.safetensors replaces it).

    All of it is checked first and written into a new sibling folder that replaces `path` only
    when complete: an error (a bad dtype, a full disk) or a crash leaves the old folder as it was."""
    files = pretrained_files(model, dtype, tokenizer, extra)
    path = Path(path)
    replace_folder(path, files.write, replaces=set(files.names()) | _old_weight_files(path))


def _old_weight_files(folder: Path) -> set[str]:
    """Weight files a new model.safetensors supersedes: pytorch_model.bin, a shard index and its shards."""
    names = {PICKLE_NAME, INDEX_NAME}
    try:
        names |= {f for f in json.loads((folder / INDEX_NAME).read_text(encoding="utf-8"))["weight_map"].values()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return names


def _weight_file(file: Path, listed_in: str | None) -> Path:
    """`file`, if it is a regular file (a symlink to one is fine); else an error that says what it is."""
    if file.is_file():
        return file
    if not file.exists() and not file.is_symlink():
        where = f"{file.parent / listed_in} lists it as a shard" if listed_in else "it is not there"
        raise FileNotFoundError(f"{file} is missing: {where}. Copy the whole folder again.")
    what = f"a link to {os.path.realpath(file)}" if file.is_symlink() else "not a regular file"
    raise ValueError(
        f"{file} is {what}, not a file of weights (a device, a folder or a broken link). "
        f"Copy the real file into the folder."
    )


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of a folder: one safetensors file, a sharded set, or (never unpickled
    beyond tensors) a pytorch_model.bin."""
    path = Path(path)
    if (path / WEIGHTS_NAME).exists() or (path / WEIGHTS_NAME).is_symlink():
        files = [_weight_file(path / WEIGHTS_NAME, None)]
    elif (path / INDEX_NAME).exists():
        index = read_json(path / INDEX_NAME)
        weight_map = index.get("weight_map") if isinstance(index, dict) else None
        if not isinstance(weight_map, dict) or not all(isinstance(f, str) for f in weight_map.values()):
            raise ValueError(f'{path / INDEX_NAME}: expected {{"weight_map": {{tensor name: shard file name}}}}.')
        files = [_weight_file(_inside(path, f, INDEX_NAME), INDEX_NAME) for f in sorted(set(weight_map.values()))]
    elif (path / PICKLE_NAME).exists():
        # weights_only=True refuses arbitrary objects: a downloaded file cannot run code here.
        return torch.load(_weight_file(path / PICKLE_NAME, None), map_location="cpu", weights_only=True)
    else:
        raise FileNotFoundError(f"No {WEIGHTS_NAME}, {INDEX_NAME} or {PICKLE_NAME} in {path}.")
    state = {}
    for file in files:
        try:
            with safe_open(str(file), framework="pt") as f:
                for key in f.keys():
                    state[key] = f.get_tensor(key)
        except Exception as e:  # SafetensorError (no public class to catch) or OSError
            size = file.stat().st_size
            raise ValueError(
                f"{file} ({size:,} bytes) is not a complete safetensors file ({type(e).__name__}: {e}). It was "
                f"truncated (an interrupted download or save) or is not a safetensors file: copy or export it again."
            ) from None
    return state


def _inside(folder: Path, name: str, listed_in: str) -> Path:
    """folder / name, refusing names that lead out of the folder (absolute, or through '..')."""
    parts = Path(name).parts
    if not name or Path(name).is_absolute() or ".." in parts or (parts and parts[0].startswith(("/", "\\"))):
        raise ValueError(
            f"{folder / listed_in} points to {name!r}, outside the model folder {folder}: refused (a model "
            f"folder's files are read from inside it only). Fix the weight_map or use a trusted copy of the folder."
        )
    return folder / name


def load_pretrained(model_class, path: str | Path, device=None, dtype=None):
    """model_class(config) with the folder's weights: built on the meta device (no memory twice),
    the tensors checked against the config, then assigned; buffers rebuilt by the model itself.

    dtype: a torch dtype or its name ("bfloat16", "bf16", ...), "auto" for the dtype config.json
    records, None for float32."""
    path = Path(path)
    if not (path / CONFIG_NAME).exists():
        raise FileNotFoundError(
            f"{path / CONFIG_NAME} not found. from_pretrained reads a local folder and never downloads: "
            f"fetch a checkpoint first (e.g. huggingface_hub.snapshot_download) and pass its folder."
        )
    hf = read_json(path / CONFIG_NAME)
    config = from_hf_config(hf, str(path / CONFIG_NAME))
    if dtype == "auto":
        dtype = hf.get("dtype") or hf.get("torch_dtype") or "float32"
    dtype = weight_dtype(dtype if dtype is not None else torch.float32, "from_pretrained dtype")
    state = load_state_dict(path)
    state = {k: v for k, v in state.items() if not k.endswith("rotary_emb.inv_freq")}  # old HF files
    not_float = {k: v.dtype for k, v in state.items() if not v.is_floating_point()}
    if not_float:
        name, kind = next(iter(not_float.items()))
        more = f", and {len(not_float) - 1} more tensors are not floating point" if len(not_float) > 1 else ""
        raise ValueError(
            f"{path}: tensor {name} is {dtype_name(kind)}{more}: a quantized checkpoint, whose scales this loader "
            f"does not know. Casting its integers to float would give wrong logits. Load the float checkpoint it "
            f"was made from (minigpt.quant quantizes a loaded model in memory)."
        )
    if config.tie_word_embeddings and "lm_head.weight" in state:
        embed = state.get("model.embed_tokens.weight")
        if (
            embed is None
            or embed.shape != state["lm_head.weight"].shape
            or not torch.equal(embed, state["lm_head.weight"])
        ):
            warnings.warn(
                f"{path / CONFIG_NAME} says tie_word_embeddings: true, but the weights hold an lm_head.weight "
                f"that differs from model.embed_tokens.weight: loaded untied (both tensors kept), as transformers "
                f"does. Set tie_word_embeddings to false in config.json to say so and silence this warning.",
                stacklevel=3,
            )
            config = dataclasses.replace(config, tie_word_embeddings=False)
        else:
            state.pop("lm_head.weight")  # the same tensor twice: tied, as the config says

    with torch.device("meta"):
        model = model_class(config)
    expected = dict(model.named_parameters())
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{path}: the checkpoint's tensors do not match its config. Missing: {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''}; unexpected: {unexpected[:8]}"
            f"{' ...' if len(unexpected) > 8 else ''}."
        )
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise ValueError(
                f"{path}: tensor {name} has shape {tuple(tensor.shape)} but config.json implies "
                f"{tuple(expected[name].shape)}. Is config.json from another model?"
            )
    state = {k: v.to(device=device or "cpu", dtype=dtype) for k, v in state.items()}
    model.load_state_dict(state, strict=False, assign=True)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    model.init_buffers(device or "cpu")
    # The tokenizer the folder says these weights go with: generate/stream refuse another by it
    # (sizes cannot tell: a 300-id tokenizer fits a 4096-id model).
    model.tokenizer_sha256 = recorded_tokenizer_sha256(path)
    return model.eval()


def recorded_tokenizer_sha256(folder: str | Path) -> str | None:
    """The sha256 of the tokenizer these weights were trained or saved with, where the folder
    records one: config.json (save_pretrained with a tokenizer), run_summary.json (a training
    run or its export), trainer_state.json (a checkpoint). None when nothing is recorded."""
    folder = Path(folder)
    places = [
        (CONFIG_NAME, lambda d: d.get(TOKENIZER_SHA256_KEY)),
        ("run_summary.json", lambda d: (d.get("tokenizer") or {}).get("sha256")),
        ("trainer_state.json", lambda d: d.get("tokenizer_sha256")),
    ]
    for name, read in places:
        try:
            data = json.loads((folder / name).read_text(encoding="utf-8-sig"))
            sha = read(data) if isinstance(data, dict) else None
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(sha, str) and sha:
            return sha
    return None


def check_tokenizer_sha256(folder: str | Path, tokenizer, name: str, fix: str) -> None:
    """Refuse a tokenizer that is not the one `folder` records (recorded_tokenizer_sha256): the
    same ids would decode to other text, and the sizes alone cannot tell (a 300-id tokenizer
    fits a 4096-id model). `name` says which tokenizer was given, `fix` what to do instead."""
    recorded, ours = recorded_tokenizer_sha256(folder), getattr(tokenizer, "sha256", None)
    if recorded and ours and recorded != ours:
        raise ValueError(
            f"{folder} was trained with tokenizer sha256 {recorded[:16]}..., but {name} is {ours[:16]}...: "
            f"the same ids would mean other text. {fix}"
        )
