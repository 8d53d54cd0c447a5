"""The end of a run: reload the best epoch, score the extra evaluation sets, export, report."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import open_clip
import torch

from anyseek.engine.training import checkpoint
from anyseek.engine.training.evaluate import recall
from anyseek.engine.training.export import export_model
from anyseek.engine.training.pairs import load_pairs
from anyseek.engine.training.records import Recall, TrainReport
from anyseek.engine.training.run_state import RunContext, Split


def finish_run(ctx: RunContext) -> TrainReport:
    best = checkpoint.best_path(ctx.config.out)
    if best.exists():
        ctx.model.load_state_dict(checkpoint.load(best)["model"])
    ctx.model.eval()
    extra = extra_evaluations(ctx)
    export_model(ctx.model, ctx.start.model_cfg, ctx.config.out, metadata(ctx, extra), ctx.start.tokenizer)
    assert ctx.initial is not None and ctx.best is not None  # set by the first epoch
    return TrainReport(
        out_dir=ctx.config.out,
        epochs_run=ctx.epoch,
        steps=ctx.global_step,
        best_epoch=ctx.best.epoch,
        stopped_early=ctx.stopped_early,
        initial=ctx.initial,
        best=ctx.best,
        history=list(ctx.history),
        extra_eval=extra,
        seconds=ctx.seconds,
        device=str(ctx.device),
        model=ctx.model.cpu(),
    )


def extra_evaluations(ctx: RunContext) -> dict[str, Recall]:
    """Recall for each extra pairs file, with the validation images and captions as distractors: an
    unseen combination must beat every seen one, not only its fellow unseen ones."""
    results: dict[str, Recall] = {}
    for path in ctx.config.eval_pairs:
        extra = load_pairs(Path(path))
        pool = ctx.val.pairs + extra
        split = Split.make(pool, ctx.start.preprocess, ctx.start.tokenizer, ctx.config.image_cache_mb << 20)
        queries = torch.zeros(len(pool), dtype=torch.bool)
        queries[len(ctx.val.pairs) :] = True
        image_features, text_features = ctx.encode(split)
        name = Path(path).stem if Path(path).stem not in results else str(path)
        results[name] = recall(image_features, text_features, split.index, queries)
    return results


def metadata(ctx: RunContext, extra: dict[str, Recall]) -> dict[str, Any]:
    """training.json: what was trained on what, how, and how well."""
    from dataclasses import asdict

    config, model = ctx.config, ctx.model
    vision = ctx.start.model_cfg["vision_cfg"]
    return {
        "format": "anyseek-training/1",
        "name": config.name,
        "model": {
            "start": ctx.start.description,
            "parameters": sum(p.numel() for p in model.parameters()),
            "trainable_parameters": sum(p.numel() for n, p in model.named_parameters() if n in set(ctx.trainable)),
            "embed_dim": ctx.start.model_cfg["embed_dim"],
            "image_size": vision.get("image_size"),
            "context_length": ctx.start.model_cfg["text_cfg"].get("context_length", 77),
        },
        "data": {
            "pairs": str(config.pairs),
            "fingerprint": ctx.fingerprint,
            "pairs_total": len(ctx.all_pairs),
            "dropped_misaligned": sorted(config.drop),
            "train_pairs": len(ctx.train.pairs),
            "val_pairs": len(ctx.val.pairs),
            "val_fraction": config.val_fraction,
            "distinct_captions": len({p.text for p in ctx.all_pairs}),
            "groups": len({p.key for p in ctx.all_pairs}),
        },
        "training": {
            "epochs_planned": config.epochs,
            "epochs_run": ctx.epoch,
            "steps": ctx.global_step,
            "batch_size": config.batch_size,
            "lr": ctx.lr,
            "warmup_steps": ctx.warmup_steps,
            "weight_decay": config.weight_decay,
            "freeze": list(config.freeze),
            "train_only": config.train_only,
            "seed": config.seed,
            "device": str(ctx.device),
            "device_name": torch.cuda.get_device_name(ctx.device) if ctx.device.type == "cuda" else None,
            "amp": str(ctx.amp_dtype).removeprefix("torch.") if ctx.amp_dtype else None,
            "seconds": round(ctx.seconds, 1),
            "stopped_early": ctx.stopped_early,
            "best_epoch": ctx.best.epoch if ctx.best else None,
            "command": config.command,
        },
        "validation": {
            "initial": asdict(ctx.initial) if ctx.initial else None,
            "best": asdict(ctx.best) if ctx.best else None,
            "history": [asdict(e) for e in ctx.history],
        },
        "extra_eval": {name: asdict(r) for name, r in extra.items()},
        "notes": config.notes,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "open_clip": open_clip.__version__,
        },
    }
