"""`python -m minigpt sample`: continue a prompt and print the text as it is generated.

    python -m minigpt sample --prompt 'Once upon a time' --temperature 0.8 --top-p 0.95 --seed 0
    python -m minigpt sample --prompt 'Hello' --explain       (one line per token: prob, rank, entropy)
    python -m minigpt sample --model out/hf --tokenizer out/tokenizer.json --prompt '你好'

The course model shipped with the package is used unless --model names a Hugging Face folder.
A thin layer over the library: the options become one GenerationConfig (whose checks are the
only ones, their messages given with the option names), then `stream` or `generate` runs.
"""

from __future__ import annotations

import argparse
import copy
import sys

from ..generate import generate, stream
from ..generation_config import GenerationConfig
from ..textstream import check_tokenizer
from ..train_config import check_device
from .common import ArgumentParser, Refusal, command

PROG = "python -m minigpt sample"
# GenerationConfig field -> the option that sets it, so an error names what the user typed
_OPTION = {
    "temperature": "--temperature",
    "top_k": "--top-k",
    "top_p": "--top-p",
    "num_beams": "--num-beams",
    "repetition_penalty": "--repetition-penalty",
    "length_penalty": "--length-penalty",
    "seed": "--seed",
    "stop_strings": "--stop",
    "compile": "--compile",
    "use_cache": "--no-cache",
    "explain": "--explain",
}
# The sampling options' defaults here, and under --num-beams (where they do not apply). None in the
# parser, so one given with --num-beams is seen, and refused by GenerationConfig.check_beam_search.
SAMPLING_DEFAULTS = {"temperature": 0.8, "top_k": 0, "top_p": 0.95, "repetition_penalty": 1.0}
BEAM_DEFAULTS = {"temperature": 0.0, "top_k": 0, "top_p": 1.0, "repetition_penalty": 1.0}


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description="Continue a prompt with the KV-cached sampler and print the text as it is generated. "
        "By default the shipped course model and its tokenizer are used.",
        epilog="examples:\n"
        "  python -m minigpt sample --prompt 'Once upon a time' --temperature 0.8 --top-p 0.95 --seed 0\n"
        "  python -m minigpt sample --prompt '1 + 2 =' --temperature 0          (greedy)\n"
        "  python -m minigpt sample --prompt 'Hello' --explain                   (per-token table)\n"
        "  python -m minigpt sample --model out/hf --tokenizer out/tokenizer.json --prompt '你好'",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--prompt", default="", help="text to continue ('' = start a new document)")
    parser.add_argument(
        "--chat", action="store_true", help="wrap the prompt as a ChatML user turn and stop at <|im_end|>"
    )
    parser.add_argument(
        "--model", help="a Hugging Face folder (config.json + model.safetensors) instead of the course model"
    )
    parser.add_argument("--tokenizer", help="tokenizer.json for --model (default: MODEL/tokenizer.json)")
    parser.add_argument("--max-new-tokens", type=int, default=200, help="at most this many new tokens (default 200)")
    parser.add_argument("--temperature", type=float, help="0 = greedy; default 0.8")
    parser.add_argument("--top-k", type=int, help="keep the k most likely tokens (0 = off, default)")
    parser.add_argument(
        "--top-p", type=float, help="nucleus: smallest set with this much probability (1 = off; default 0.95)"
    )
    parser.add_argument("--repetition-penalty", type=float, help="> 1 discourages repeated tokens (default 1 = off)")
    parser.add_argument(
        "--num-beams",
        type=int,
        default=1,
        help="beam search width (> 1: deterministic, scored by log-probabilities, so the sampling options, "
        "--stop and --explain do not apply; output printed at the end)",
    )
    parser.add_argument(
        "--length-penalty", type=float, default=1.0, help="beam search: score = logprob / length ** this"
    )
    parser.add_argument(
        "--stop", action="append", default=[], metavar="TEXT", help="stop once TEXT appears (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for reproducible sampling")
    parser.add_argument(
        "--no-cache", action="store_true", help="recompute the whole sequence every step (slow; to compare)"
    )
    parser.add_argument(
        "--no-prefix",
        action="store_true",
        help="do not put <|endoftext|> before the prompt (by default it is, as every training document follows one)",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="print a table: each token, its probability, its rank under the model, the entropy",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda or mps (default cpu)")
    parser.add_argument(
        "--compile",
        action="store_true",
        help="torch.compile the decode step over a static cache (first run compiles for tens of "
        "seconds; worth it for long outputs; a CUDA graph on GPUs)",
    )
    return parser


@command(PROG)
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = _generation_config(args)
    try:
        check_device(args.device)
    except ValueError as e:
        raise Refusal(f"--device {e}") from None
    model, tokenizer = _load_for_cli(args)
    model = model.to(args.device).eval()
    if args.chat:
        from ..data.datasets import chat_prompt_ids

        ids = chat_prompt_ids(tokenizer, [{"role": "user", "content": args.prompt}])
        eos = [tokenizer.eos_id, tokenizer.im_end_id]
    else:
        ids = ([] if args.no_prefix else [tokenizer.eos_id]) + tokenizer.encode(args.prompt)
        eos = [tokenizer.eos_id]
    if not ids:
        raise Refusal("the prompt is empty and --no-prefix leaves nothing to continue from")
    context = model.config.max_seq_len
    room = context - len(ids)
    if room < 1:
        raise Refusal(f"the prompt has {len(ids)} tokens, the model's context is {context}: shorten it")
    if room < config.max_new_tokens:
        print(
            f"note: the prompt has {len(ids)} tokens and the model's context is {context}, so at most {room} new "
            f"tokens follow (not --max-new-tokens {config.max_new_tokens}). Shorten the prompt for more.",
            file=sys.stderr,
        )
    config = GenerationConfig.build(config, max_new_tokens=min(config.max_new_tokens, room), eos_token_id=eos)
    try:
        if config.num_beams > 1:
            out = generate(model, ids, config=config)
            print(args.prompt + tokenizer.decode([t for t in out[len(ids) :] if t not in eos]))
            return 0
        steps = stream(model, ids, config=config, tokenizer=tokenizer, explain=args.explain)
        if args.explain:
            print(f"{'step':>4}  {'token':<16} {'id':>6} {'prob':>7} {'rank':>5} {'entropy (bits)':>15}")
        else:
            print(args.prompt, end="", flush=True)
        for step in steps:
            if args.explain:
                show = getattr(tokenizer, "id_to_token", None) or (lambda i: tokenizer.decode([i]))
                shown = repr(show(step.token))[:16]
                print(
                    f"{step.index:>4}  {shown:<16} {step.token:>6} {_item(step.prob):>7.3f} "
                    f"{_item(step.rank):>5} {_item(step.entropy):>15.2f}"
                )
            else:
                print(step.text[0] if step.text else "", end="", flush=True)
        if not args.explain:
            print()
    except ValueError as e:
        raise Refusal(str(e)) from None
    return 0


def _generation_config(args) -> GenerationConfig:
    """The options as one GenerationConfig. With --num-beams > 1, an option beam search does not
    do is refused by name (GenerationConfig.check_beam_search), not dropped without a word."""
    if args.max_new_tokens < 1:
        raise Refusal(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}.")
    beam = args.num_beams > 1
    defaults = BEAM_DEFAULTS if beam else SAMPLING_DEFAULTS
    values = {k: default if getattr(args, k) is None else getattr(args, k) for k, default in defaults.items()}
    try:
        config = GenerationConfig(
            max_new_tokens=args.max_new_tokens,
            num_beams=1 if beam else args.num_beams,  # 0 and negative widths are refused here
            length_penalty=args.length_penalty,
            stop_strings=args.stop or None,
            seed=args.seed,
            use_cache=not args.no_cache,
            compile=args.compile,
            **values,
        )  # every value checked, as if sampling; then, for beam search, every option it would not honour at once
        if beam:
            as_beams = copy.copy(config)
            object.__setattr__(as_beams, "num_beams", args.num_beams)  # frozen: the check reads it, nothing runs
            as_beams.check_beam_search(explain=args.explain)  # --explain is the CLI's, not a setting
            config = GenerationConfig.build(config, num_beams=args.num_beams)
    except ValueError as e:
        raise Refusal(_in_option_names(str(e))) from None
    return config


def _load_for_cli(args):
    from pathlib import Path

    if args.model is None:
        if args.tokenizer:
            raise Refusal(f"--tokenizer {args.tokenizer} goes with --model; the course model has its own tokenizer.")
        try:
            from ..course import load_course_model
        except ImportError:
            raise Refusal(
                "the shipped course model is not available in this installation (minigpt.course is "
                "missing). Pass a model instead: --model HF_FOLDER [--tokenizer tokenizer.json]"
            ) from None
        return load_course_model()
    from ..hf_format import check_tokenizer_sha256
    from ..model import MiniGPT
    from ..tokenizer import Tokenizer

    folder = Path(args.model)
    if not (folder / "config.json").exists():
        raise Refusal(f"{folder} is not a Hugging Face model folder (no config.json).")
    tokenizer_path = Path(args.tokenizer) if args.tokenizer else folder / "tokenizer.json"
    if not tokenizer_path.exists():
        raise Refusal(f"no tokenizer at {tokenizer_path}: pass --tokenizer PATH/tokenizer.json")
    try:
        model, tokenizer = MiniGPT.from_pretrained(folder), Tokenizer.from_file(tokenizer_path)
        fix = f"Use the model's own tokenizer ({folder / 'tokenizer.json'}), or the model trained with this one."
        check_tokenizer_sha256(folder, tokenizer, f"--tokenizer {tokenizer_path}", fix)
        check_tokenizer(model, tokenizer)  # the sizes, for folders that record no tokenizer
    except (OSError, ValueError) as e:
        raise Refusal(str(e)) from None
    return model, tokenizer


def _item(value) -> float:
    """A one-row explain=True field as a number."""
    return value.item()


def _in_option_names(message: str) -> str:
    """A GenerationConfig error as the command line says it: "top_p must ..." -> "--top-p must ...",
    "top_k=5 (use 0)" -> "--top-k 5 (use 0)"."""
    message = message.replace("compile=True", "--compile").replace("leave use_cache=True", "drop --no-cache")
    for name, option in _OPTION.items():
        if message.startswith(name + " "):
            message = option + message[len(name) :]
        message = message.replace(f"{name}=", f"{option} ")
    return message
