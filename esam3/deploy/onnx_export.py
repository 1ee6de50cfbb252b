# Copyright (c) esam3 contributors. Licensed under the Apache License 2.0.
"""Export esam3 models to ONNX (legacy TorchScript exporter, opset 17).

One graph (or a pair) per deployable part:

* ``encoder``: ``encoder.onnx``, normalised pixels ``[1, 3, S, S]`` -> the
  feature levels of every exported head (:class:`ImageEncoderOnnx`);
* ``prompt_decoder``: ``prompt_decoder.onnx`` (3 candidate masks) and
  ``prompt_decoder_single.onnx`` (1 mask): tracker embeddings + ``P``
  prompts of ``n`` points (+ optional mask prompt) -> mask logits, IoU
  scores, object score logits (:class:`PromptDecoderOnnx`; ``P`` and ``n``
  dynamic);
* ``text_encoder``: ``text_encoder.onnx``, token ids + mask -> projected
  text features + mask (:class:`TextEncoderOnnx`, dynamic batch);
* ``concept_decoder``: ``concept_decoder.onnx`` (text) and
  ``concept_decoder_exemplar.onnx`` (text + ``E`` exemplar boxes, ``E``
  dynamic): detector levels + text features -> masks, boxes, scores,
  presence (:class:`ConceptDecoderOnnx`);
* ``tracker_step``: ``tracker_step.onnx`` (tracked frame) and
  ``tracker_prompt.onnx`` (prompted frame): video features + a fixed-size
  memory state -> mask logits, object score, new state
  (:class:`TrackerStepOnnx`, dynamic number of objects).

``esam3_onnx.json`` next to them (the manifest) records the parts, their
graphs and input shapes, the input size, normalisation, resize mode and
tokenizer, so the onnxruntime predictors need only the folder.
"""
import json
import os
import os.path as osp
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import onnx
import torch
from torch import nn

from .concept_onnx import (CONCEPT_OUTPUTS, TEXT_INPUTS, TEXT_OUTPUTS,
                           ConceptDecoderOnnx, TextEncoderOnnx)
from .image_encoder_onnx import (BRANCH_OUTPUTS, ImageEncoderOnnx,
                                 available_branches, video_tracker_of)
from .perceiver_onnx import PerceiverOnnx
from .prompt_decoder_onnx import PromptDecoderOnnx, dummy_decoder_inputs
from .tracker_step_onnx import (STATE_NAMES, STEP_OUTPUTS, TrackerStateSpec,
                                TrackerStepOnnx)

MANIFEST = 'esam3_onnx.json'
ENCODER_FILE = 'encoder.onnx'
DECODER_FILES = {
    True: 'prompt_decoder.onnx',
    False: 'prompt_decoder_single.onnx'
}
PERCEIVER_FILE = 'memory_perceiver.onnx'
ENCODER_OUTPUTS = list(BRANCH_OUTPUTS['tracker'])
DECODER_INPUTS = ENCODER_OUTPUTS + [
    'points', 'labels', 'mask_input', 'has_mask_input'
]
DECODER_OUTPUTS = ['masks', 'iou_scores', 'object_score_logits']
DECODER_DYNAMIC = {
    'points': {
        0: 'num_prompts',
        1: 'num_points'
    },
    'labels': {
        0: 'num_prompts',
        1: 'num_points'
    },
    'mask_input': {
        0: 'num_mask_prompts'
    },
    **{
        name: {
            0: 'num_prompts'
        }
        for name in DECODER_OUTPUTS
    }
}


def _upsample_bilinear_aa(g, x, output_size, align_corners, *scales):
    """ONNX symbolic of ``aten::_upsample_bilinear2d_aa`` (antialiased
    bilinear, which the TorchScript exporter lacks at opset 17) for
    UPSAMPLING, where antialiasing changes nothing (the memory encoder's
    mask up-sampling, checked by :func:`export_tracker_steps`): a plain
    half-pixel linear ``Resize``.

    Raises:
        torch.onnx.errors.SymbolicValueError: on a down-sampling (not
            exportable without antialias support).
    """
    from torch.onnx import symbolic_helper as sh
    from torch.onnx.errors import SymbolicValueError
    size = sh._maybe_get_const(output_size, 'is')
    in_size = sh._get_tensor_sizes(x)
    if sh._maybe_get_const(align_corners, 'b'):
        raise SymbolicValueError('antialiased resize with align_corners', x)
    known = [i for i in (in_size or [])[-2:] if i is not None]
    if not isinstance(size, (list, tuple)) or len(known) == 2 and any(
            o < i for o, i in zip(size, known)):
        raise SymbolicValueError(
            f'antialiased down-sampling {in_size} -> {size} is not '
            'exportable (only up-sampling is)', x)
    shape = g.op('Shape', x)
    lead = g.op('Slice', shape, g.op('Constant', value_t=torch.tensor([0])),
                g.op('Constant', value_t=torch.tensor([2])))
    sizes = g.op(
        'Concat',
        lead,
        g.op('Constant', value_t=torch.tensor(list(size))),
        axis_i=0)
    empty = g.op('Constant', value_t=torch.tensor([], dtype=torch.float32))
    return g.op(
        'Resize',
        x,
        empty,
        empty,
        sizes,
        mode_s='linear',
        coordinate_transformation_mode_s='half_pixel')


def _export(module: nn.Module, args: tuple, path: str, input_names,
            output_names, dynamic_axes: Optional[dict], opset: int) -> str:
    """``torch.onnx.export`` (TorchScript path) + ``onnx.checker``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    module = module.eval()
    torch.onnx.register_custom_op_symbolic('aten::_upsample_bilinear2d_aa',
                                           _upsample_bilinear_aa, opset)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')  # tracer warnings on shape checks
        torch.onnx.export(
            module,
            args,
            path,
            dynamo=False,
            opset_version=opset,
            input_names=list(input_names),
            output_names=list(output_names),
            dynamic_axes=dynamic_axes,
            do_constant_folding=True)
    check_onnx(path)
    return path


def check_onnx(path: str) -> None:
    """Run ``onnx.checker`` (with shape inference) on a saved model.

    Raises:
        onnx.checker.ValidationError: naming what is invalid.
    """
    onnx.checker.check_model(onnx.load(path), full_check=True)


def model_image_size(model: nn.Module) -> int:
    """Input size ``S`` of a promptable model or a video tracker."""
    heads = getattr(model, 'heads', None)
    size = getattr(heads, 'image_size', None) or getattr(
        model, 'image_size', None)
    if size is None:
        raise ValueError(f'cannot tell the input size of '
                         f'{type(model).__name__}: pass img_size')
    return int(size)


def export_image_encoder(model: nn.Module,
                         path: str,
                         img_size: int,
                         opset: int = 17) -> str:
    """Export the encoder with every branch the model has
    (:class:`ImageEncoderOnnx`, no manifest).

    Args:
        model: student / teacher / Stage 2 student tracker.
        path: output ``.onnx`` file.
        img_size: input size ``S`` (fixed in the graph).
        opset: ONNX opset.

    Returns:
        str: ``path``.
    """
    pixels = torch.randn(1, 3, img_size, img_size)
    encoder = ImageEncoderOnnx(model)
    return _export(encoder, (pixels, ), path, ['pixel_values'],
                   encoder.output_names, None, opset)


def export_prompt_decoder(tracker: nn.Module,
                          embeddings: Sequence[torch.Tensor],
                          path: str,
                          multimask_output: bool = True,
                          img_size: int = 1008,
                          opset: int = 17) -> str:
    """Export the prompt decoder with dynamic prompt / point counts.

    Args:
        tracker: the HF SAM3 tracker holding ``prompt_encoder`` and
            ``mask_decoder`` (``Sam3Heads.tracker``).
        embeddings: example image embeddings (shapes are fixed).
        path: output ``.onnx`` file.
        multimask_output: 3 candidate masks (True) or 1 (False).
        img_size: input size (for example point coordinates).
        opset: ONNX opset.

    Returns:
        str: ``path``.
    """
    dyn = DECODER_DYNAMIC
    args = dummy_decoder_inputs(embeddings, 2, 3, img_size)
    return _export(
        PromptDecoderOnnx(tracker, multimask_output), args, path,
        DECODER_INPUTS, DECODER_OUTPUTS, dyn, opset)


def export_perceiver(perceiver: nn.Module,
                     path: str,
                     map_size: int,
                     in_channels: Optional[int] = None,
                     opset: int = 17) -> str:
    """Export one Perceiver memory step (:class:`PerceiverOnnx`).

    Args:
        perceiver: a ``SpatialPerceiver``.
        path: output ``.onnx`` file.
        map_size: memory map side ``H = W`` (S / 14 in the trackers).
        in_channels: memory channels (default ``perceiver.in_channels``).
        opset: ONNX opset.

    Returns:
        str: ``path``.
    """
    c = in_channels or perceiver.in_channels
    memory = torch.randn(2, c, map_size, map_size)
    pos = torch.randn(2, perceiver.dim, map_size, map_size)
    dyn = {
        name: {
            0: 'num_objects'
        }
        for name in ('memory', 'memory_pos', 'latents', 'latent_pos')
    }
    return _export(
        PerceiverOnnx(perceiver), (memory, pos), path,
        ['memory', 'memory_pos'], ['latents', 'latent_pos'], dyn, opset)


PARTS = ('encoder', 'prompt_decoder', 'text_encoder', 'concept_decoder',
         'tracker_step')
# part -> its graphs (manifest ``files`` keys)
PART_GRAPHS = {
    'encoder': ('encoder', ),
    'prompt_decoder': ('prompt_decoder', 'prompt_decoder_single'),
    'text_encoder': ('text_encoder', ),
    'concept_decoder': ('concept_decoder', 'concept_decoder_exemplar'),
    'tracker_step': ('tracker_step', 'tracker_prompt'),
}
# encoder branch each head part reads
PART_BRANCH = {
    'prompt_decoder': 'tracker',
    'text_encoder': 'detector',
    'concept_decoder': 'detector',
    'tracker_step': 'video'
}


def available_parts(model: nn.Module) -> List[str]:
    """The parts a model can export (in :data:`PARTS` order)."""
    branches = available_branches(model)
    return ['encoder'] + [p for p in PARTS[1:]
                          if PART_BRANCH[p] in branches] if branches else []


def _shapes(names: Sequence[str],
            values: Sequence[torch.Tensor],
            dynamic: Optional[dict] = None) -> Dict[str, list]:
    """``{name: shape}`` with dynamic axes as their names."""
    out = {}
    for name, v in zip(names, values):
        shape = list(v.shape)
        for axis, label in (dynamic or {}).get(name, {}).items():
            shape[axis] = label
        out[name] = shape
    return out


def export_text_encoder(heads: nn.Module,
                        path: str,
                        context_length: int,
                        opset: int = 17) -> Dict[str, list]:
    """Export :class:`TextEncoderOnnx` (dynamic batch of phrases).

    Returns:
        dict: input name -> shape (for the manifest).
    """
    ids = torch.zeros(2, context_length, dtype=torch.long)
    ids[:, :3] = torch.tensor([49406, 320, 49407])
    mask = (ids > 0).long()
    dyn = {n: {0: 'num_phrases'} for n in TEXT_INPUTS + TEXT_OUTPUTS}
    _export(
        TextEncoderOnnx(heads), (ids, mask), path, TEXT_INPUTS, TEXT_OUTPUTS,
        dyn, opset)
    return _shapes(TEXT_INPUTS, (ids, mask), dyn)


def export_concept_decoders(heads: nn.Module,
                            levels: Sequence[torch.Tensor],
                            out_dir: str,
                            context_length: int,
                            opset: int = 17) -> Dict[str, Dict[str, list]]:
    """Export both :class:`ConceptDecoderOnnx` graphs (text; text + exemplars).

    Returns:
        dict: graph name -> {input name: shape}.
    """
    with torch.no_grad():
        ids = torch.zeros(1, context_length, dtype=torch.long)
        ids[:, :3] = torch.tensor([49406, 320, 49407])
        mask = (ids > 0).long()
        feats, tmask = TextEncoderOnnx(heads)(ids, mask)
    shapes = {}
    for with_ex, name in ((False, 'concept_decoder'),
                          (True, 'concept_decoder_exemplar')):
        module = ConceptDecoderOnnx(heads, with_ex)
        args = list(levels) + [feats, tmask]
        dyn = None
        if with_ex:
            args += [
                torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.3, 0.3, 0.1, 0.2]]]),
                torch.tensor([[1, 0]])
            ]
            dyn = {
                'boxes': {
                    1: 'num_exemplars'
                },
                'box_labels': {
                    1: 'num_exemplars'
                }
            }
        _export(module, tuple(args), osp.join(out_dir, name + '.onnx'),
                module.input_names, CONCEPT_OUTPUTS, dyn, opset)
        shapes[name] = _shapes(module.input_names, args, dyn)
    return shapes


def export_tracker_steps(tracker: nn.Module,
                         features: Sequence[torch.Tensor],
                         out_dir: str,
                         opset: int = 17) -> Tuple[dict, dict]:
    """Export both :class:`TrackerStepOnnx` graphs (tracked / prompted frame),
    dynamic number of objects.

    Returns:
        ``(graph name -> {input name: shape}, state spec dict)``.
    """
    spec = TrackerStateSpec.from_tracker(tracker,
                                         [list(f.shape[1:]) for f in features])
    mem_size = 4 * int(tracker.heads.prompt_encoder.mask_input_size[0])
    if mem_size < int(tracker.image_size):
        raise ValueError(f'the memory encoder down-samples masks '
                         f'{tracker.image_size} -> {mem_size} with '
                         'antialiasing, which the exporter cannot express')
    state = [torch.from_numpy(v) for v in spec.empty_state(2).values()]
    shapes = {}
    for prompted, name in ((False, 'tracker_step'), (True, 'tracker_prompt')):
        module = TrackerStepOnnx(tracker, prompted).eval()
        args = list(features) + [torch.tensor([3.0])] + state
        if not prompted:  # a filled conditioning slot (traced values only)
            args[4 + STATE_NAMES.index('mem_valid')] = torch.tensor(
                [[1.0] + [0.0] * (spec.num_slots - 1)] * 2)
        if prompted:
            args += [
                torch.tensor([[[10.0, 10.0], [60.0, 80.0]]] * 2),
                torch.tensor([[2, 3]] * 2),
                torch.tensor([0.0])
            ]
        dyn = {n: {0: 'num_objects'} for n in STATE_NAMES}
        dyn.update({'new_' + n: {0: 'num_objects'} for n in STATE_NAMES})
        dyn.update({n: {0: 'num_objects'} for n in STEP_OUTPUTS})
        if prompted:
            dyn['points'] = {0: 'num_objects', 1: 'num_points'}
            dyn['labels'] = {0: 'num_objects', 1: 'num_points'}
        _export(module, tuple(args), osp.join(out_dir, name + '.onnx'),
                module.input_names, module.output_names, dyn, opset)
        shapes[name] = _shapes(module.input_names, args, dyn)
    cfg = tracker.heads.config
    # transformers' rule for prompted frames (_use_multimask), for runtimes
    multimask = dict(
        enabled=bool(cfg.multimask_output_in_sam),
        min_points=int(cfg.multimask_min_pt_num),
        max_points=int(cfg.multimask_max_pt_num))
    return shapes, dict(spec.to_dict(), prompt_multimask=multimask)


def export_model(model: nn.Module,
                 out_dir: str,
                 img_size: Optional[int] = None,
                 mean: Sequence[float] = (127.5, 127.5, 127.5),
                 std: Sequence[float] = (127.5, 127.5, 127.5),
                 opset: int = 17,
                 resize_mode: str = 'square',
                 parts: Optional[Sequence[str]] = None,
                 tokenizer: Optional[dict] = None) -> Dict[str, str]:
    """Export the parts of a model and write the manifest.

    Args:
        model: ``EfficientSAM3`` / ``Sam3Teacher`` (encoder, prompt and
            concept parts, plus ``tracker_step`` with a video tracker) or
            a Stage 2 ``Sam3VideoTrackerStudent`` (encoder, tracker_step).
        out_dir: output folder.
        img_size: input size ``S`` (default: the model's; the SAM3 heads
            are tied to it).
        mean, std: normalisation recorded in the manifest (the config's
            data preprocessor values).
        opset: ONNX opset.
        resize_mode: how images reach ``S x S`` (``'square'``, SAM3's
            processor, or ``'letterbox'``), recorded for the predictors.
        parts: parts to export (default: all the model has, see
            :func:`available_parts`); ``encoder`` is always exported.
        tokenizer: tokenizer config recorded for text prompts (the
            config's ``model.tokenizer``).

    Returns:
        dict: graph name -> file path (plus ``manifest``).

    Raises:
        ValueError: naming an unknown part or one the model does not have.
    """
    from esam3.models.data_preprocessors import check_resize_mode
    model = model.eval()
    size = int(img_size or model_image_size(model))
    have = available_parts(model)
    parts = list(parts or have)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise ValueError(f'unknown part(s) {unknown}: choose from {PARTS}')
    missing = [p for p in parts if p not in have]
    if missing:
        raise ValueError(f'{type(model).__name__} has no {missing} part '
                         f'(it has {have})')
    parts = [p for p in PARTS if p in parts or p == 'encoder']
    os.makedirs(out_dir, exist_ok=True)
    branches = sorted({PART_BRANCH[p] for p in parts if p in PART_BRANCH})
    encoder = ImageEncoderOnnx(model, branches or None).eval()
    pixels = torch.zeros(1, 3, size, size)
    path = osp.join(out_dir, ENCODER_FILE)
    _export(encoder, (pixels, ), path, ['pixel_values'], encoder.output_names,
            None, opset)
    files = dict(encoder=path)
    with torch.no_grad():
        feats = dict(zip(encoder.output_names, encoder(pixels)))
    manifest_parts = dict(
        encoder=dict(
            graphs=['encoder'],
            inputs=dict(pixel_values=[1, 3, size, size]),
            outputs={
                k: list(v.shape)
                for k, v in feats.items()
            }))
    info = dict(
        img_size=size,
        mean=list(map(float, mean)),
        std=list(map(float, std)),
        opset=opset,
        resize_mode=check_resize_mode(resize_mode),
        model=type(model).__name__,
        exporter='torch.onnx (TorchScript, dynamo=False)')
    heads = getattr(model, 'heads', None)
    if 'prompt_decoder' in parts:
        emb = [feats[n] for n in BRANCH_OUTPUTS['tracker']]
        for multi, name in DECODER_FILES.items():
            key = 'prompt_decoder' if multi else 'prompt_decoder_single'
            files[key] = export_prompt_decoder(heads.tracker, emb,
                                               osp.join(out_dir, name), multi,
                                               size, opset)
        info['mask_input_size'] = list(emb[0].shape[-2:])
        manifest_parts['prompt_decoder'] = dict(
            graphs=list(PART_GRAPHS['prompt_decoder']),
            inputs=_shapes(DECODER_INPUTS,
                           dummy_decoder_inputs(emb, 2, 3,
                                                size), DECODER_DYNAMIC))
    context = int((tokenizer or {}).get('context_length', 32))
    if 'text_encoder' in parts:
        path = osp.join(out_dir, 'text_encoder.onnx')
        files['text_encoder'] = path
        manifest_parts['text_encoder'] = dict(
            graphs=['text_encoder'],
            inputs=export_text_encoder(heads, path, context, opset))
    if 'text_encoder' in parts or 'concept_decoder' in parts:
        from esam3.models.text.text_identity import text_encoder_identity
        info['tokenizer'] = dict(tokenizer or dict(type='Sam3Tokenizer'))
        info['context_length'] = context
        # cached TextEmbeddings are checked against it (as on PyTorch)
        info['text_encoder_identity'] = text_encoder_identity(heads.detector)
    if 'concept_decoder' in parts:
        levels = [feats[n] for n in BRANCH_OUTPUTS['detector']]
        shapes = export_concept_decoders(heads, levels, out_dir, context,
                                         opset)
        for name in shapes:
            files[name] = osp.join(out_dir, name + '.onnx')
        manifest_parts['concept_decoder'] = dict(
            graphs=list(shapes), inputs=shapes)
    if 'tracker_step' in parts:
        video = [feats[n] for n in BRANCH_OUTPUTS['video']]
        shapes, spec = export_tracker_steps(
            video_tracker_of(model), video, out_dir, opset)
        for name in shapes:
            files[name] = osp.join(out_dir, name + '.onnx')
        manifest_parts['tracker_step'] = dict(
            graphs=list(shapes), inputs=shapes)
        info['tracker_state'] = spec
    info['parts'] = manifest_parts
    info['files'] = {k: osp.basename(v) for k, v in files.items()}
    manifest = osp.join(out_dir, MANIFEST)
    with open(manifest, 'w') as f:
        json.dump(info, f, indent=2)
    files['manifest'] = manifest
    return files


def manifest_resize_mode(info: dict) -> str:
    """The manifest's ``resize_mode``; manifests written before the key existed
    come from the letterbox-only preprocessing, hence ``'letterbox'`` for
    them."""
    from esam3.models.data_preprocessors import check_resize_mode
    return check_resize_mode(info.get('resize_mode', 'letterbox'))


def load_manifest(onnx_dir: str) -> dict:
    """Read ``esam3_onnx.json`` of an export folder.

    Raises:
        FileNotFoundError: naming the missing folder / manifest / graph.
    """
    path = osp.join(onnx_dir, MANIFEST)
    if not osp.isdir(onnx_dir):
        raise FileNotFoundError(f'ONNX folder not found: {onnx_dir}')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} not found: export with tools/deployment/export_onnx.py')
    with open(path) as f:
        info = json.load(f)
    for name in info.get('files', {}).values():
        if not osp.isfile(osp.join(onnx_dir, name)):
            raise FileNotFoundError(f'{osp.join(onnx_dir, name)} listed in '
                                    f'{path} is missing')
    return info
