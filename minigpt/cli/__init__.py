"""The command line: `python -m minigpt {count,train,sample,export,card} ...` (and the `minigpt` script).

One module per subcommand, named as the subcommand (minigpt/cli/train.py is `train`), each with a
`main(argv=None) -> int` that parses its own options, so `python -m minigpt train --help` is the
trainer's help, written next to the code that reads it. Each is a thin layer over library
functions (the Trainer, minigpt.data.prepare, counting, generate, ...): it turns options into
calls and errors into one line on stderr (cli/common.py). Nothing here is imported by the library.
"""

from __future__ import annotations

import importlib
import sys

SUBCOMMANDS = {
    "count": "parameters, memory, KV cache and FLOPs of a config",
    "train": "train a model (also under torchrun)",
    "sample": "generate text with the KV-cached sampler",
    "export": "turn a training checkpoint into a Hugging Face folder",
    "card": "measure a course model on the held-out probes and write its model card",
}


def module_of(name: str) -> str:
    """The module that implements subcommand `name`."""
    return f"{__name__}.{name}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in SUBCOMMANDS:
        lines = [f"  {name:<8} {help_}" for name, help_ in SUBCOMMANDS.items()]
        print("usage: python -m minigpt {" + ",".join(SUBCOMMANDS) + "} [--help] ...\n\n" + "\n".join(lines))
        if argv and argv[0] not in ("-h", "--help"):
            print(f"\nerror: unknown command {argv[0]!r}", file=sys.stderr)
            return 2
        return 0
    return importlib.import_module(module_of(argv[0])).main(argv[1:]) or 0
