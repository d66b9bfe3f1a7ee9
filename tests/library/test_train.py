"""The trainer: accumulation == big batch, clipping, schedules, non-finite stops, exact resume,
crash-safe checkpoints, the CLI. All on CPU in fp32 unless a test says otherwise."""

import copy
import json
import math
from pathlib import Path

import minigpt.checkpoint as ckpt
import numpy as np
import pytest
import torch
from conftest import MaskedExamples
from minigpt import MiniGPT, ModelConfig
from minigpt.data import PackedDataset
from minigpt.schedule import lr_schedule
from minigpt.train import NonFiniteError, TrainConfig, Trainer, weight_decay_split

IGNORE = -100


def tiny(dropout=0.0, **kw):
    torch.manual_seed(0)
    return MiniGPT(ModelConfig.from_preset("tiny", dropout=dropout, **kw))


def cfg(**kw):
    base = dict(steps=6, batch_size=2, lr=3e-3, warmup_steps=2, dtype="fp32", device="cpu", progress=False)
    return TrainConfig(**{**base, **kw})


def stream(n=4000, vocab=256, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, n).astype(np.uint16)


def grads(model):
    return {n: p.grad.clone() for n, p in model.named_parameters()}


def max_diff(a, b):
    return max((a[k] - b[k]).abs().max().item() for k in a)


def micro_batches():
    """Three micro-batches with 3, 40 and 17 targets: uneven on purpose."""
    g = torch.Generator().manual_seed(1)
    out = []
    for targets in (3, 40, 17):
        x = torch.randint(0, 256, (2, 20), generator=g)
        y = torch.randint(0, 256, (2, 20), generator=g)
        flat = y.view(-1)
        flat[targets:] = IGNORE
        out.append({"input_ids": x, "targets": flat.view(2, 20)})
    return out


def test_hugging_face_labels_are_shifted_like_transformers_does():
    """A batch written for transformers ({"input_ids", "labels"}: the ids themselves, -100 where no
    loss) trains exactly like the same text given as shifted targets, and its loss is the model's
    own labels= loss (which shifts inside, as LlamaForCausalLM does)."""
    g = torch.Generator().manual_seed(2)
    ids = torch.randint(0, 256, (2, 21), generator=g)
    labels = ids.clone()
    labels[0, :5] = IGNORE  # a prompt that is not learned
    targets = torch.cat([labels[:, 1:], torch.full((2, 1), IGNORE)], dim=1)  # by hand: position t -> labels[t + 1]
    hf_model, ours_model, ref_model = tiny(), tiny(), tiny()
    hf_sum, hf_n, _ = Trainer(hf_model, cfg()).compute_gradients([{"input_ids": ids, "labels": labels}])
    our_sum, our_n, _ = Trainer(ours_model, cfg()).compute_gradients([{"input_ids": ids, "targets": targets}])
    assert hf_n == our_n == 2 * 20 - 4 and abs(hf_sum.item() - our_sum.item()) < 1e-4
    assert max_diff(grads(hf_model), grads(ours_model)) < 1e-6
    ref_model(ids, labels=labels).loss.backward()
    assert max_diff(grads(ref_model), grads(hf_model)) < 1e-6


# ---- accumulation ------------------------------------------------------------------------------


def test_accumulation_equals_one_big_batch_with_uneven_masks():
    parts = micro_batches()
    big = {k: torch.cat([b[k] for b in parts]) for k in ("input_ids", "targets")}

    small_model, big_model, naive_model, ref_model = tiny(), tiny(), tiny(), tiny()
    loss_sum, n, _ = Trainer(small_model, cfg()).compute_gradients(parts)
    big_sum, big_n, _ = Trainer(big_model, cfg()).compute_gradients([big])
    assert n == big_n == 60
    assert abs(loss_sum.item() - big_sum.item()) < 1e-4

    g_small, g_big = grads(small_model), grads(big_model)
    assert max_diff(g_small, g_big) < 1e-6

    # The big batch's gradient is the gradient of the model's own mean loss over its targets.
    ref_model(big["input_ids"], targets=big["targets"]).loss.backward()
    assert max_diff(grads(ref_model), g_big) < 1e-6

    # The naive recipe (mean per micro-batch, divided by k) weights the 3 targets of the first
    # micro-batch like the 40 of the second: a clearly different gradient.
    for b in parts:
        (naive_model(b["input_ids"], targets=b["targets"]).loss / len(parts)).backward()
    assert max_diff(grads(naive_model), g_big) > 1e-3


def test_training_with_accumulation_equals_training_with_the_big_batch():
    data = MaskedExamples()
    a, b = tiny(), tiny()
    ha = Trainer(a, cfg(steps=3, batch_size=2, grad_accum=2), data).train()
    hb = Trainer(b, cfg(steps=3, batch_size=4, grad_accum=1), data).train()
    assert [m["target_tokens"] for m in ha] == [m["target_tokens"] for m in hb]
    for ma, mb in zip(ha, hb, strict=False):
        assert abs(ma["loss"] - mb["loss"]) < 1e-6
        assert ma["grad_norm"] == pytest.approx(mb["grad_norm"], rel=1e-5)
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=False):  # see test_ddp.py for the bound
        assert torch.allclose(pa, pb, rtol=0, atol=1e-4), name


# ---- optimizer, schedule, clipping -------------------------------------------------------------


def test_weight_decay_only_on_block_matrices():
    decay, no_decay = weight_decay_split(tiny())
    assert "model.embed_tokens.weight" in no_decay  # tied: also the lm_head, one tensor
    assert "lm_head.weight" not in decay + no_decay
    assert all(n.endswith("norm.weight") for n in no_decay if n != "model.embed_tokens.weight")
    assert "model.layers.0.self_attn.q_proj.weight" in decay and "model.layers.1.mlp.down_proj.weight" in decay
    untied_decay, _ = weight_decay_split(tiny(tie_word_embeddings=False, qkv_bias=True))
    assert "lm_head.weight" in untied_decay
    assert not any(n.endswith(".bias") for n in untied_decay)


def test_schedule_values_at_known_steps():
    s = lr_schedule("cosine", max_lr=1.0, total_steps=110, warmup_steps=10, min_lr=0.1)
    assert s(0) == pytest.approx(0.1) and s(4) == pytest.approx(0.5) and s(9) == pytest.approx(1.0)
    assert s(10) == pytest.approx(1.0)  # decay starts at the peak
    assert s(60) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # halfway: 0.55
    assert s(35) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.25)))
    assert s(110) == s(500) == pytest.approx(0.1)
    lin = lr_schedule("linear", 1.0, 110, 10, 0.1)
    assert lin(60) == pytest.approx(0.55) and lin(35) == pytest.approx(1.0 - 0.9 * 0.25)
    const = lr_schedule("constant", 1.0, 110, 10, 0.1)
    assert const(5) == pytest.approx(0.6) and const(10) == const(109) == 1.0
    assert len(s.values()) == 110
    # The trainer applies exactly these values.
    t = Trainer(tiny(), cfg(steps=5, lr=0.01, warmup_steps=2, min_lr=0.001), PackedDataset(stream(), 16))
    lrs = [m["lr"] for m in t.train()]
    expected = lr_schedule("cosine", 0.01, 5, 2, 0.001)
    assert lrs == [expected(i) for i in range(5)]


@pytest.mark.parametrize(
    "total, warmup, fraction, min_ratio", [(110, 10, 0.2, 0.1), (1000, 0, 0.1, 0.0), (37, 5, 0.5, 0.3)]
)
def test_wsd_equals_transformers_get_wsd_schedule_after_the_warmup(total, warmup, fraction, min_ratio):
    optimization = pytest.importorskip("transformers.optimization")
    ours = lr_schedule("wsd", 2e-3, total, warmup, min_lr=2e-3 * min_ratio, decay_fraction=fraction)
    decay = round(fraction * total)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2e-3)
    theirs = optimization.get_wsd_schedule(
        opt, warmup, decay, num_stable_steps=total - warmup - decay, decay_type="linear", min_lr_ratio=min_ratio
    )
    lambdas = theirs.lr_lambdas[0]
    # Their warmup starts at 0 (step / W), ours one step later ((step + 1) / W); from the peak on they agree.
    for step in range(warmup, total + 5):
        assert ours(step) == pytest.approx(2e-3 * lambdas(step), rel=1e-12, abs=1e-15), step
    stable = [ours(s) for s in range(warmup, total - decay)]
    assert stable and all(v == 2e-3 for v in stable)  # the stable phase: the peak, exactly
    assert ours(total - 1) < ours(total - decay) == 2e-3


def test_wsd_refuses_a_decay_that_overlaps_the_warmup():
    with pytest.raises(ValueError, match="shorten the warmup or the decay"):
        lr_schedule("wsd", 1e-3, total_steps=100, warmup_steps=90, decay_fraction=0.2)
    with pytest.raises(ValueError, match="decay_fraction"):
        lr_schedule("wsd", 1e-3, total_steps=100, warmup_steps=0, decay_fraction=0.0)


def test_the_trainer_follows_wsd():
    t = Trainer(
        tiny(), cfg(steps=10, lr=0.01, warmup_steps=2, min_lr=0.001, schedule="wsd"), PackedDataset(stream(), 16)
    )
    lrs = [m["lr"] for m in t.train()]
    assert lrs == [lr_schedule("wsd", 0.01, 10, 2, 0.001)(i) for i in range(10)]
    assert lrs[2:9] == [0.01] * 7 and lrs[9] == pytest.approx(0.01 - 0.009 / 2)  # decay: steps 8 and 9 of 10


@pytest.mark.parametrize("max_norm", [0.05, 1e6])
def test_clipping_caps_the_global_norm(max_norm):
    parts = micro_batches()
    model, reference = tiny(), tiny()
    trainer = Trainer(model, cfg(grad_clip=max_norm))
    seen = {}
    step = trainer.optimizer.step

    def spy(*args, **kwargs):  # the gradients the optimizer actually receives
        seen.update(grads(model))
        return step(*args, **kwargs)

    trainer.optimizer.step = spy
    metrics = trainer.train_step(parts)

    Trainer(reference, cfg()).compute_gradients(parts)
    pre = torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm)
    assert metrics["grad_norm"] == pytest.approx(pre.item(), rel=1e-6)
    assert metrics["clipped"] == (pre.item() > max_norm)
    assert max_diff(seen, grads(reference)) < 1e-7
    after = torch.linalg.vector_norm(torch.stack([g.norm() for g in seen.values()])).item()
    assert after <= min(max_norm, pre.item()) * (1 + 1e-5)
    if max_norm < 1:
        assert metrics["clipped"] and after == pytest.approx(max_norm, rel=1e-4)


# ---- non-finite values ---------------------------------------------------------------------------


def test_non_finite_loss_stops_with_a_helpful_message():
    model = tiny()
    with torch.no_grad():
        model.model.norm.weight[0] = float("nan")
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(NonFiniteError) as err:
        Trainer(model, cfg(), PackedDataset(stream(), 16)).train()
    text = str(err.value)
    for needle in ("Step 1", "loss is nan", "lower learning rate", "grad_clip", "bf16", "data"):
        assert needle in text, needle
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k != "model.norm.weight")


def test_non_finite_gradient_stops_before_the_update():
    model = tiny()
    trainer = Trainer(model, cfg(), PackedDataset(stream(), 16))
    trainer.train(steps=2)
    before = copy.deepcopy(model.state_dict())
    model.model.layers[1].mlp.up_proj.weight.register_hook(lambda g: torch.full_like(g, float("inf")))
    with pytest.raises(NonFiniteError, match=r"Step 3: the gradient norm is inf"):
        trainer.train()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert trainer.step == 2


# ---- checkpoints and exact resume ----------------------------------------------------------------


def test_resume_continues_exactly(tmp_path):
    data, val = PackedDataset(stream(seed=0), 16), PackedDataset(stream(600, seed=1), 16)
    settings = dict(steps=6, eval_every=2, eval_batches=2)
    # dropout > 0: the restored RNG state matters too
    whole = Trainer(tiny(dropout=0.1), cfg(**settings), data, val).train()

    def crash(m):
        if m["step"] == 4:
            raise KeyboardInterrupt("killed")

    first = Trainer(tiny(dropout=0.1), cfg(**settings, out_dir=str(tmp_path), save_every=3), data, val, on_step=crash)
    with pytest.raises(KeyboardInterrupt):
        first.train()
    assert [p.name for p in ckpt.list_checkpoints(tmp_path / "checkpoints")] == ["step-0000003"]

    torch.manual_seed(123)  # a different initialization: the checkpoint must overwrite it
    resumed_model = MiniGPT(ModelConfig.from_preset("tiny", dropout=0.1))
    resumed = Trainer(resumed_model, cfg(**settings, out_dir=str(tmp_path), save_every=3), data, val)
    resumed.resume()
    assert resumed.step == 3
    history = resumed.train()
    assert [m["step"] for m in history] == [m["step"] for m in whole]
    for a, b in zip(history, whole, strict=False):
        key = "loss" if a["kind"] == "train" else "val_loss"
        assert a[key] == b[key] or abs(a[key] - b[key]) < 1e-7, (a, b)
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [(m["kind"], m["step"]) for m in logged] == [(m["kind"], m["step"]) for m in whole]


def test_kill_during_save_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    data = PackedDataset(stream(), 16)
    reference = Trainer(tiny(), cfg(steps=3), data).train()
    real_write = ckpt._write_files

    def dying_write(folder, model, state, tensors, tokenizer):
        if state["step"] == 2:  # write the weights and half of the optimizer file, then "die"
            ckpt.save_pretrained(model, folder)
            raw = Path(folder / ckpt.TENSORS_NAME)
            torch.save(tensors, raw)
            raw.write_bytes(raw.read_bytes()[: raw.stat().st_size // 2])
            raise OSError("simulated crash while saving")
        return real_write(folder, model, state, tensors, tokenizer)

    monkeypatch.setattr(ckpt, "_write_files", dying_write)
    trainer = Trainer(tiny(), cfg(steps=3, out_dir=str(tmp_path), save_every=1), data)
    with pytest.raises(OSError, match="simulated"):
        trainer.train()
    # a failed save removes its torn folder (a killed one cannot: test_bad_inputs' SIGKILL test)
    assert not (tmp_path / "checkpoints" / ".tmp-step-0000002").exists()
    folder, _, state, _ = ckpt.load_checkpoint(tmp_path)
    assert folder.name == "step-0000001" and state["step"] == 1
    MiniGPT.from_pretrained(folder)  # the checkpoint is a loadable Hugging Face folder

    monkeypatch.setattr(ckpt, "_write_files", real_write)
    again = Trainer(tiny(), cfg(steps=3, out_dir=str(tmp_path), save_every=1), data)
    again.resume()
    history = again.train()
    assert [m["loss"] for m in history] == [m["loss"] for m in reference]
    assert not list((tmp_path / "checkpoints").glob(".tmp-*"))


class Payload:
    """Unpickling this would create a file: the kind of object weights_only must refuse."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_checkpoint_loading_refuses_arbitrary_objects(tmp_path):
    trainer = Trainer(tiny(), cfg(steps=1, out_dir=str(tmp_path)), PackedDataset(stream(), 16))
    trainer.train()
    folder = ckpt.find_checkpoint(tmp_path)
    marker = tmp_path / "code-ran"
    torch.save({"optimizer": Payload(marker)}, folder / ckpt.TENSORS_NAME)
    with pytest.raises(ValueError, match="refused"):
        ckpt.load_checkpoint(folder)
    assert not marker.exists()


def test_fresh_run_refuses_to_overwrite_checkpoints(tmp_path):
    data = PackedDataset(stream(), 16)
    Trainer(tiny(), cfg(steps=1, out_dir=str(tmp_path)), data).train()
    with pytest.raises(FileExistsError, match="resume"):
        Trainer(tiny(), cfg(steps=1, out_dir=str(tmp_path)), data).train()
    Trainer(tiny(), cfg(steps=1, out_dir=str(tmp_path), overwrite=True), data).train()


# ---- precision, callbacks --------------------------------------------------------------------------


def test_bf16_autocast_on_cpu_and_fp16_needs_cuda():
    steps = []
    history = Trainer(tiny(), cfg(steps=2, dtype="bf16"), PackedDataset(stream(), 16), on_step=steps.append).train()
    assert len(steps) == 2 and all(math.isfinite(m["loss"]) for m in history)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="bf16"):
            Trainer(tiny(), cfg(dtype="fp16"))


def test_compile_path_runs(monkeypatch):
    # aot_eager traces the same graph as inductor without the slow C++ compilation.
    real = torch.compile
    monkeypatch.setattr(torch, "compile", lambda m, **kw: real(m, backend="aot_eager"))
    eager, compiled = tiny(), tiny()
    a = Trainer(eager, cfg(steps=2), PackedDataset(stream(), 16)).train()
    b = Trainer(compiled, cfg(steps=2, compile=True), PackedDataset(stream(), 16)).train()
    assert [m["loss"] for m in a] == pytest.approx([m["loss"] for m in b], abs=1e-5)


# ---- command line ----------------------------------------------------------------------------------


def test_cli_help_lists_every_option(capsys):
    from minigpt.cli.train import build_parser
    from minigpt.cli.train import main as train_main

    with pytest.raises(SystemExit):
        train_main(["--help"])
    text = capsys.readouterr().out
    for action in build_parser()._actions:
        for option in action.option_strings:
            assert option in text
        assert action.help


def test_cli_trains_resumes_and_exports(tmp_path, capsys):
    from minigpt.cli.export import main as export_main
    from minigpt.cli.train import main as train_main
    from minigpt.tokenizer import Tokenizer

    out = tmp_path / "run"
    options = {
        "data": "course",
        "corpus_bytes": 120_000,
        "vocab_size": 320,
        "preset": "tiny",
        "block_size": 32,
        "steps": 4,
        "batch_size": 4,
        "save_every": 2,
        "eval_every": 2,
        "eval_batches": 2,
        "dtype": "fp32",
        "progress": False,
        "out": str(out),
    }
    config_file = tmp_path / "options.json"
    config_file.write_text(json.dumps(options))
    assert train_main(["--config", str(config_file), "--steps", "2"]) == 0  # a flag wins over the file
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["steps"] == 2 and summary["status"] == "finished"
    assert summary["data"]["version"] and summary["data"]["sha256"] and summary["tokenizer"]["sha256"]
    assert summary["command"].startswith("python -m minigpt train --config")
    assert summary["final_val_loss"] is not None and summary["device"]

    assert train_main(["--config", str(config_file), "--resume"]) == 0  # continues to the file's 4 steps
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["steps"] == 4 and summary["resumed_from"].endswith("step-0000002")

    assert export_main(["--checkpoint", str(out), "--out", str(tmp_path / "hf"), "--dtype", "bf16"]) == 0
    model = MiniGPT.from_pretrained(tmp_path / "hf")
    tok = Tokenizer.from_file(tmp_path / "hf")
    assert model.config.vocab_size == 320 and tok.vocab_size <= 320
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["torch_dtype"] == "bfloat16"
    assert (tmp_path / "hf" / "tokenizer_config.json").is_file()
