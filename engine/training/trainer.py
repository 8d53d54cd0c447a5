"""Contrastive training of an open_clip model on aligned pairs: `train_contrastive(TrainConfig(...))`.

One run: load and split the pairs, build the start model, then per epoch train, validate, checkpoint and
maybe stop early; finally reload the best epoch and export it (see export.py). Seeded and, on CPU, bitwise
reproducible, including across an interruption and `resume=True`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import torch

from anyseek.engine.errors import TrainingError
from anyseek.engine.training import checkpoint
from anyseek.engine.training.evaluate import pooled_loss, recall
from anyseek.engine.training.finish import finish_run
from anyseek.engine.training.loss import contrastive_loss, positive_mask
from anyseek.engine.training.models import apply_freezing, build_start, set_train_mode
from anyseek.engine.training.pairs import fingerprint, load_pairs, split_pairs
from anyseek.engine.training.records import EpochResult, ProgressEvent, StepProgress, TrainConfig, TrainReport
from anyseek.engine.training.run_state import RunContext, Split

log = logging.getLogger(__name__)

MAX_LOGIT_SCALE = math.log(100)  # CLIP's clamp: beyond it the softmax saturates and training stalls
MIN_IMPROVEMENT = 1e-4


def train_contrastive(config: TrainConfig, on_progress: Callable[[ProgressEvent], None] | None = None) -> TrainReport:
    """Train, validate each epoch, checkpoint to `out/checkpoints/`, export the best epoch to `out/`."""
    _check(config)
    device = _resolve_device(config.device)
    notify = on_progress or (lambda event: None)
    cuda = [device.index or 0] if device.type == "cuda" else []
    # fork_rng: seeding for this run must not change the caller's random streams.
    with _threads(config.threads), torch.random.fork_rng(devices=cuda):
        torch.manual_seed(config.seed)
        ctx = _prepare(config, device)
        _restore_or_start(ctx, notify)
        _epochs(ctx, notify)
        return finish_run(ctx)


def _check(config: TrainConfig) -> None:
    if config.epochs < 1:
        raise TrainingError(f"epochs must be at least 1, got {config.epochs}")
    if config.batch_size < 2:
        raise TrainingError(f"a contrastive batch needs at least 2 pairs, got batch size {config.batch_size}")
    if config.lr is not None and config.lr <= 0:
        raise TrainingError(f"learning rate must be positive, got {config.lr}")
    if config.patience is not None and config.patience < 1:
        raise TrainingError(f"patience must be at least 1 (or None to disable), got {config.patience}")


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError("CUDA was requested but no CUDA device is available; use --device cpu")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise TrainingError(f"unknown device {name!r}; use auto, cpu or cuda") from exc


@contextlib.contextmanager
def _threads(n: int | None) -> Iterator[None]:
    previous = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _prepare(config: TrainConfig, device: torch.device) -> RunContext:
    pairs = [pair for pair in load_pairs(config.pairs) if pair.where not in config.drop]
    train_pairs, val_pairs = split_pairs(pairs, config.val_fraction, config.seed)
    start = build_start(config.model, config.pretrained, config.config)
    model = start.model.to(device)
    trainable = apply_freezing(model, config.freeze, config.train_only)
    cache = config.image_cache_mb << 20
    train = Split.make(train_pairs, start.preprocess, start.tokenizer, cache)
    val = Split.make(val_pairs, start.preprocess, start.tokenizer, cache)
    steps_per_epoch = max(1, len(train_pairs) // config.batch_size)
    lr = config.lr or (5e-4 if start.from_scratch else 1e-5)
    ctx = RunContext(
        config=config,
        device=device,
        start=start,
        model=model,
        trainable=trainable,
        all_pairs=pairs,
        train=train,
        val=val,
        fingerprint=fingerprint(pairs),
        steps_per_epoch=steps_per_epoch,
        total_steps=steps_per_epoch * config.epochs,
        lr=lr,
        optimizer=_optimizer(model, lr, config.weight_decay),
    )
    ctx.setup_amp()
    return ctx


def _optimizer(model: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    # CLIP's recipe: no decay on gains, biases, embeddings and the logit scale.
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.requires_grad:
            plain = param.ndim < 2 or "embedding" in name or "logit_" in name
            (no_decay if plain else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr)


def _restore_or_start(ctx: RunContext, notify: Callable[[ProgressEvent], None]) -> None:
    last = checkpoint.last_path(ctx.config.out)
    if last.exists() and not ctx.config.resume:
        raise TrainingError(
            f"{ctx.config.out} already holds a training run; pass --resume to continue it or choose another --out"
        )
    if last.exists():
        ctx.restore(checkpoint.load(last))
        log.info("resuming after epoch %d of %s", ctx.epoch, last)
        return
    if ctx.config.resume:
        log.info("no checkpoint in %s; starting a new run", ctx.config.out)
    ctx.initial = _validate(ctx, epoch=0, train_loss=None)
    notify(ctx.initial)


def _epochs(ctx: RunContext, notify: Callable[[ProgressEvent], None]) -> None:
    while ctx.epoch < ctx.config.epochs and not ctx.stopped_early:
        started = time.monotonic()
        ctx.epoch += 1
        train_loss = _train_epoch(ctx, notify)
        result = _validate(ctx, ctx.epoch, train_loss)
        result = replace(result, seconds=time.monotonic() - started)
        ctx.record(result)
        ctx.seconds += result.seconds
        patience_lost = ctx.config.patience is not None and ctx.bad_epochs >= ctx.config.patience
        if patience_lost and ctx.epoch < ctx.config.epochs:
            ctx.stopped_early = True
            log.info("stopping early: no improvement for %d epochs", ctx.bad_epochs)
        ctx.save()
        notify(result)


def _train_epoch(ctx: RunContext, notify: Callable[[ProgressEvent], None]) -> float:
    set_train_mode(ctx.model, ctx.config.freeze)
    # The order depends only on (seed, epoch), so a resumed run sees the same batches as an unbroken one.
    generator = torch.Generator().manual_seed(ctx.config.seed * 100_003 + ctx.epoch)
    order = torch.randperm(len(ctx.train.index.pair_image), generator=generator)
    batch, losses = ctx.config.batch_size, []
    for step in range(ctx.steps_per_epoch):
        rows = order[step * batch : (step + 1) * batch]
        lr = _lr_at(ctx, ctx.global_step)
        losses.append(_step(ctx, rows, lr))
        ctx.global_step += 1
        notify(
            StepProgress(
                epoch=ctx.epoch,
                epochs=ctx.config.epochs,
                step=step + 1,
                steps_per_epoch=ctx.steps_per_epoch,
                global_step=ctx.global_step,
                total_steps=ctx.total_steps,
                loss=losses[-1],
                lr=lr,
            )
        )
    return sum(losses) / len(losses)


def _lr_at(ctx: RunContext, step: int) -> float:
    """Linear warm-up, then cosine decay to zero over the planned steps."""
    warmup = ctx.warmup_steps
    if step < warmup:
        return ctx.lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, ctx.total_steps - warmup)
    return ctx.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _step(ctx: RunContext, rows: torch.Tensor, lr: float) -> float:
    index, model = ctx.train.index, ctx.model
    images = ctx.train.bank.load(index.pair_image[rows].tolist()).to(ctx.device, non_blocking=True)
    tokens = ctx.train.tokens[index.pair_text[rows]].to(ctx.device, non_blocking=True)
    mask = positive_mask(index.pair_group[rows].tolist(), index.pair_image[rows].tolist())
    for group in ctx.optimizer.param_groups:
        group["lr"] = lr
    with ctx.autocast():
        image_features = model.encode_image(images, normalize=True)
        text_features = model.encode_text(tokens, normalize=True)
        loss = contrastive_loss(image_features, text_features, model.logit_scale.exp(), mask)
    ctx.optimizer.zero_grad(set_to_none=True)
    ctx.scaler.scale(loss).backward()
    ctx.scaler.step(ctx.optimizer)
    ctx.scaler.update()
    with torch.no_grad():
        model.logit_scale.clamp_(0, MAX_LOGIT_SCALE)
    return float(loss.detach())


def _validate(ctx: RunContext, epoch: int, train_loss: float | None) -> EpochResult:
    image_features, text_features = ctx.encode(ctx.val)
    scale = ctx.model.logit_scale.exp()
    val_loss = pooled_loss(image_features, text_features, ctx.val.index, scale, ctx.config.batch_size)
    scores = recall(image_features, text_features, ctx.val.index)
    improved = epoch > 0 and (ctx.best is None or val_loss < ctx.best.val_loss - MIN_IMPROVEMENT)
    return EpochResult(epoch, train_loss, val_loss, scores, improved, seconds=0.0)
