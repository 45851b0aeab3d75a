"""One table of test options: the tiny partners and fixture overrides of every config option.

The matrix, config, training and language-task tests read these, so a new option is described
once (its fixture data, the tiny model that serves it, a short budget) and every test that
globs ``conf/<group>/`` picks it up. ``test_the_tables_cover_every_option`` fails when an
option is added without its row.
"""

from __future__ import annotations

from hydra.utils import get_object

from tests.conftest import FIXTURES, TINY, TINY_CSV, compose_cfg

# ---- data options: fixture files, small batches
CHAT = FIXTURES / "chat_tiny.yml"
ZH = FIXTURES / "sentiment_zh"
CHAT_FIXTURE = [
    "data.artifact=null",
    f"data.path={CHAT}",
    "data.val_fraction=0.2",
    "data.test_fraction=0.2",
    "data.batch_size=4",
]
# pairs (or judged replies) built from the fixture CSV's labelled texts
PREFERENCE_FIXTURE = [
    "data.artifact=null",
    f"data.path={TINY_CSV}",
    "data.label_column=label",
    "data.prompts=[{label: pos, prompt: nice}, {label: neg, prompt: mean}]",
    "data.val_fraction=0.2",
    "data.test_fraction=0.2",
]
# each data option pointed at fixture files (no downloads), small batches
DATA = {
    "sentiment": [
        "data.artifact=null",
        f"data.path={TINY_CSV}",
        "data.label_column=label",
        "data.labels=[neg,pos]",
        "data.drop_labels=[]",
    ],
    "local": [f"data.path={TINY_CSV}", "data.labels=[neg,pos]"],
    "chat": CHAT_FIXTURE,
    "chat_threads": CHAT_FIXTURE,  # the same YAML, read as threads
    "chat_prompts": CHAT_FIXTURE,  # the same YAML, each exchange up to its reply
    "preference": PREFERENCE_FIXTURE,
    "unpaired_preference": PREFERENCE_FIXTURE,  # the same reviews, each reply judged alone
    "domain_text": [
        "data.artifact=null",
        f"data.path={TINY_CSV}",
        "data.text_column=text",
        "data.val_fraction=0.1",
        "data.test_fraction=0.1",
        "data.batch_size=16",
    ],
    "review_prompts": [
        "data.artifact=null",
        "data.prompts=[hi, hello, hey, yo, ok, so, go, up]",
        "data.val_fraction=0.25",
        "data.test_fraction=0.25",
        "data.batch_size=2",
    ],
    "arithmetic": [
        "data.count=40",
        "data.val_fraction=0.25",
        "data.test_fraction=0.25",
        "data.batch_size=2",
    ],
    "synthetic_lm": ["data.seq_len=16", "data.train_samples=16", "data.eval_samples=4"],
    "digits": ["data.max_samples=64"],
    "fashion_mnist": ["data.artifact=null", f"data.path={FIXTURES / 'fashion_tiny'}"],
    "animal_mnist": ["data.artifact=null", f"data.path={FIXTURES / 'animal_tiny'}"],
    "ner_en": ["data.artifact=null", f"data.path={FIXTURES / 'ner_tiny.txt'}"],
    "ner_zh": [
        "data.artifact=null",
        "~data.path",
        f"+data.path={FIXTURES / 'ner_zh_tiny.txt'}",
        "data.test_fraction=0.1",
        "data.max_length=64",
    ],
    "sentiment_zh": ["data.artifact=null", f"data.path={ZH}"],
    "sentiment_zh_text": [
        "data.source.artifact=null",
        f"data.source.path={ZH}",
        "++model.extend_vocab=from_data",  # the tiny tokenizer writes every CJK character as [UNK]
        "data.batch_size=16",
    ],
}
# images need an image model
MODEL_FOR_DATA = {
    "digits": ["model=tiny_vit"],
    "fashion_mnist": ["model=tiny_cnn"],
    "animal_mnist": ["model=tiny_cnn"],
}
# the tiny model that can serve each objective, and the objective's own settings for a smoke run
OBJECTIVE = {
    "classify": ["model=tiny_bert"],
    "sft": ["model=tiny_llama"],
    "upft": ["model=tiny_llama", "objective.max_new_tokens=4", "objective.prefix_tokens=2"],
    "mlm": ["model=tiny_bert"],
    "multitask": ["model=tiny_bert", "objective/weighting=uncertainty"],
    "in_context": ["model=tiny_llama", "objective.shots=2"],
    "token_classify": ["model=tiny_bert"],
    "reward": ["model=tiny_bert"],
    "dpo": ["model=tiny_llama"],
    "kto": ["model=tiny_llama"],
    "orpo": ["model=tiny_llama"],
    "simpo": ["model=tiny_llama"],
    "rl": [
        "model=tiny_llama",
        "~objective.reward",
        "objective.group_size=2",
        "+objective.reward={_target_: ftexp.rewards.CharacterReward}",
        "objective.max_new_tokens=4",
    ],
    # two optimiser steps per sample batch: the matrix runs the kept replies under ddp too
    "rloo": [
        "model=tiny_llama",
        "objective.group_size=2",
        "objective.max_new_tokens=4",
        "objective.num_iterations=2",
    ],
}

# ---- methods: what each saves, and the budget a tiny run needs
PEFT_FILES = {"adapter_model.safetensors", "adapter_config.json"}
FULL_FILES = {"model.safetensors", "config.json"}
# what a method's save writes beyond the default: an adapter (``saves_adapter``) is PEFT's
# pair of files, a full model ``save_pretrained``'s
BOTTLENECK_FILES = {"bottleneck_adapters.safetensors", "bottleneck_adapters.json"}
SAVED_FILES = {
    "adapter": BOTTLENECK_FILES,
    "adapter_pfeiffer": BOTTLENECK_FILES,
    "vpt": {"visual_prompts.safetensors", "visual_prompts.json"},
}


# methods that serve image models only, with the partners they run with
IMAGE_METHODS = {"vpt": ["model=tiny_vit", "data=digits", *DATA["digits"]]}


def text_methods() -> list[str]:
    """Every method option that serves a text model (the tiny BERT of the method tests)."""
    from tests.conftest import group_options

    return [m for m in group_options("method") if m not in IMAGE_METHODS]


def saved_files(method: str) -> set[str]:
    """The files ``model/`` must hold after a run of ``method``."""
    if method in SAVED_FILES:
        return SAVED_FILES[method]
    spec = get_object(compose_cfg([f"method={method}"]).method._target_)
    return PEFT_FILES if spec.saves_adapter else FULL_FILES


SHORT_RUN = {
    "gradual_unfreeze": ["method.open_all_by=0.5"],  # every block open by half the ~10 steps
    # bitsandbytes' CPU inference path (AVX512-BF16 machines) repacks 4-bit weights in blocks
    # of 64 inputs and fails on narrower layers; real models are far wider
    "qlora": (QLORA_WIDE := ["model.hidden_size=64", "model.intermediate_size=128"]),
}

# the data option each objective is smoke-checked on (its own kind of data)
OBJECTIVE_DATA = {
    "classify": "local",
    "multitask": "local",
    "in_context": "local",
    "token_classify": "ner_en",
    "sft": "synthetic_lm",
    "upft": "chat",
    "mlm": "domain_text",
    "reward": "preference",
    "dpo": "preference",
    "kto": "preference",
    "orpo": "preference",
    "simpo": "preference",
    "rl": "review_prompts",
    "rloo": "arithmetic",
}


# objectives sharded with fsdp only in `make test-all`: each shares its model task and its
# sharding path with one the fast suite shards (classify: test_ddp's FSDP2 runs; the pairs: dpo;
# token_classify and mlm: an encoder with a per-token head, as sft's decoder is sharded)
FSDP_IN_SLOW_SUITE = {
    "classify",
    "reward",
    "in_context",
    "kto",
    "orpo",
    "simpo",
    "token_classify",
    "mlm",
}
# ... and with ddp: reward is classify's classifier on dpo's pairs; orpo and simpo are dpo's
# pair passes without a reference (kto stays: its reference point is all-reduced over ranks)
DDP_IN_SLOW_SUITE = {"reward", "orpo", "simpo"}


def partners(objective: str) -> list[str]:
    """Overrides that give ``objective`` its tiny model and fitting fixture data (no download)."""
    data = OBJECTIVE_DATA[objective]
    if data == "local":  # TINY: the tiny BERT on the fixture CSV
        return [*TINY, *OBJECTIVE[objective]]
    return [f"data={data}", *DATA[data], *OBJECTIVE[objective]]
