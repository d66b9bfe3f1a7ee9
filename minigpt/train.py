"""The trainer: the whole recipe, from a notebook cell to `torchrun`. One file over 400 lines, the
Trainer class: a step's parts (accumulation, loss normalisation, DDP synchronisation, clipping,
the schedule, the non-finite guard) and exact resume share its state, and a reader follows one
step through them. What is not the trainer's state lives beside it: its options (TrainConfig,
minigpt/train_config.py), the optimizer's two groups (minigpt/optim.py), the checkpoint files
(minigpt/checkpoint.py), the run folder and its one writer (minigpt/runfolder.py), the command
line (minigpt/cli/train.py).

    for each step:
        fetch k micro-batches (this process's share of the step's windows)
        N = target tokens in them, summed over every micro-batch and every process
        for each micro-batch:  backward( sum of cross-entropy over its targets / N )
                               (DDP: gradients are averaged across processes only after the last one)
        clip the gradient to a global norm, record the norm before clipping
        set the learning rate from the schedule, AdamW step

Why divide by N, the count over the whole step, and not average each micro-batch? Because the
big batch's loss is the mean over *all* its target tokens. With loss masks (padding, prompts
that are not learned) micro-batches hold different numbers of targets, and "mean of means"
weights a token of a sparse micro-batch more than one of a full micro-batch. Summing and
dividing once makes k micro-batches on p processes give exactly the big batch's gradient
(tests/library/test_train.py checks it to 1e-6, and that the naive version does not).

Everything a chapter plots is in `trainer.history`, a list of dicts (kind "train" per step,
"eval" per evaluation), also written to `out_dir/metrics.jsonl`.

    trainer = Trainer(model, TrainConfig(steps=300, lr=3e-3), train_data, val_data, on_step=show)
    trainer.train()                 # or trainer.train(steps=100) to run 100 more, look, continue

    def show(m):                    # a live loss plot in a notebook
        if m["step"] % 20 == 0:
            train = [h for h in trainer.history if h["kind"] == "train"]
            IPython.display.clear_output(wait=True)
            plt.plot([h["step"] for h in train], [h["loss"] for h in train]); plt.show()
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.utils.data import DataLoader

from .checkpoint import CHECKPOINTS, load_checkpoint, load_weights, save_checkpoint
from .counting import flops_per_token
from .data.datasets import ResumableSampler, collate, target_key
from .devices import grad_scaler, resolve_device, resolve_dtype, setup_distributed
from .hf_format import check_tokenizer_sha256
from .loss import IGNORE_INDEX, cross_entropy, shift_labels
from .model import MiniGPT
from .optim import make_optimizer, weight_decay_split
from .runfolder import check_fresh_start, hold_run_folder, open_metrics_log
from .train_config import TrainConfig

__all__ = ["NonFiniteError", "TrainConfig", "Trainer", "weight_decay_split"]


class NonFiniteError(RuntimeError):
    """The loss or the gradient stopped being a finite number; the weights were not updated."""


class _LossSum(nn.Module):
    """model + the loss as a SUM of cross-entropy over the target tokens, in fp32.

    One module, so torch.compile and DDP see the loss together with the model."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, targets, attention_mask=None):
        logits = self.model(input_ids, attention_mask=attention_mask).logits
        return cross_entropy(logits, targets, reduction="sum")


def _with_targets(batch) -> dict[str, torch.Tensor]:
    """{"input_ids", "targets"[, "attention_mask"]}: from (x, y) windows, from dicts with targets
    (already shifted), or from dicts with Hugging Face labels (shifted here, as transformers does)."""
    if not isinstance(batch, dict):
        return {"input_ids": batch[0], "targets": batch[1]}
    if target_key(batch) == "targets":
        return batch
    out = {k: v for k, v in batch.items() if k != "labels"}
    out["targets"] = shift_labels(batch["labels"])
    return out


# ---- the trainer -------------------------------------------------------------------------------


class Trainer:
    """Train `model` on `train_data` (a Dataset of (x, y) windows or of {"input_ids", "targets"}
    dicts, e.g. minigpt.data.PackedDataset / SFTDataset; dicts with Hugging Face "labels" instead
    of "targets" are shifted first, as transformers does), evaluating on `val_data`.

    on_step(metrics) / on_eval(metrics): called after every step / evaluation, on every process
    (check `trainer.is_main` before drawing). `tokenizer` is saved into checkpoints;
    `run_info` (any JSON) is recorded in them."""

    def __init__(
        self,
        model: MiniGPT,
        config: TrainConfig | None = None,
        train_data=None,
        val_data=None,
        *,
        collate_fn: Callable | None = None,
        tokenizer=None,
        run_info: dict | None = None,
        on_step: Callable[[dict], None] | None = None,
        on_eval: Callable[[dict], None] | None = None,
    ):
        self.config = c = config or TrainConfig()
        self.rank, self.world_size, self.local_rank = setup_distributed(c.device)
        self.is_main = self.rank == 0
        self.device = resolve_device(c.device, self.local_rank)
        self.dtype = resolve_dtype(c.dtype, self.device)
        if self.device.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True  # fp32 matmuls on tensor cores (Ampere+)
            torch.backends.cudnn.allow_tf32 = True
        torch.manual_seed(c.seed + self.rank)  # dropout differs per process; data order is the sampler's
        self.model = model.to(self.device).train()
        self.train_data, self.val_data = train_data, val_data
        self.collate_fn = collate_fn or collate
        self.tokenizer, self.run_info = tokenizer, run_info or {}
        self.on_step, self.on_eval = on_step, on_eval
        self.optimizer = make_optimizer(self.model, c, self.device)
        self.schedule = c.schedule_fn()
        # fp16 overflows where bf16 does not: scale the loss up, unscale the gradient, skip the
        # update when it overflowed anyway. bf16 has fp32's exponent range and needs none of this.
        self.scaler = grad_scaler() if self.dtype == torch.float16 else None
        self.loss_module = _LossSum(self.model)
        self._compiled = torch.compile(self.loss_module) if c.compile else self.loss_module
        self._train_module = self._compiled
        self._ddp = None
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            self._train_module = self._ddp = DDP(self._compiled, device_ids=ids)
        self.step = 0  # optimizer updates done
        self.samples = 0  # training windows consumed, all processes together: the data position
        self.tokens_seen = 0
        self.elapsed = 0.0  # seconds of training, summed over resumed runs
        self.history: list[dict] = []
        self.last_checkpoint: Path | None = None
        self._skips = 0

    # ---- one step ------------------------------------------------------------------------------

    def _autocast(self):
        if self.dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def _sum_over_processes(self, values: list[float]) -> list[float]:
        if self.world_size == 1:
            return values
        on = self.device if dist.get_backend() == "nccl" else "cpu"
        t = torch.tensor(values, dtype=torch.float64, device=on)
        dist.all_reduce(t)
        return t.tolist()

    def compute_gradients(self, micro_batches: list) -> tuple[torch.Tensor, int, int]:
        """Forward + backward over one step's micro-batches. Leaves in .grad the gradient of
        (sum of CE over every target token of the step, all processes) / (their count N).
        Returns (that CE sum over all processes, N, input tokens over all processes)."""
        batches = [_with_targets(b) for b in micro_batches]
        targets = sum(int((b["targets"] != IGNORE_INDEX).sum()) for b in batches)
        tokens = sum(
            int(b["attention_mask"].sum()) if "attention_mask" in b else b["input_ids"].numel() for b in batches
        )
        targets, tokens = (int(v) for v in self._sum_over_processes([targets, tokens]))
        if targets == 0:
            raise ValueError(f"Step {self.step + 1} has no target tokens (every target is -100): check the loss masks.")
        # DDP averages gradients over processes; multiplying by world_size turns that into a sum.
        scale = self.world_size / targets
        loss_sum = torch.zeros((), device=self.device)
        for j, batch in enumerate(batches):
            batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
            last = j == len(batches) - 1
            # Gradients travel between processes once per step, after the last micro-batch.
            sync = self._ddp.no_sync() if self._ddp is not None and not last else contextlib.nullcontext()
            with sync:
                with self._autocast():
                    s = self._train_module(**batch)
                scaled = s * scale
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            loss_sum += s.detach()
        if self.world_size > 1:
            dist.all_reduce(loss_sum)
        return loss_sum, targets, tokens

    def train_step(self, micro_batches: list, started: float | None = None) -> dict:
        """One optimizer update from this process's micro-batches; returns the step's metrics.
        `started`: time.perf_counter() before the batches were fetched, to count loading time too."""
        c, start = self.config, started or time.perf_counter()
        loss_sum, targets, tokens = self.compute_gradients(micro_batches)
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        # The norm before clipping is what clip_grad_norm_ returns; max_norm=inf records it without clipping.
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip if c.grad_clip > 0 else math.inf)
        loss, norm = torch.stack([loss_sum / targets, norm.float().to(loss_sum.device)]).tolist()  # one sync
        lr = self.schedule(self.step)
        skipped = self._check_finite(loss, norm, lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        if self.scaler:
            self.scaler.step(self.optimizer)  # skips the update itself when the gradient overflowed
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

        self.step += 1
        self.samples += c.batch_size * c.grad_accum * self.world_size
        self.tokens_seen += tokens
        seconds = time.perf_counter() - start
        self.elapsed += seconds
        m = {
            "kind": "train",
            "step": self.step,
            "loss": loss,
            "lr": lr,
            "grad_norm": norm,
            "clipped": bool(c.grad_clip > 0 and norm > c.grad_clip),
            "target_tokens": targets,
            "tokens": self.tokens_seen,
            "tokens_per_s": tokens / seconds,
            "step_s": seconds,
            "elapsed_s": self.elapsed,
        }
        if c.peak_tflops:
            seq = _with_targets(micro_batches[0])["input_ids"].shape[1]
            flops = flops_per_token(self.model.config, context=seq, training=True) * tokens / seconds
            m["mfu"] = flops / (c.peak_tflops * 1e12)
        if self.scaler:
            m["loss_scale"], m["skipped"] = self.scaler.get_scale(), skipped
        return m

    def _check_finite(self, loss: float, norm: float, lr: float) -> bool:
        """Stop on a non-finite loss or gradient; with fp16, an overflowed gradient is a skipped
        step (the scaler lowers its scale), and only many in a row stop the run."""
        step, c = self.step + 1, self.config
        clip = (
            f"a smaller grad_clip (now {c.grad_clip})"
            if c.grad_clip > 0
            else "gradient clipping (grad_clip=1.0; now off)"
        )
        advice = (
            f"The learning rate was {lr:.3g}. Things to try: a lower learning rate (e.g. {lr / 3:.2g}); "
            f"{clip}; a longer warmup; bf16 instead of fp16 (same memory, far larger range; now "
            f"{str(self.dtype).replace('torch.', '')}); and checking the data for "
            f"empty or corrupt batches. Last checkpoint: {self.last_checkpoint or 'none'}."
        )
        if not math.isfinite(loss):
            self.optimizer.zero_grad(set_to_none=True)
            raise NonFiniteError(
                f"Step {step}: the training loss is {loss}, not a finite number. Training "
                f"stopped before this update could damage the weights. {advice}"
            )
        if math.isfinite(norm):
            self._skips = 0
            return False
        if self.scaler is not None and self._skips < 20:
            self._skips += 1
            return True
        self.optimizer.zero_grad(set_to_none=True)
        raise NonFiniteError(
            f"Step {step}: the gradient norm is {norm} while the loss is {loss:.4g}: some "
            f"gradient overflowed. Training stopped before this update could damage the "
            f"weights. {advice}"
        )

    # ---- data ----------------------------------------------------------------------------------

    def _train_batches(self):
        c = self.config
        assert self.train_data is not None  # train() checks it
        # Rank r takes positions r, r + w, ... of one seeded order; starting at the position already
        # consumed is all it takes to resume without replaying or skipping a window.
        sampler = ResumableSampler(
            len(self.train_data),
            seed=c.seed,
            start=self.samples // self.world_size,
            shuffle=c.shuffle,
            rank=self.rank,
            world_size=self.world_size,
        )
        # Its own generator: a DataLoader otherwise draws a worker seed from the global RNG when
        # it starts, which would shift the dropout masks of a resumed run.
        return iter(
            DataLoader(
                self.train_data,
                batch_size=c.batch_size,
                sampler=sampler,
                drop_last=True,
                collate_fn=self.collate_fn,
                num_workers=c.num_workers,
                pin_memory=self.device.type == "cuda",
                generator=torch.Generator().manual_seed(c.seed),
            )
        )

    @torch.no_grad()
    def evaluate(self) -> float:
        """Mean loss per target token over a fixed held-out set (evenly spaced items of val_data,
        eval_batches x batch_size of them), split across processes, identical for any count of them."""
        if self.val_data is None:
            raise ValueError("Trainer.evaluate() needs val_data (a Dataset of held-out windows or examples).")
        c, n = self.config, len(self.val_data)
        m = min(n, c.eval_batches * c.batch_size)
        picks = sorted({round(i * (n - 1) / max(m - 1, 1)) for i in range(m)})[self.rank :: self.world_size]
        self.model.eval()
        total = [0.0, 0.0]
        for i in range(0, len(picks), c.batch_size):
            batch = _with_targets(self.collate_fn([self.val_data[k] for k in picks[i : i + c.batch_size]]))
            batch = {k: v.to(self.device) for k, v in batch.items()}
            with self._autocast():
                s = self.loss_module(**batch)  # eager: no second compilation for the no-grad graph
            total[0] += s.item()
            total[1] += int((batch["targets"] != IGNORE_INDEX).sum())
        self.model.train()
        loss_sum, count = self._sum_over_processes(total)
        return loss_sum / max(count, 1)

    # ---- the loop ------------------------------------------------------------------------------

    def train(self, steps: int | None = None) -> list[dict]:
        """Train until config.steps, or for `steps` more updates; returns the metrics history.
        With an out_dir, the folder is held for the whole call (minigpt.runfolder): a second
        process training into it meanwhile is refused."""
        c = self.config
        end = c.steps if steps is None else min(c.steps, self.step + steps)
        if self.train_data is None:
            raise ValueError("Trainer has no train_data.")
        if self.step >= end:
            return self.history
        holding = hold_run_folder(c.out_dir) if c.out_dir and self.is_main else contextlib.nullcontext()
        with holding:
            if c.out_dir and self.step == 0:  # a fresh run: refuse to bury an old one, or delete it (overwrite)
                if self.is_main:
                    check_fresh_start(c.out_dir, c.overwrite)
                self._barrier()
            self._train_until(end)
        return self.history

    def _train_until(self, end: int) -> None:
        c = self.config
        from tqdm.auto import tqdm

        bar = tqdm(
            total=c.steps,
            initial=self.step,
            desc="train",
            unit="step",
            dynamic_ncols=True,
            disable=not (c.progress and self.is_main),
        )
        log = open_metrics_log(c.out_dir, self.history) if c.out_dir and self.is_main else None
        batches = self._train_batches()
        saved_at = None
        try:
            while self.step < end:
                started = time.perf_counter()
                m = self.train_step([next(batches) for _ in range(c.grad_accum)], started)
                self._record(m, log)
                bar.update(1)
                bar.set_postfix(
                    loss=f"{m['loss']:.4f}", lr=f"{m['lr']:.2e}", tok_s=f"{m['tokens_per_s']:,.0f}", refresh=False
                )
                if self.on_step:
                    self.on_step(m)
                if self.val_data is not None and (
                    (c.eval_every and self.step % c.eval_every == 0) or self.step == c.steps
                ):
                    e = {
                        "kind": "eval",
                        "step": self.step,
                        "val_loss": self.evaluate(),
                        "tokens": self.tokens_seen,
                        "elapsed_s": self.elapsed,
                    }
                    self._record(e, log)
                    bar.set_postfix(
                        loss=f"{m['loss']:.4f}",
                        val=f"{e['val_loss']:.4f}",
                        lr=f"{m['lr']:.2e}",
                        tok_s=f"{m['tokens_per_s']:,.0f}",
                    )
                    if self.on_eval:
                        self.on_eval(e)
                if c.out_dir and c.save_every and self.step % c.save_every == 0:
                    self.save_checkpoint()
                    saved_at = self.step
        finally:
            bar.close()
            if log:
                log.close()
        if c.out_dir and self.step == c.steps and saved_at != self.step:
            self.save_checkpoint()  # the end of the run (a partial train(steps=...) saves by save_every only)

    def _record(self, metrics: dict, log) -> None:
        self.history.append(metrics)
        if log:
            log.write(json.dumps(metrics) + "\n")
            log.flush()  # a crash keeps every line written so far

    def _barrier(self) -> None:
        if self.world_size > 1:
            dist.barrier()

    # ---- checkpoints ---------------------------------------------------------------------------

    def state(self) -> dict:
        """Everything but tensors that a resumed run needs (JSON)."""
        return {
            "format": "minigpt-trainer-1",
            "step": self.step,
            "samples": self.samples,
            "tokens_seen": self.tokens_seen,
            "elapsed_s": self.elapsed,
            "world_size": self.world_size,
            "train_config": self.config.to_dict(),
            "train_data": _describe_data(self.train_data),
            "model_config": self.model.config.to_dict(),
            "schedule": self.schedule.to_dict(),
            "tokenizer_sha256": getattr(self.tokenizer, "sha256", None),
            "run_info": self.run_info,
            "history": self.history,
        }

    def save_checkpoint(self) -> Path | None:
        """Write out_dir/checkpoints/step-N (on the main process; all processes must call it)."""
        if self.config.out_dir is None:
            raise ValueError("save_checkpoint() needs TrainConfig.out_dir, the run folder to write into.")
        root = Path(self.config.out_dir) / CHECKPOINTS
        rng = {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(self.device)
            if self.device.type == "cuda"
            else torch.empty(0, dtype=torch.uint8),
        }
        rngs = [rng]
        if self.world_size > 1:
            rngs = [None] * self.world_size
            dist.all_gather_object(rngs, rng)
        path = None
        if self.is_main:
            with hold_run_folder(self.config.out_dir):  # already held inside train(): then a no-op
                path = self._write_checkpoint(root, rngs)
        self._barrier()
        self.last_checkpoint = path or root / f"step-{self.step:07d}"
        return path

    def _write_checkpoint(self, root: Path, rngs: list) -> Path:
        tensors = {
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler else {},
            "rng": rngs,
        }
        keep = self.config.keep_checkpoints
        return save_checkpoint(root, self.step, self.model, self.state(), tensors, self.tokenizer, keep=keep)

    def resume(self, path=None) -> Path:
        """Continue from a checkpoint folder, or the newest under a run folder (default out_dir).

        Refused: a checkpoint of another tokenizer, or one already past config.steps (steps counts
        the whole run). Resumed with a note: settings that change which window a step trains on
        or its learning rate (TrainConfig.EXACT, the training data's size, the process count)."""
        c = self.config
        path = path or c.out_dir
        if path is None:
            raise ValueError("resume() needs a checkpoint path or TrainConfig.out_dir.")
        if c.overwrite:
            raise ValueError(
                "resume() continues the run in out_dir, overwrite=True deletes it and starts over: set one of them."
            )
        folder, weights, state, tensors = load_checkpoint(path)
        check_tokenizer_sha256(
            folder,
            self.tokenizer,
            "this run's tokenizer",
            f"Resume with the run's own tokenizer ({folder / 'tokenizer.json'}), or start a new run (another --out) "
            f"for the new tokenizer.",
        )
        if state["step"] > c.steps:
            raise ValueError(
                f"{folder} is at step {state['step']}, past TrainConfig.steps={c.steps}: steps counts the whole run, "
                f"not the steps to add. Pass steps above {state['step']} to train longer."
            )
        load_weights(self.model, weights)
        self.optimizer.load_state_dict(tensors["optimizer"])
        if self.scaler and tensors.get("scaler"):
            self.scaler.load_state_dict(tensors["scaler"])
        self.step, self.samples = state["step"], state["samples"]
        self.tokens_seen, self.elapsed, self.history = state["tokens_seen"], state["elapsed_s"], state["history"]
        self.last_checkpoint = folder
        changed = c.changed_from(state["train_config"])
        recorded_data, data = state.get("train_data"), _describe_data(self.train_data)
        if recorded_data and data and recorded_data != data:
            changed.append(f"training data ({_data_change(recorded_data, data)}: the data position counts windows)")
        if state["world_size"] == self.world_size:
            rng = tensors["rng"][self.rank]
            torch.set_rng_state(rng["torch"])
            if self.device.type == "cuda" and rng["cuda"].numel():
                torch.cuda.set_rng_state(rng["cuda"], self.device)
        else:
            changed.append("world_size")
        if changed and self.is_main:
            print(
                f"note: resuming {folder} with changed {', '.join(changed)}: training continues, but not "
                f"exactly as the original run would have."
            )
        return folder


def _describe_data(data) -> dict | None:
    """What a checkpoint records about the training data: its number of items, and the window
    shape of a PackedDataset (a step's data position counts items, so both must stay)."""
    if data is None:
        return None
    described = {"items": len(data)}
    for key in ("block_size", "stride"):
        if isinstance(getattr(data, key, None), int):
            described[key] = getattr(data, key)
    return described


def _data_change(old: dict, new: dict) -> str:
    return ", ".join(
        f"{k} {old.get(k)} -> {new.get(k)}" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    )
