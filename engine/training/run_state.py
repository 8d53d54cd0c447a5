"""The mutable state of one training run, and how it is saved to and restored from a checkpoint."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from anyseek.engine.errors import TrainingError
from anyseek.engine.training import checkpoint
from anyseek.engine.training.data import ImageBank, tokenize
from anyseek.engine.training.evaluate import PairIndex, encode_pool
from anyseek.engine.training.models import StartPoint
from anyseek.engine.training.pairs import Pair
from anyseek.engine.training.records import EpochResult, TrainConfig


@dataclass
class Split:
    """A set of pairs ready for the model: ids, images by index, and token ids by distinct caption."""

    pairs: list[Pair]
    index: PairIndex
    bank: ImageBank
    tokens: torch.Tensor

    @staticmethod
    def make(pairs: list[Pair], preprocess: Callable, tokenizer: Callable, cache_bytes: int) -> Split:
        index = PairIndex.build(pairs)
        return Split(pairs, index, ImageBank(index.images, preprocess, cache_bytes), tokenize(tokenizer, index.texts))


@dataclass
class RunContext:
    config: TrainConfig
    device: torch.device
    start: StartPoint
    model: torch.nn.Module
    trainable: list[str]
    all_pairs: list[Pair]
    train: Split
    val: Split
    fingerprint: str
    steps_per_epoch: int
    total_steps: int
    lr: float
    optimizer: torch.optim.Optimizer
    amp_dtype: torch.dtype | None = None
    scaler: torch.amp.GradScaler | None = None
    epoch: int = 0
    global_step: int = 0
    initial: EpochResult | None = None
    best: EpochResult | None = None
    history: list[EpochResult] = field(default_factory=list)
    bad_epochs: int = 0
    stopped_early: bool = False
    seconds: float = 0.0

    def setup_amp(self) -> None:
        """Mixed precision on CUDA only: bf16 where the GPU has it (no loss scaling needed), else fp16."""
        if self.device.type == "cuda" and self.config.amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp_dtype == torch.float16)

    def autocast(self) -> AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    @property
    def warmup_steps(self) -> int:
        return max(1, round(self.total_steps * self.config.warmup_fraction)) if self.config.warmup_fraction else 0

    def encode(self, split: Split) -> tuple[torch.Tensor, torch.Tensor]:
        batch = max(self.config.batch_size, 256)
        return encode_pool(self.model, split.bank, split.tokens, self.device, self.autocast, batch)

    def record(self, result: EpochResult) -> None:
        self.history.append(result)
        if result.improved:
            self.best, self.bad_epochs = result, 0
            checkpoint.save(
                checkpoint.best_path(self.config.out), {"model": self.model.state_dict(), "epoch": result.epoch}
            )
        else:
            self.bad_epochs += 1

    def save(self) -> None:
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler else {},
            "torch_rng": torch.get_rng_state(),
            "fingerprint": self.fingerprint,
            "model_cfg": json.dumps(self.start.model_cfg, sort_keys=True),
            "epoch": self.epoch,
            "global_step": self.global_step,
            "initial": asdict(self.initial) if self.initial else None,
            "best_epoch": self.best.epoch if self.best else None,
            "history": [asdict(e) for e in self.history],
            "bad_epochs": self.bad_epochs,
            "stopped_early": self.stopped_early,
            "seconds": self.seconds,
        }
        checkpoint.save(checkpoint.last_path(self.config.out), state)

    def restore(self, state: dict[str, Any]) -> None:
        if state["fingerprint"] != self.fingerprint:
            raise TrainingError("the checkpoint was trained on other pairs; drop --resume or choose another --out")
        if state["model_cfg"] != json.dumps(self.start.model_cfg, sort_keys=True):
            raise TrainingError("the checkpoint has another architecture; drop --resume or choose another --out")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.scaler and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["torch_rng"])
        self.epoch, self.global_step = state["epoch"], state["global_step"]
        self.history = [EpochResult.from_dict(e) for e in state["history"]]
        self.initial = EpochResult.from_dict(state["initial"]) if state["initial"] else None
        self.best = next((e for e in self.history if e.epoch == state["best_epoch"]), None)
        self.bad_epochs, self.stopped_early, self.seconds = (
            state["bad_epochs"],
            state["stopped_early"],
            state["seconds"],
        )
