"""Data for training: the generated course corpus, token files from real text, datasets.

corpus.py    the bilingual course corpus (its documents hold out some combinations)
probes.py    the held-out probes drawn from those combinations, and their scoring
tokens.py    .txt / .jsonl files -> flat token file (np.memmap) with a sidecar
datasets.py  packed windows (shifted targets), padding, answer-only (SFT) masks, collate
prepare.py   a run's data made ready: corpus -> tokenizer -> token files -> (train, val) ids
"""

from .corpus import CORPUS_VERSION, CourseCorpus, is_held_out, make_course_corpus
from .datasets import (
    IGNORE_INDEX,
    ExampleDataset,
    PackedDataset,
    PadCollate,
    ResumableSampler,
    SFTDataset,
    chat_example,
    chat_prompt_ids,
    collate,
    prompt_answer_example,
    shift,
)
from .prepare import PreparedData, prepare_course_data, prepare_token_data, split_tail
from .probes import Probe, course_probes, evaluate_probes, probe_ids, probe_passes
from .tokens import (
    encode_documents,
    iter_texts,
    load_tokens,
    save_tokens,
    token_dtype,
    tokenize_files,
    tokens_up_to_date,
)

__all__ = [
    "CORPUS_VERSION",
    "CourseCorpus",
    "Probe",
    "course_probes",
    "evaluate_probes",
    "is_held_out",
    "make_course_corpus",
    "probe_ids",
    "probe_passes",
    "IGNORE_INDEX",
    "ExampleDataset",
    "PackedDataset",
    "PadCollate",
    "ResumableSampler",
    "SFTDataset",
    "chat_example",
    "chat_prompt_ids",
    "collate",
    "prompt_answer_example",
    "shift",
    "PreparedData",
    "prepare_course_data",
    "prepare_token_data",
    "split_tail",
    "encode_documents",
    "iter_texts",
    "load_tokens",
    "save_tokens",
    "token_dtype",
    "tokenize_files",
    "tokens_up_to_date",
]
