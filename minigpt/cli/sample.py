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
import sys
from typing import NoReturn

from ..generate import generate, stream
from ..generation_config import GenerationConfig
from ..textstream import check_tokenizer

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
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    parser.add_argument("--temperature", type=float, default=0.8, help="0 = greedy; default 0.8")
    parser.add_argument("--top-k", type=int, default=0, help="keep the k most likely tokens (0 = off, default)")
    parser.add_argument(
        "--top-p",
        type=float,
        default=0.95,
        help="nucleus: smallest set with this much probability (1 = off; default 0.95)",
    )
    parser.add_argument(
        "--repetition-penalty", type=float, default=1.0, help="> 1 discourages repeated tokens (default 1 = off)"
    )
    parser.add_argument(
        "--num-beams",
        type=int,
        default=1,
        help="beam search width (> 1 implies greedy scoring; output printed at the end)",
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.max_new_tokens < 1:
        _fail(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}.")
    if args.num_beams > 1 and args.compile:
        _fail("--compile is for sampling and greedy decoding; beam search runs eagerly: drop one of them")
    beam = args.num_beams > 1
    try:  # beam search scores by log-probabilities: the sampling options do not apply to it
        config = GenerationConfig(
            max_new_tokens=args.max_new_tokens,
            num_beams=args.num_beams,
            length_penalty=args.length_penalty,
            temperature=0.0 if beam else args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            repetition_penalty=1.0 if beam else args.repetition_penalty,
            stop_strings=None if beam else args.stop or None,
            seed=args.seed,
            use_cache=not args.no_cache,
            compile=args.compile,
        )
        if beam:  # the sampling options are still checked, so a typo is not silently ignored
            GenerationConfig(temperature=args.temperature, repetition_penalty=args.repetition_penalty)
    except ValueError as e:
        _fail(_in_option_names(str(e)))

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
        _fail("the prompt is empty and --no-prefix leaves nothing to continue from")
    room = model.config.max_seq_len - len(ids)
    if room < 1:
        _fail(f"the prompt has {len(ids)} tokens, the model's context is {model.config.max_seq_len}: shorten it")
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
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


def _load_for_cli(args):
    from pathlib import Path

    if args.model is None:
        try:
            from ..course import load_course_model
        except ImportError:
            _fail(
                "the shipped course model is not available in this installation (minigpt.course is "
                "missing). Pass a model instead: --model HF_FOLDER [--tokenizer tokenizer.json]"
            )
        return load_course_model()
    from ..model import MiniGPT
    from ..tokenizer import Tokenizer

    folder = Path(args.model)
    if not (folder / "config.json").exists():
        _fail(f"{folder} is not a Hugging Face model folder (no config.json).")
    tokenizer_path = Path(args.tokenizer) if args.tokenizer else folder / "tokenizer.json"
    if not tokenizer_path.exists():
        _fail(f"no tokenizer at {tokenizer_path}: pass --tokenizer PATH/tokenizer.json")
    try:
        model, tokenizer = MiniGPT.from_pretrained(folder), Tokenizer.from_file(tokenizer_path)
    except (OSError, ValueError) as e:
        _fail(str(e))
    try:
        check_tokenizer(model, tokenizer)
    except ValueError as e:
        _fail(str(e))
    return model, tokenizer


def _item(value) -> float:
    """A one-row explain=True field as a number."""
    return value.item()


def _in_option_names(message: str) -> str:
    """A GenerationConfig error as the command line says it: "top_p must ..." -> "--top-p must ..."."""
    message = message.replace("compile=True", "--compile").replace("leave use_cache=True", "drop --no-cache")
    for name, option in _OPTION.items():
        if message.startswith(name + " "):
            return option + message[len(name) :]
    return message


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)
