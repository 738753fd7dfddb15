"""The ONNX ops meshc imports, by what they cost.

Anything not listed here is an unknown op: the import stops with an error naming it,
rather than guessing its work.
"""

from __future__ import annotations

# Pure data movement or shape computation: 0 MACs, 0 vector ops (bytes are still counted).
DATA_MOVEMENT = frozenset({
    "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Expand", "Concat", "Split",
    "Slice", "Gather", "GatherElements", "GatherND", "ScatterND", "ScatterElements", "Tile",
    "Pad", "Cast", "CastLike", "Identity", "Dropout", "Shape", "Size", "ConstantOfShape",
    "Range", "Constant", "EyeLike", "DepthToSpace", "SpaceToDepth", "ReverseSequence",
    "NonZero", "OneHot", "Compress", "Optional", "OptionalGetElement", "OptionalHasElement",
})

# One vector op per output element.
ELEMENTWISE = frozenset({
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min", "Sum", "Mean", "Neg", "Abs",
    "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh", "Sigmoid", "Relu", "LeakyRelu", "Elu",
    "Selu", "Celu", "Gelu", "Softplus", "Softsign", "HardSigmoid", "HardSwish", "Mish",
    "PRelu", "ThresholdedRelu", "Shrink", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh",
    "Cosh", "Asinh", "Acosh", "Atanh", "Floor", "Ceil", "Round", "Sign", "Clip", "Where",
    "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "And", "Or", "Xor", "Not",
    "IsNaN", "IsInf", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot",
    "Trilu", "QuantizeLinear", "DequantizeLinear", "Swish",
})

# Reductions and scans: vector ops per input element.
REDUCTION = frozenset({
    "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin", "TopK",
    "CumSum", "Softmax", "LogSoftmax", "Hardmax",
})

# Ops with matrix-multiply work, normalisations and the fused transformer ops.
COMPUTE = frozenset({
    "MatMul", "Gemm", "Einsum", "Attention", "Conv", "ConvTranspose",
    "LayerNormalization", "RMSNormalization",
    "InstanceNormalization", "GroupNormalization", "BatchNormalization",
    "RotaryEmbedding",
})

KNOWN_OPS = DATA_MOVEMENT | ELEMENTWISE | REDUCTION | COMPUTE

# Ops that keep a weight a weight (a view of the stored tensor, same bytes).
VIEW_OPS = frozenset({"Identity", "Cast", "Transpose", "Reshape", "Squeeze", "Unsqueeze",
                      "Flatten", "Dropout"})

# Ops that read a weight as a parameter (never constant-folded through it).
WEIGHT_ROLE_OPS = frozenset({"MatMul", "Gemm", "Gather", "GatherND", "GatherElements",
                             "Conv", "ConvTranspose", "Einsum", "LayerNormalization",
                             "RMSNormalization", "BatchNormalization", "InstanceNormalization",
                             "GroupNormalization", "Attention"})

# The Reduce* ops: one axes list (attribute or input), keepdims, noop_with_empty_axes.
REDUCE = ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
          "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")
