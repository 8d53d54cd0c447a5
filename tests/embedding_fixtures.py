"""A clip-retrieval embedding folder made at test time: pictures drawn by the demo generator, embedded by
the demo joint model (data/demo-model), written with numpy and pyarrow as clip-retrieval writes them (not
through engine/embedding_layout.py, so the reader is tested against an independent writer)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

from data.demo_scenes import draw_scene

DEMO_MODEL = Path(__file__).resolve().parent.parent / "data" / "demo-model"
DEMO_SETTINGS = {"joint_model": str(DEMO_MODEL), "device": "cpu"}
SCENES = [
    ("red", "circle"),
    ("blue", "square"),
    ("yellow", "triangle"),
    ("purple", "star"),
    ("pink", "heart"),
    ("white", "cross"),
]


@dataclass
class EmbeddingFolder:
    folder: Path
    paths: list[str]
    captions: list[str]
    image: np.ndarray  # float32 rows, as the model gave them
    text: np.ndarray


def demo_encoders():
    from anyseek.engine.encoders import EncoderSet
    from anyseek.engine.settings import ModelSpecs, load_settings

    settings = load_settings(Path("/nonexistent"), DEMO_SETTINGS)
    return EncoderSet(ModelSpecs(joint_model=str(DEMO_MODEL)), settings)


def draw_pictures(folder: Path) -> tuple[list[str], list[str]]:
    """One PNG per scene, in two subfolders (for path filters)."""
    paths, captions = [], []
    for number, (colour, shape) in enumerate(SCENES):
        path = folder / ("warm" if number % 2 == 0 else "cool") / f"{colour}-{shape}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        draw_scene(colour, shape, seed=number).save(path)
        paths.append(str(path))
        captions.append(f"a {colour} {shape}")
    return paths, captions


def embed(encoders, paths: list[str], captions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    joint = encoders.for_image_query()
    pixels = np.stack([joint.preprocess(Image.open(path).convert("RGB")) for path in paths])
    image = np.asarray(joint.encode_images(pixels), np.float32)
    text = np.asarray(encoders.for_text_query("joint").encode_texts(captions), np.float32)
    return image, text


def write_folder(folder: Path, rows: EmbeddingFolder, dtype, shards: list[slice], *, captions=None) -> None:
    """clip-retrieval's layout, zero-padded shard numbers as it writes them."""
    captions = rows.captions if captions is None else captions
    for kind in ("img_emb", "text_emb", "metadata"):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        for old in (folder / kind).iterdir():
            old.unlink()
    for number, part in enumerate(shards):
        np.save(folder / "img_emb" / f"img_emb_{number:02d}.npy", rows.image[part].astype(dtype))
        np.save(folder / "text_emb" / f"text_emb_{number:02d}.npy", rows.text[part].astype(dtype))
        table = pa.table({"image_path": rows.paths[part], "caption": captions[part], "url": rows.paths[part]})
        pq.write_table(table, folder / "metadata" / f"metadata_{number:02d}.parquet")


def make_folder(root: Path, encoders, dtype=np.float16) -> EmbeddingFolder:
    paths, captions = draw_pictures(root / "pictures")
    image, text = embed(encoders, paths, captions)
    rows = EmbeddingFolder(root / "embeddings", paths, captions, image, text)
    write_folder(rows.folder, rows, dtype, [slice(0, 4), slice(4, None)])
    return rows
