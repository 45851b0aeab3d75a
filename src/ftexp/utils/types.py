"""Value types checked against a component's own type hints (``optim.lr=abc`` is refused)."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from hydra.utils import get_object
from omegaconf import DictConfig, OmegaConf

NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def type_problems(where: str, node: DictConfig) -> list[str]:
    """A problem for each value of ``node`` that does not fit its dataclass field's type."""
    try:
        target = get_object(str(node.get("_target_")))
        hints = typing.get_type_hints(target) if dataclasses.is_dataclass(target) else {}
    except Exception:  # an unimportable target is reported elsewhere
        return []
    fields = {f.name for f in dataclasses.fields(target)} if hints else set()
    values = OmegaConf.to_container(node, resolve=True)
    assert isinstance(values, dict)
    issues = []
    for key, value in values.items():
        if key not in fields:
            continue
        if not fits(value, hints[key]):
            issues.append(
                f"{where}.{key} must be {describe(hints[key])}, got {value!r}; "
                f"set it like {where}.{key}={example(hints[key])}"
            )
    return issues


def fits(value: object, hint: Any) -> bool:
    """Whether a plain config value matches a type hint (ints count as floats)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is object:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(fits(value, a) for a in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, tuple, set, frozenset):
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(
                fits(v, a) for v, a in zip(value, args, strict=False)
            )
        inner = args[0] if args else Any
        return all(fits(v, inner) for v in value)
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            return False
        key_type, value_type = args if args else (Any, Any)
        return all(fits(k, key_type) and fits(v, value_type) for k, v in value.items())
    return True  # a type this checker does not model: the component's own checks decide


def describe(hint: Any) -> str:
    """A type hint in words: ``a number``, ``a list of strings or null``..."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        words = [describe(a) for a in args if a is not type(None)]
        nullable = " or null" if type(None) in args else ""
        return " or ".join(words) + nullable
    if origin in (list, tuple, set, frozenset):
        return (
            f"a list of {describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
            if args
            else "a list"
        )
    if origin is dict or hint is dict:
        return "a mapping"
    return NAMES.get(hint, getattr(hint, "__name__", str(hint)))


def example(hint: Any) -> str:
    """A value of the hinted type, for the fix in a message."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return example(next(a for a in args if a is not type(None)))
    if origin in (list, tuple, set, frozenset):
        return "[...]"
    if origin is dict or hint is dict:
        return "{...}"
    return {int: "8", float: "1e-4", str: "name", bool: "true"}.get(hint, "...")
