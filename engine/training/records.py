"""Typed records that training hands to its callers: progress events, scores and the final report."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Recall:
    """Retrieval recall on one pool. Text→image: each caption queries every image; image→text: each
    image queries every distinct caption. A hit is any item of the query's group (see `Pair.group`)."""

    text_to_image_r1: float
    text_to_image_r5: float
    image_to_text_r1: float
    image_to_text_r5: float
    text_queries: int
    image_queries: int

    @property
    def mean_r1(self) -> float:
        return (self.text_to_image_r1 + self.image_to_text_r1) / 2


@dataclass(frozen=True)
class StepProgress:
    """Sent to `on_progress` after every optimiser step."""

    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based within the epoch
    steps_per_epoch: int
    global_step: int
    total_steps: int
    loss: float
    lr: float


@dataclass(frozen=True)
class EpochResult:
    """Sent to `on_progress` after each epoch's validation; epoch 0 scores the starting model."""

    epoch: int
    train_loss: float | None
    val_loss: float
    recall: Recall
    improved: bool
    seconds: float

    @staticmethod
    def from_dict(data: dict[str, Any]) -> EpochResult:
        return EpochResult(**{**data, "recall": Recall(**data["recall"])})


ProgressEvent = StepProgress | EpochResult


@dataclass
class TrainReport:
    """What a finished run produced. `model` holds the best weights (CPU, eval mode) for immediate use."""

    out_dir: Path
    epochs_run: int
    steps: int
    best_epoch: int
    stopped_early: bool
    initial: EpochResult
    best: EpochResult
    history: list[EpochResult]
    extra_eval: dict[str, Recall]
    seconds: float
    device: str
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        # Not dataclasses.asdict: it would deep-copy the model.
        return {
            "out_dir": str(self.out_dir),
            "epochs_run": self.epochs_run,
            "steps": self.steps,
            "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early,
            "initial": asdict(self.initial),
            "best": asdict(self.best),
            "history": [asdict(e) for e in self.history],
            "extra_eval": {name: asdict(r) for name, r in self.extra_eval.items()},
            "seconds": self.seconds,
            "device": self.device,
        }
