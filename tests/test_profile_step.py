"""experiments/profile_step.py: kernels are grouped by what the optimised HLO says they are."""
# ruff: noqa: E501  (the HLO lines are as XLA prints them)

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import profile_step  # noqa: E402

HLO = """\
%fused_computation.1 (param_0: f32[8,4,4,16], param_1: f32[4,4,16,32]) -> f32[8,2,2,32] {
  ROOT %conv.1 = f32[8,2,2,32]{3,2,1,0} convolution(%param_0, %param_1), window={size=4x4 stride=2x2 pad=1_1x1_1}, dim_labels=b01f_01io->b01f
}

%fused_computation.2 (param_0: f32[8,4,4,16]) -> f32[16] {
  ROOT %reduce.2 = f32[16]{0} reduce(%param_0, %c), dimensions={0,1,2}, to_apply=%add
}

ENTRY %main (p0: f32[8,4,4,16], p1: f32[4,4,16,32], p2: f32[8,2,2,32]) -> f32[16] {
  %ynn_fusion.1 = f32[8,2,2,32]{3,2,1,0} fusion(%p0, %p1), kind=kCustom, calls=%fused_computation.1
  %ynn_fusion.2 = f32[16]{0} fusion(%p0), kind=kCustom, calls=%fused_computation.2
  %convolution.3 = f32[16,4,4,32]{3,2,1,0} convolution(%p0, %p2), window={size=2x2 pad=1_1x1_1 rhs_dilate=2x2}, dim_labels=f01b_i01o->01bf
  %conv.4 = f32[8,4,4,16]{3,2,1,0} convolution(%p2, %p1), window={size=4x4 pad=2_2x2_2 lhs_dilate=2x2}, dim_labels=b01f_01oi->b01f
  %transpose_copy_fusion.5 = f32[16,4,4,8]{3,2,1,0} fusion(%p0), kind=kLoop, calls=%fused_computation.9
  %add_maximum_fusion.6 = f32[8,4,4,16]{3,2,1,0} fusion(%p0, %p0), kind=kLoop, calls=%fused_computation.8
  ROOT %dot.7 = f32[16]{0} dot(%p0, %p0), lhs_contracting_dims={0}, rhs_contracting_dims={0}
}
"""


def test_kernels_are_grouped_by_their_hlo():
    category, defs = profile_step.categorise(HLO)
    assert {n: category(n) for n in defs if not n.startswith(("conv.1", "reduce.2"))} == {
        "ynn_fusion.1": "YNNPACK conv forward / strided",
        "ynn_fusion.2": "YNNPACK reduce",
        "convolution.3": "XLA conv weight gradient",
        "conv.4": "XLA conv transposed (G upsampling / input gradient)",
        "transpose_copy_fusion.5": "copy / transpose",
        "add_maximum_fusion.6": "element-wise fusion",
        "dot.7": "XLA dot",
    }
    assert category("not_in_the_program") == "other"
