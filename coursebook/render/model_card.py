"""The book's model-card pages, from minigpt/assets/course-model/model_card.json.

Every number on book/{en,zh}/model_card.md comes from the JSON that `make course-model` writes
after measuring the model, so the page cannot drift from the shipped weights.

    coursebook render model-card            # rewrite both pages
    coursebook render model-card --check    # exit 1 if a page differs from what the JSON gives
"""

from __future__ import annotations

import json

from ..book import ROOT
from ..generated import Output

CARD = ROOT / "minigpt" / "assets" / "course-model" / "model_card.json"

PROBE_NAMES = {
    "name": ("who is speaking (self-introductions)", "谁在说话（自我介绍）"),
    "dialogue": ("the other speaker's name (dialogues)", "对话中另一个人的名字"),
    "count": ("next item of a sequence (numbers, weekdays, months)", "序列的下一项（数字、星期、月份）"),
    "arith_answer": ("arithmetic, answer only", "算术，只写答案"),
    "arith_steps": ("arithmetic, steps written first", "算术，先写步骤"),
    "fact": ("facts about the invented countries", "虚构国家的事实"),
    "copy": ("repeat a span seen earlier", "重复前文出现过的片段"),
}

TEXT = {
    "en": {
        "title": "# Model card: the course model",
        "intro": "The course model is the small Llama-style model that ships inside the `minigpt` package "
        "(`from minigpt.course import load_course_model`) and that the chapters inspect and sample from. "
        "Every number on this page was measured on the model itself when it was trained; the same "
        "record ships with the package as `minigpt/assets/course-model/model_card.json`.",
        "arch": "## Architecture",
        "arch_rows": [
            ("parameters", "{parameters:,}"),
            ("hidden size", "{hidden_size}"),
            ("layers", "{num_layers}"),
            ("query heads / key-value heads", "{num_heads} / {num_kv_heads} (grouped-query attention)"),
            ("head size", "{head_dim}"),
            ("MLP (SwiGLU) width", "{intermediate_size}"),
            ("vocabulary", "{vocab_size} (byte-level BPE, Chinese characters kept whole)"),
            ("context", "{max_seq_len} tokens (trained on windows of {block_size})"),
            ("RoPE base", "{rope_theta:g}"),
            ("embedding and LM head", "tied"),
            ("weights on disk", "{weights_dtype}, safetensors; loads as `LlamaForCausalLM` in transformers"),
        ],
        "data": "## Training data",
        "data_text": "The generated course corpus `{version}` (seed {seed}, {bytes:,} bytes, {documents:,} documents, "
        "sha256 `{sha256}`): short English and Chinese documents written by minigpt's generator — "
        "self-introductions and dialogues, counting sequences, arithmetic word problems with and without "
        "written steps, facts about invented countries, and repeated spans. No downloaded text.",
        "train": "## Training",
        "train_rows": [
            ("command", "`{build_command}`, which runs `{command}`"),
            ("steps", "{steps:,}"),
            ("tokens seen", "{tokens_seen:,}"),
            (
                "optimizer",
                "AdamW, lr {lr:g}, warmup {warmup_steps} steps, "
                "cosine to lr/10, weight decay {weight_decay:g}, gradient clipping {grad_clip:g}",
            ),
            ("batch", "{batch_size} x {block_size} tokens per step"),
            ("precision", "{dtype} autocast{compiled}"),
            ("device", "{device}"),
            ("training time", "{train_time_s:,.0f} s"),
            ("final loss", "train {final_train_loss} ({final_train_loss_note}), validation {final_val_loss}"),
        ],
        "probes": "## Held-out probes",
        "probes_text": "{count} probes that the corpus never contains (held out by construction, see "
        "`minigpt/data/corpus.py`), half in each language. A probe passes when the model's greedy "
        "continuation starts with the answer and the answer ends at a word boundary.",
        "probe_head": "| probe | English | 中文 | both |",
        "bar": "What the model was trained to reach before it was shipped: at least 95% on who is speaking "
        "({name}) and on the next item of a sequence ({count}), and arithmetic clearly better with the "
        "steps written out than with the answer alone ({arith_steps} vs {arith_answer}).",
        "limits": "## Intended use and limitations",
        "limits_text": "A teaching model: small enough to ship in the package and to run on a laptop CPU, "
        "trained on templated text so that its behaviour can be explained (a head that finds the speaker, "
        "counting, arithmetic that improves when the steps are written out). It knows nothing outside "
        'its corpus, and its "facts" are about invented countries. Do not use it for anything but learning.',
    },
    "zh": {
        "title": "# 模型卡：课程模型",
        "intro": "课程模型是随 `minigpt` 包一起发布的小型 Llama 式模型"
        "（`from minigpt.course import load_course_model`），"
        "各章用它来观察和生成文本。本页的每个数字都是训练完成时在模型本身上测得的；"
        "同一份记录随包一起发布，即 `minigpt/assets/course-model/model_card.json`。",
        "arch": "## 结构",
        "arch_rows": [
            ("参数量", "{parameters:,}"),
            ("隐藏维度", "{hidden_size}"),
            ("层数", "{num_layers}"),
            ("查询头 / 键值头", "{num_heads} / {num_kv_heads}（分组查询注意力）"),
            ("每个头的维度", "{head_dim}"),
            ("MLP（SwiGLU）宽度", "{intermediate_size}"),
            ("词表", "{vocab_size}（字节级 BPE，汉字不拆开合并）"),
            ("上下文", "{max_seq_len} 个词元（训练窗口 {block_size}）"),
            ("RoPE 基数", "{rope_theta:g}"),
            ("嵌入与输出层", "共享权重"),
            ("磁盘上的权重", "{weights_dtype}，safetensors；transformers 以 `LlamaForCausalLM` 加载"),
        ],
        "data": "## 训练数据",
        "data_text": "生成的课程语料 `{version}`（种子 {seed}，{bytes:,} 字节，{documents:,} 篇文档，"
        "sha256 `{sha256}`）：由 minigpt 的生成器写出的中英文短文档——自我介绍和对话、计数序列、"
        "带步骤和不带步骤的算术应用题、虚构国家的事实，以及重复的片段。没有下载任何文本。",
        "train": "## 训练",
        "train_rows": [
            ("命令", "`{build_command}`，它运行 `{command}`"),
            ("步数", "{steps:,}"),
            ("训练词元数", "{tokens_seen:,}"),
            (
                "优化器",
                "AdamW，学习率 {lr:g}，预热 {warmup_steps} 步，"
                "余弦衰减到 lr/10，权重衰减 {weight_decay:g}，梯度裁剪 {grad_clip:g}",
            ),
            ("批量", "每步 {batch_size} x {block_size} 个词元"),
            ("精度", "{dtype} 自动混合精度{compiled}"),
            ("设备", "{device}"),
            ("训练时间", "{train_time_s:,.0f} 秒"),
            ("最终损失", "训练 {final_train_loss}（最后 20 步的平均），验证 {final_val_loss}"),
        ],
        "probes": "## 留出探针",
        "probes_text": "{count} 个语料中从未出现过的探针（构造时就留出，见 `minigpt/data/corpus.py`），中英文各一半。"
        "模型的贪心续写以答案开头、且答案在词的边界处结束，就算通过。",
        "probe_head": "| 探针 | English | 中文 | 合计 |",
        "bar": "模型发布之前要达到的目标：“谁在说话”和“序列的下一项”都至少答对 95%（实测 {name} 和 {count}），"
        "先写步骤的算术明显好于只写答案（{arith_steps} 对 {arith_answer}）。",
        "limits": "## 用途与局限",
        "limits_text": "这是一个教学模型：小到可以随包发布、在笔记本电脑的 CPU 上运行；在模板化的文本上训练，"
        "所以它的行为可以解释（找到说话人的注意力头、计数、写出步骤后更准的算术）。它对语料之外的事一无所知，"
        "它的“事实”都是关于虚构国家的。除了学习，请不要用于任何用途。",
    },
}


def pct(x: float) -> str:
    return f"{x:.0%}"


def render(card: dict, lang: str) -> str:
    t = TEXT[lang]
    cfg, tr = card["config"], card["training"]
    opts = tr["options"]
    acc = card["probes"]["accuracy"]
    values = {
        **opts,
        **tr,
        **tr["data"],
        **cfg,
        "parameters": card["parameters"],
        "weights_dtype": card["weights_dtype"],
        "build_command": card["build_command"] or "",
        "compiled": " + torch.compile" if opts.get("compile") else "",
    }
    lines = [t["title"], "", t["intro"], "", t["arch"], "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v.format(**values)} |" for k, v in t["arch_rows"]]
    lines += ["", t["data"], "", t["data_text"].format(**values), "", t["train"], "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v.format(**values)} |" for k, v in t["train_rows"]]
    lines += [
        "",
        t["probes"],
        "",
        t["probes_text"].format(count=card["probes"]["probes"]),
        "",
        t["probe_head"],
        "|---|---:|---:|---:|",
    ]
    for kind, names in PROBE_NAMES.items():
        name = names[0] if lang == "en" else names[1]
        lines.append(f"| {name} | {pct(acc[kind + '/en'])} | {pct(acc[kind + '/zh'])} | {pct(acc[kind])} |")
    lines += [
        "",
        t["bar"].format(**{k: pct(v) for k, v in acc.items() if "/" not in k}),
        "",
        t["limits"],
        "",
        t["limits_text"],
        "",
    ]
    return "\n".join(lines)


def outputs() -> list[Output]:
    card = json.loads(CARD.read_text(encoding="utf-8"))
    return [Output(ROOT / "book" / lang / "model_card.md", render(card, lang)) for lang in ("en", "zh")]
