"""Typed records of training: the run's definition, and what it hands to its callers (progress events, scores
and the final report)."""

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


@dataclass
class TrainConfig:
    """Everything that defines a run. Start from `model` (+ `pretrained`) to fine-tune, or from `config`
    (a JSON architecture) to train from scratch. `lr=None` picks 5e-4 from scratch, 1e-5 for fine-tuning.
    `patience=None` never stops early. `resume=True` continues from `out/checkpoints/last.pt`; raising
    `epochs` on resume stretches the rest of the learning-rate schedule."""

    pairs: Path
    out: Path
    model: str | None = None
    pretrained: str | None = None
    config: Path | None = None
    epochs: int = 10
    batch_size: int = 64
    lr: float | None = None
    weight_decay: float = 0.1
    warmup_fraction: float = 0.05
    freeze: tuple[str, ...] = ()
    train_only: str | None = None
    val_fraction: float = 0.1
    patience: int | None = 3
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    resume: bool = False
    threads: int | None = None
    eval_pairs: tuple[Path, ...] = ()
    image_cache_mb: int = 2048
    name: str | None = None
    notes: str | None = None
    command: str | None = None  # how the run was started, for the model card
    # Pairs left out, by where they are ("line 14"): those `anyseek align` flagged (`train --drop-misaligned`)
    drop: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # Accept what Python callers naturally write: str paths, a single tower name.
        self.pairs, self.out = Path(self.pairs), Path(self.out)
        self.config = Path(self.config) if self.config is not None else None
        self.freeze = (self.freeze,) if isinstance(self.freeze, str) else tuple(self.freeze)
        self.eval_pairs = tuple(Path(p) for p in self.eval_pairs)
        self.drop = frozenset(self.drop)
