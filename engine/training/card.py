"""The model card: training.json rendered for people."""

from __future__ import annotations

from typing import Any


def render_card(meta: dict[str, Any]) -> str:
    model, data, training = meta["model"], meta["data"], meta["training"]
    lines = [
        f"# {meta.get('name') or 'anyseek joint model'}",
        "",
        "A joint image–text embedding model (open_clip format), trained with `anyseek train`.",
        "",
        "## Use",
        "",
        "```python",
        "import open_clip",
        'model, _, preprocess = open_clip.create_model_and_transforms("local-dir:PATH/TO/THIS/FOLDER")',
        'tokenizer = open_clip.get_tokenizer("local-dir:PATH/TO/THIS/FOLDER")',
        "```",
        "",
        "## Model",
        "",
        f"- Start: {model['start']}",
        f"- Parameters: {model['parameters']:,} ({model['trainable_parameters']:,} trained); weights stored in fp16",
        (
            f"- Embedding dimension {model['embed_dim']}, image size {model['image_size']} px, "
            f"text context {model['context_length']} tokens"
        ),
        "",
        "## Data",
        "",
        (
            f"- Pairs: `{data['pairs']}` ({data['pairs_total']:,} pairs, "
            f"{data['distinct_captions']:,} distinct captions, {data['groups']:,} groups)"
        ),
        (
            f"- Split by image: {data['train_pairs']:,} training pairs, {data['val_pairs']:,} validation pairs "
            f"(fraction {data['val_fraction']}, seed {training['seed']})"
        ),
        "",
        "## Training",
        "",
        (
            f"- {training['epochs_run']} of {training['epochs_planned']} epochs, {training['steps']:,} steps, "
            f"batch {training['batch_size']}, AdamW lr {training['lr']:g} (cosine, {training['warmup_steps']} warm-up "
            f"steps), weight decay {training['weight_decay']:g}"
        ),
        "- Symmetric InfoNCE with multi-positive targets (pairs of one group or one image are positives)",
        f"- Frozen: {', '.join(training['freeze']) or 'nothing'}"
        + (f"; trained only: {training['train_only']}" if training["train_only"] else ""),
        f"- Device {training['device']}"
        + (f" ({training['device_name']})" if training.get("device_name") else "")
        + (f", mixed precision {training['amp']}" if training["amp"] else "")
        + f"; {training['seconds'] / 60:.1f} min"
        + ("; stopped early" if training["stopped_early"] else ""),
        f"- Best epoch (lowest validation loss): {training['best_epoch']}",
    ]
    if training.get("command"):
        lines += ["", "Command:", "", "```sh", training["command"], "```"]
    lines += ["", "## Evaluation", "", *_recall_table(meta)]
    if meta.get("notes"):
        lines += ["", "## Notes", "", meta["notes"].strip()]
    lines += ["", f"Versions: {', '.join(f'{k} {v}' for k, v in meta['versions'].items())}", ""]
    return "\n".join(lines)


def _recall_table(meta: dict[str, Any]) -> list[str]:
    val = meta["validation"]
    rows = [("validation, before training", val["initial"]), ("validation, best epoch", val["best"])]
    rows += [(f"{name} (gallery: validation + these)", {"recall": r}) for name, r in meta["extra_eval"].items()]
    lines = [
        "Recall@k: a hit is a retrieved item of the query's group (identical caption unless the pairs give groups).",
        "",
        "| Pool | text→image R@1 | text→image R@5 | image→text R@1 | image→text R@5 | queries (text / image) |",
        "|---|---|---|---|---|---|",
    ]
    for name, result in rows:
        r = result["recall"]
        lines.append(
            f"| {name} | {r['text_to_image_r1']:.3f} | {r['text_to_image_r5']:.3f} | {r['image_to_text_r1']:.3f} "
            f"| {r['image_to_text_r5']:.3f} | {r['text_queries']} / {r['image_queries']} |"
        )
    return lines
