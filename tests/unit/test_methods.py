"""Method internals on a tiny BERT: what trains, where adapters go, schedules and rates."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ftexp.contract import SEQUENCE_CLASSIFICATION as SEQ_CLS
from ftexp.methods.adapter import Adapter
from ftexp.methods.bottleneck import AdaptedLinear
from ftexp.methods.freeze import Freeze
from ftexp.methods.full import Full
from ftexp.methods.gradual import GradualUnfreeze
from ftexp.methods.lora import LoRA
from ftexp.models.tiny import TinyBert, char_tokenizer
from ftexp.optim import AdamWConfig
from ftexp.utils.params import count_parameters, transformer_blocks

LABELS = ["neg", "pos"]


def tiny(layers: int = 4) -> torch.nn.Module:
    return TinyBert(num_layers=layers).load_classifier(LABELS)


def batch() -> dict[str, torch.Tensor]:
    return dict(char_tokenizer()(["a fine film", "dull"], padding=True, return_tensors="pt"))


@pytest.mark.parametrize(("variant", "per_block"), [("houlsby", 2), ("pfeiffer", 1)])
def test_adapters_sit_where_the_variant_says_and_start_as_identity(
    variant: str, per_block: int
) -> None:
    base = tiny(layers=3).eval()
    with torch.no_grad():
        before = base(**batch()).logits
    model = Adapter(variant=variant, reduction_factor=4).apply(base, SEQ_CLS).eval()
    adapted = [n for n, m in model.named_modules() if isinstance(m, AdaptedLinear)]
    assert len(adapted) == 3 * per_block
    assert all(n.endswith("output.dense") for n in adapted)
    with torch.no_grad():
        torch.testing.assert_close(model(**batch()).logits, before)  # zero-init up-projection
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert all(
        ".adapter." in n or "LayerNorm" in n or "pooler" in n or n.startswith("classifier")
        for n in trainable
    )
    assert any(".adapter." in n for n in trainable)


def test_adapter_without_targets_fails_with_a_fix() -> None:
    with pytest.raises(ValueError, match=r"set method.attention_modules / method.ffn_modules"):
        Adapter(ffn_modules="nothing$", attention_modules="nothing$").apply(tiny(), SEQ_CLS)


def test_freeze_trains_top_k_blocks_and_head_only() -> None:
    model = Freeze(top_k=1, also_train=[]).apply(tiny(layers=3), SEQ_CLS)
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable
    assert all(n.startswith(("bert.encoder.layer.2.", "classifier")) for n in trainable)
    with pytest.raises(ValueError, match="top_k=9 but the model has only 3 blocks"):
        Freeze(top_k=9).apply(tiny(layers=3), SEQ_CLS)


def test_gradual_unfreezing_opens_one_block_per_stage_top_down() -> None:
    method = GradualUnfreeze(also_train=[])
    model = method.apply(tiny(layers=3), SEQ_CLS)
    blocks = transformer_blocks(model)

    def open_blocks() -> list[int]:
        return [i for i, b in enumerate(blocks) if all(p.requires_grad for p in b.parameters())]

    assert open_blocks() == []
    assert count_parameters(model)[0] == sum(p.numel() for p in model.classifier.parameters())
    method.set_stage(model, 1)
    assert open_blocks() == [2]
    method.set_stage(model, 2)
    assert open_blocks() == [1, 2]
    method.set_stage(model, 10)
    assert open_blocks() == [0, 1, 2]
    assert not any(p.requires_grad for n, p in model.named_parameters() if "embeddings" in n)
    owned = {n for n, _ in method.optimizer_parameters(model)}
    assert {n for n, _ in model.named_parameters() if "encoder" in n} <= owned


def test_gradual_unfreezing_spreads_its_stages_over_the_run_with_open_all_by() -> None:
    assert GradualUnfreeze(every=40).stage_length(total_steps=94, blocks=6) == 40
    spread = GradualUnfreeze(open_all_by=0.5)
    assert spread.stage_length(total_steps=94, blocks=6) == 7  # all 6 open at step 42 of 94
    assert spread.stage_length(total_steps=3000, blocks=6) == 250
    assert spread.stage_length(total_steps=5, blocks=6) == 1
    with_embeddings = GradualUnfreeze(open_all_by=1.0, unfreeze_embeddings=True)
    assert with_embeddings.last_stage(blocks=6) == 7
    assert with_embeddings.stage_length(total_steps=70, blocks=6) == 10
    assert spread.problems() == []
    assert "in (0, 1]" in " ".join(GradualUnfreeze(open_all_by=1.5).problems())
    assert "drop method.unit=epochs" in " ".join(
        GradualUnfreeze(open_all_by=0.5, unit="epochs").problems()
    )


def test_layerwise_lr_decay_scales_rates_by_depth() -> None:
    method = Full(layer_lr_decay=0.5)
    model = method.apply(tiny(layers=3), SEQ_CLS)
    scales = method.param_lr_scales(model)
    assert scales["classifier.weight"] == 1.0
    assert scales["bert.encoder.layer.2.output.dense.weight"] == 0.5
    assert scales["bert.encoder.layer.0.output.dense.weight"] == 0.125
    assert scales["bert.embeddings.word_embeddings.weight"] == 0.0625
    optimizer, _ = AdamWConfig(lr=1.0).build(model.named_parameters(), 10, scales)
    assert sorted({g["lr"] for g in optimizer.param_groups}) == [0.0625, 0.125, 0.25, 0.5, 1.0]
    assert Full().param_lr_scales(model) == {}


def test_adapter_finds_its_targets_by_model_family() -> None:
    from ftexp.contract import CAUSAL_LM
    from ftexp.models.random_lm import RandomCausalLM

    spec = RandomCausalLM(
        family="gpt2", config={"vocab_size": 64, "n_embd": 16, "n_layer": 2, "n_head": 2}
    )
    model = Adapter(variant="houlsby").apply(spec.load_causal_lm(), CAUSAL_LM)
    adapted = sorted(n for n, m in model.named_modules() if isinstance(m, AdaptedLinear))
    assert adapted == [f"transformer.h.{i}.{p}.c_proj" for i in (0, 1) for p in ("attn", "mlp")]
    assert Adapter().family_problems("bert") == []
    (problem,) = Adapter().family_problems("t5")
    assert "cannot serve model family 't5'" in problem
    assert "method.ffn_modules" in problem
    assert Adapter(attention_modules="a$", ffn_modules="b$").family_problems("t5") == []


def test_quantised_base_counts_the_weights_it_stands_for() -> None:
    from ftexp.methods.qlora import QLoRA

    method = QLoRA(target_modules=["query", "value"])
    spec = TinyBert()
    full_total = count_parameters(spec.load_classifier(LABELS))[1]
    quantised = method.apply(spec.load_classifier(LABELS, **method.load_kwargs()), SEQ_CLS)
    trainable, total = count_parameters(quantised)
    plain = LoRA(target_modules=["query", "value"]).apply(spec.load_classifier(LABELS), SEQ_CLS)
    lora = count_parameters(plain)
    assert total == lora[1] > full_total
    assert trainable == lora[0]


def test_a_saved_adapter_leaves_a_grown_embedding_to_the_rows_saved_beside_it(
    tmp_path: Path,
) -> None:
    from safetensors import safe_open
    from transformers import AutoModelForSequenceClassification

    from ftexp.models.vocab import grow_embeddings, train_new_rows

    base_dir = tmp_path / "base"
    tiny().save_pretrained(base_dir)  # a local base: PEFT's "auto" would copy a resized matrix
    model = AutoModelForSequenceClassification.from_pretrained(base_dir)
    first = model.get_input_embeddings().weight.shape[0]
    grow_embeddings(model, first + 40)
    method = LoRA(target_modules=["query", "value"])
    adapted = method.apply(model, SEQ_CLS)
    train_new_rows(adapted, first)
    weight = adapted.get_input_embeddings().weight
    heads_and_lora = (
        sum(p.numel() for p in adapted.parameters() if p.requires_grad) - weight.numel()
    )
    assert count_parameters(adapted)[0] == heads_and_lora + 40 * weight.shape[1]
    method.save(adapted, tmp_path / "adapter")
    with safe_open(str(tmp_path / "adapter" / "adapter_model.safetensors"), "pt") as f:
        assert not [k for k in f.keys() if "embeddings" in k]  # noqa: SIM118 (not iterable)
