"""Contrastive training of joint image–text models (`anyseek train`).

    from anyseek.engine.training import TrainConfig, train_contrastive
    report = train_contrastive(TrainConfig(pairs=Path("pairs.csv"), out=Path("model"), config=Path("arch.json")))

The output folder is an open_clip `local-dir:` model (see export.py).
"""

from anyseek.engine.training.export import export_model, load_exported
from anyseek.engine.training.loss import contrastive_loss, positive_mask
from anyseek.engine.training.pairs import Pair, load_pairs, split_pairs
from anyseek.engine.training.records import EpochResult, ProgressEvent, Recall, StepProgress, TrainConfig, TrainReport
from anyseek.engine.training.trainer import train_contrastive

__all__ = [
    "EpochResult",
    "Pair",
    "ProgressEvent",
    "Recall",
    "StepProgress",
    "TrainConfig",
    "TrainReport",
    "contrastive_loss",
    "export_model",
    "load_exported",
    "load_pairs",
    "positive_mask",
    "split_pairs",
    "train_contrastive",
]
