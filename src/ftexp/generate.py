"""``python -m ftexp.generate <run_dir> "prompt" ...``: chat replies from a fine-tuned LM run."""

from __future__ import annotations

import argparse
from typing import Any

import torch
from transformers import PreTrainedTokenizerBase

from ftexp.batch import token_ids
from ftexp.console import quiet_libraries
from ftexp.errors import refusals
from ftexp.reload import load_run, served_parts


def stop_token_ids(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """EOS plus ChatML's end-of-turn token when the vocabulary has one."""
    ids = {tokenizer.eos_token_id}
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(end_of_turn, int) and end_of_turn != tokenizer.unk_token_id:
        ids.add(end_of_turn)
    return sorted(i for i in ids if i is not None)


def generate_replies(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[str],
    max_new_tokens: int = 64,
    temperature: float = 0.0,
    seed: int = 0,
) -> list[str]:
    """Render each prompt with the chat template and decode the model's reply."""
    torch.manual_seed(seed)
    replies = []
    for prompt in prompts:
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        input_ids = torch.tensor([token_ids(rendered)], device=model.device)
        sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {}
        with torch.inference_mode():
            out = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new_tokens,
                eos_token_id=stop_token_ids(tokenizer),
                pad_token_id=tokenizer.pad_token_id,
                **({"do_sample": False} | sampling),
            )
        replies.append(tokenizer.decode(out[0, input_ids.shape[1] :], skip_special_tokens=True))
    return replies


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_dir", help="a finished objective=sft/dpo/rl run dir")
    parser.add_argument("prompts", nargs="+", help="user messages")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    args = parser.parse_args(argv)
    quiet_libraries()
    with refusals():
        served_parts(args.run_dir, "generate")
        model, tokenizer, _ = load_run(args.run_dir)
    for prompt, reply in zip(
        args.prompts,
        generate_replies(model, tokenizer, args.prompts, args.max_new_tokens, args.temperature),
        strict=True,
    ):
        print(f"> {prompt}\n{reply.strip()}\n")


if __name__ == "__main__":
    main()
