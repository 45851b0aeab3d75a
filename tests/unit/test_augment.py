"""EDA augmentation: seeded per draw, off at zero, checked settings, fresh texts every epoch."""

from __future__ import annotations

from ftexp.data.augment import augment, augment_problems, draw_rng
from ftexp.data.classification import ClassificationData
from ftexp.models.tiny import char_tokenizer
from tests.conftest import TINY_CSV

TEXT = "a moving film with a strong and careful cast"
ALL = {"swap": 0.3, "delete": 0.2, "insert": 0.2}


def test_the_same_draw_gives_the_same_text_and_other_draws_differ() -> None:
    first = augment(TEXT, ALL, draw_rng(1234, 7))
    assert first == augment(TEXT, ALL, draw_rng(1234, 7))
    others = {augment(TEXT, ALL, draw_rng(1234, d)) for d in range(20)}
    assert len(others) > 10
    assert all(set(t.split()) <= set(TEXT.split()) for t in others)  # swap/delete/insert only


def test_zero_probabilities_leave_the_text_alone() -> None:
    assert augment(TEXT, {"swap": 0, "delete": 0, "insert": 0}, draw_rng(0, 0)) == TEXT


def test_settings_are_checked() -> None:
    assert "not an operation" in augment_problems({"synonym": 0.1})[0]
    assert "[0, 1)" in augment_problems({"delete": 1.0})[0]


def test_training_batches_are_augmented_afresh_each_epoch_and_evaluation_never() -> None:
    from ftexp.data.module import DataModule

    def first_batches(augmenting: dict[str, float] | None) -> list[list[list[int]]]:
        data = ClassificationData(
            path=str(TINY_CSV), labels=["neg", "pos"], augment=augmenting, batch_size=8
        )
        data.connect(char_tokenizer())
        module = DataModule(data)
        module.setup()
        out = []
        for epoch in (0, 0, 1):
            loader = module.train_dataloader()
            loader.batch_sampler.set_epoch(epoch)  # type: ignore[union-attr]
            out.append(next(iter(loader))["input_ids"].tolist())
        out.append(next(iter(module.test_dataloader()))["input_ids"].tolist())
        return out

    plain, augmented = first_batches(None), first_batches(ALL)
    assert augmented[0] == augmented[1]  # the same epoch, the same augmented texts
    assert augmented[0] != augmented[2]  # the next epoch draws new ones
    assert augmented[0] != plain[0]
    assert augmented[3] == plain[3]  # evaluation batches are never augmented
