"""`python -m minigpt export`: a training checkpoint as a Hugging Face folder that
MiniGPT.from_pretrained and transformers' AutoModelForCausalLM load (minigpt.checkpoint.export_checkpoint).
Refuses, before writing anything, to replace a non-empty folder without --overwrite."""

from __future__ import annotations

from pathlib import Path

from ..checkpoint import TOKENIZER_NAME, export_checkpoint, find_checkpoint
from ..devices import DTYPES
from ..runfolder import check_writable
from .common import ArgumentParser, Refusal, command

PROG = "python -m minigpt export"


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Turn a training checkpoint into a Hugging Face folder (config.json, model.safetensors, "
        "tokenizer.json + tokenizer_config.json when the run has a tokenizer) that MiniGPT.from_pretrained "
        "and transformers' AutoModelForCausalLM load.",
    )
    parser.add_argument(
        "--checkpoint", required=True, help="a checkpoint folder, or a run folder (its newest checkpoint)"
    )
    parser.add_argument("--out", required=True, help="folder to write")
    parser.add_argument("--dtype", default="fp32", choices=tuple(DTYPES), help="weight format")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="write into --out even if it is not empty (its model files are replaced)",
    )
    return parser


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    folder = find_checkpoint(args.checkpoint)
    if folder is None:
        raise Refusal(f"no checkpoint at {args.checkpoint} (expected a step-* folder or a run folder).")
    out = Path(args.out)
    try:  # a file on the way, a read-only disk: refused in words, before the temporary folder is made
        check_writable(out)
    except OSError as e:
        raise Refusal(f"--out {e}") from None
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.overwrite:
        what = "a model folder" if (out / "config.json").exists() else "not empty" if out.is_dir() else "a file"
        raise Refusal(
            f"--out {out} is {what}; nothing was changed. Choose another --out, or add --overwrite to "
            f"replace its model files."
        )
    if out.resolve() == folder.resolve() or folder.resolve() in out.resolve().parents:
        raise Refusal(f"--out {out} is inside the checkpoint {folder}; export to a folder of its own.")
    try:
        model, written = export_checkpoint(folder, out, args.dtype)
    except (OSError, ValueError) as e:
        raise Refusal(str(e)) from None
    if TOKENIZER_NAME not in written:
        print(f"note: no tokenizer.json next to {folder}; the folder has weights only.")
    print(f"exported {folder} ({model.num_parameters():,} parameters, {args.dtype}) to {out}: {', '.join(written)}")
    return 0
