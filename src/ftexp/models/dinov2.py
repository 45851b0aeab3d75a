"""``model=dinov2_small``: DINOv2's ViT-S/14 backbone, converted from an ONNX export.

The artifact is an ONNX graph (a DINOv2 backbone plus a decoder this project does not use). Its
named initializers carry Hugging Face ``Dinov2Model`` names; the linear layers' weights are
anonymous ``MatMul`` inputs, named here by the node that reads them (and transposed); the
position embeddings are split in two (the class token's and the patches'). Every tensor of
``Dinov2Model`` must load from the converted folder, none missing and none left over, and the
converted model must give the ONNX backbone's own features (run by ``onnxruntime`` on a seeded
image) to within ``TOLERANCE``, or the conversion stops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftexp.infra.artifacts import ArtifactError
from ftexp.models.convert import save_tensors

BACKBONE = "backbone."
MATMUL_NODE = re.compile(r"^/backbone/(.+)/MatMul$")
FEATURES = "/backbone/layernorm/Add_1_output_0"  # the final layer norm: last_hidden_state
TOLERANCE = 1e-3  # largest absolute difference of any feature (float32 on CPU gives ~2e-5)


@dataclass
class FromDinov2Onnx:
    """An ONNX export of a DINOv2 backbone -> a ``Dinov2Model`` folder with its image processor.

    Attributes:
        hidden_size / num_layers / num_heads / patch_size: the backbone's shape (ViT-S/14).
    """

    hidden_size: int = 384
    num_layers: int = 12
    num_heads: int = 6
    patch_size: int = 14

    def name(self) -> str:
        """The kind of conversion."""
        return "dinov2-hf-v2"  # v2: checked against the ONNX graph's features

    def problems(self) -> list[str]:
        """The ONNX graph is read with ``onnx`` and run with ``onnxruntime`` for the check."""
        import importlib.util

        missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
        if missing:
            return [
                f"model=dinov2_small is converted from an ONNX file and checked against it "
                f"({', '.join(missing)} missing): pip install 'ftexp[vision]'"
            ]
        return []

    def write(self, source: Path, out: Path) -> None:
        """Collect the tensors, save them, check every one loads into ``Dinov2Model``."""
        import math

        import onnx
        import torch
        from transformers import BitImageProcessorPil, Dinov2Config, Dinov2Model

        graph = onnx.load(str(source))  # read once: its tensors, then its features to check
        tensors = self.tensors(graph, source.name)
        patches = tensors["embeddings.position_embeddings"].shape[1] - 1
        side = math.isqrt(patches)
        config = Dinov2Config(
            hidden_size=self.hidden_size,
            num_hidden_layers=self.num_layers,
            num_attention_heads=self.num_heads,
            patch_size=self.patch_size,
            image_size=side * self.patch_size,
            mlp_ratio=4,
        )
        tensors.setdefault("embeddings.mask_token", torch.zeros(1, self.hidden_size))
        # written under the hub checkpoint's names: transformers maps them to its own on load
        config.save_pretrained(out)
        save_tensors(tensors, out / "model.safetensors")
        model, info = Dinov2Model.from_pretrained(out, output_loading_info=True)
        wrong = {k: sorted(v)[:5] for k, v in info.items() if v}
        if wrong:
            raise ArtifactError(f"{source.name} is not a DINOv2 backbone of this shape: {wrong}")
        gap = feature_gap(model, graph)
        if not gap <= TOLERANCE:
            raise ArtifactError(
                f"{source.name}: the converted backbone's features differ from the ONNX graph's "
                f"by up to {gap:.2e} (more than {TOLERANCE:.0e}); the conversion is wrong"
            )
        BitImageProcessorPil(  # DINOv2's own: resize 256, crop 224, ImageNet statistics
            size={"shortest_edge": 256},
            crop_size={"height": 224, "width": 224},
            image_mean=[0.485, 0.456, 0.406],
            image_std=[0.229, 0.224, 0.225],
        ).save_pretrained(out)

    def tensors(self, model: Any, file_name: str) -> dict[str, Any]:
        """Every backbone tensor of the ONNX ``model`` under its ``Dinov2Model`` name."""
        import torch
        from onnx import numpy_helper

        graph = model.graph
        arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        out: dict[str, Any] = {
            name[len(BACKBONE) :]: torch.from_numpy(array.copy())
            for name, array in arrays.items()
            if name.startswith(BACKBONE)
        }
        positions: dict[str, Any] = {}
        for node in graph.node:
            anonymous = [i for i in node.input if i in arrays and not i.startswith(BACKBONE)]
            if not anonymous:
                continue
            matmul = MATMUL_NODE.match(node.name)
            if node.op_type == "MatMul" and matmul:
                name = matmul.group(1).replace("/", ".") + ".weight"
                out[name] = torch.from_numpy(arrays[anonymous[0]].T.copy())
            elif node.name.startswith("/backbone/embeddings/"):
                positions[node.op_type] = torch.from_numpy(arrays[anonymous[0]].copy())
        if set(positions) != {"Concat", "Reshape"}:
            raise ArtifactError(
                f"{file_name}: the two parts of the position embeddings were not found"
            )
        # the class token's position (read by a Concat), then the patches' (a Reshape)
        cls_position = positions["Concat"].reshape(1, 1, -1)
        patch_positions = positions["Reshape"].reshape(1, -1, cls_position.shape[-1])
        out["embeddings.position_embeddings"] = torch.cat([cls_position, patch_positions], dim=1)
        return out


def feature_gap(model: Any, graph: Any) -> float:
    """The largest absolute difference between ``model``'s features and the ONNX backbone's.

    ``graph`` is the loaded ONNX model (``onnx.load``). Both read the same seeded image, at the
    graph's input size; the graph is asked for its final layer norm's output (an inner tensor,
    added to ``graph``'s outputs once), run by ``onnxruntime``.
    """
    import onnx
    import onnxruntime
    import torch

    if FEATURES not in {output.name for output in graph.graph.output}:
        graph.graph.output.append(
            onnx.helper.make_tensor_value_info(FEATURES, onnx.TensorProto.FLOAT, None)
        )
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # the added output has no declared shape: expected
    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    given = session.get_inputs()[0]
    channels, height, width = given.shape[1:]  # e.g. 3, 224, 224 (the batch size is free)
    image = torch.randn(1, channels, height, width, generator=torch.Generator().manual_seed(0))
    (theirs,) = session.run([FEATURES], {given.name: image.numpy()})
    with torch.no_grad():
        ours = model.eval()(pixel_values=image).last_hidden_state
    return float((ours - torch.from_numpy(theirs)).abs().max())
