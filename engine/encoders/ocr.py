"""The OCR models: PP-OCR text detection, line orientation (0 or 180 degrees) and recognition, as the ONNX
files the `rapidocr` wheel ships inside itself, run on ONNX Runtime (which anyseek has anyway).

Offline by construction: every model is opened by its path inside the installed package, so rapidocr's own
downloader (which fetches a model missing from its folder) is never reached; a package without its models
is an error that says so. What reads a picture with these (which parts, at what size, within what time)
is indexer/extract/ocr.py; this module only runs the networks.

Each session runs on one thread: pictures are read in the decode workers, several at once, beside the
embedding models, so one core per reading is the share that keeps everyone busy.
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from anyseek.engine.errors import ConfigError, ModelUnavailableError

log = logging.getLogger(__name__)

PACKAGE = "rapidocr"
# What the reading does with the models' output (indexer/extract/ocr.py: sizes, thresholds, blocks). Part
# of the reader's name, so a change here reads every picture again on the next run, as a new model would.
READING_VERSION = 2  # 2: a line the orientation model turns over is read both ways
REC_BATCH = 8
NO_LIMIT = 1 << 30  # the detector's own resizing is turned off: the reader chooses the size


def installed() -> bool:
    return importlib.util.find_spec(PACKAGE) is not None


def reader_name(mode: str) -> str | None:
    """The OCR reader a run with the setting `ocr = mode` uses, as recorded with each item it reads (a
    different one reads the pictures again), or None when pictures are not read. Costs no model load."""
    if mode == "off" or (mode == "auto" and not installed()):
        return None
    if not installed():
        raise ConfigError(
            f"the setting ocr = on needs the {PACKAGE} package, which is not installed: "
            f"`pip install {PACKAGE}` (or set ocr = auto or off)"
        )
    try:
        release = version(PACKAGE)
    except PackageNotFoundError:
        release = "?"
    return f"{PACKAGE} {release}, reading {READING_VERSION}"


class OcrModel:
    """Detection, orientation and recognition sessions, loaded once and shared by the decode threads
    (ONNX Runtime sessions may be run from several threads at once)."""

    def __init__(self, threads: int = 1) -> None:
        try:
            self._load(threads)
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            raise ModelUnavailableError(
                f"the OCR models could not be loaded ({type(exc).__name__}: {exc}); reinstall {PACKAGE}, or set "
                f"ocr = off to index without reading text in pictures"
            ) from None

    def _load(self, threads: int) -> None:
        from rapidocr.ch_ppocr_cls import TextClassifier
        from rapidocr.ch_ppocr_det import TextDetector
        from rapidocr.ch_ppocr_rec import TextRecInput, TextRecognizer
        from rapidocr.inference_engine.base import FileInfo, InferSession
        from rapidocr.main import DEFAULT_CFG_PATH, root_dir
        from rapidocr.utils.parse_parameters import ParseParams

        logging.getLogger("RapidOCR").setLevel(logging.WARNING)  # its INFO lines name every file it opens
        config = ParseParams.load(DEFAULT_CFG_PATH)
        # Before the sections take their copies of the engine's settings (OmegaConf copies a node on
        # assignment): set after, the sessions ran ONNX Runtime's default pool (one spinning thread per core
        # each), which oversubscribed the decode workers and doubled what a photo's glance cost (docs/ocr.md).
        config.EngineConfig.onnxruntime.intra_op_num_threads = threads
        config.EngineConfig.onnxruntime.inter_op_num_threads = threads
        self.files: dict[str, Path] = {}
        for section in (config.Det, config.Cls, config.Rec):
            info = FileInfo(section.engine_type, section.ocr_version, section.task_type, section.lang_type,
                            section.model_type)  # fmt: skip
            name = Path(InferSession.get_model_url(info)["model_dir"]).name
            path = root_dir / "models" / name
            if not path.is_file():
                raise OSError(f"{path} is missing from the installed package")
            section.model_path = str(path)
            section.engine_cfg = config.EngineConfig.onnxruntime
            self.files[str(section.task_type.value)] = path
        config.Det.limit_type, config.Det.limit_side_len = "max", NO_LIMIT
        config.Rec.rec_batch_num = config.Cls.cls_batch_num = REC_BATCH
        config.Rec.font_path, config.Rec.model_root_dir = None, str(root_dir / "models")
        self._detector = TextDetector(config.Det)
        self._classifier = TextClassifier(config.Cls)
        self._recognizer = TextRecognizer(config.Rec)
        self._rec_input = TextRecInput
        self.box_threshold = float(config.Det.box_thresh)
        self._lock = threading.Lock()  # the detector keeps its preprocessing step on itself between calls
        log.info("OCR models: %s", ", ".join(path.name for path in self.files.values()))

    def detect(self, bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Text lines in a BGR picture (uint8, H x W x 3) at the size it is given (rounded to multiples of
        32 inside): their quadrilaterals (n x 4 x 2, clockwise from the top left, in the picture's pixels)
        and the detector's score of each."""
        with self._lock:
            preprocess = self._detector.get_preprocess()
        inputs = preprocess(bgr)
        if inputs is None:
            return np.empty((0, 4, 2), np.float32), np.empty(0, np.float32)
        probabilities = self._detector.session(inputs)
        boxes, scores = self._detector.postprocess_op(probabilities, bgr.shape[:2])
        if len(boxes) == 0:
            return np.empty((0, 4, 2), np.float32), np.empty(0, np.float32)
        return np.asarray(boxes, np.float32), np.asarray(scores, np.float32)

    def recognize(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """The text of each line picture (BGR, the line horizontal), turned right way up first where the
        orientation model says it is upside down, with the recogniser's confidence (0-1)."""
        if not crops:
            return []
        classified = self._classifier(crops)
        result = self._recognizer(self._rec_input(img=classified.img_list))
        readings = [(text, float(score)) for text, score in zip(result.txts, result.scores)]
        # The orientation model turns some upright lines of small print over (2 of 18 rendered man pages:
        # score 0.91-0.94), and the line then reads as gibberish with a fair confidence (0.63-0.70). A line it
        # turns is read both ways and keeps the surer reading: upside-down text stays found, and an upright
        # page (the common case, where it turns nothing) costs nothing more.
        threshold = self._classifier.cls_thresh  # above which it turned the line (rapidocr's TextClassifier)
        turned = [i for i, (label, score) in enumerate(classified.cls_res) if "180" in label and score > threshold]
        if turned:
            again = self._recognizer(self._rec_input(img=[crops[i] for i in turned]))
            for i, text, score in zip(turned, again.txts, again.scores):
                if float(score) > readings[i][1]:
                    readings[i] = (text, float(score))
        return readings
