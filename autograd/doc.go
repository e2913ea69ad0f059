// Package autograd records operations on tensors that need gradients and
// computes those gradients by reverse-mode differentiation.
//
// A Var wraps a tensor.Tensor. Leaves are made with Param (trainable, its
// Grad accumulates across Backward calls until ZeroGrad) or Const (no
// gradient). Every op in this package computes its value eagerly through the
// tensor package and, when any input needs a gradient and gradients are
// enabled, records a node holding its backward rule and what that rule needs.
//
// Backward walks the recorded graph in reverse topological order with an
// explicit stack (no recursion, so deep graphs cannot overflow), sums the
// gradients flowing into each Var, accumulates them into the leaves' Grad,
// and frees each node's saved intermediates as soon as its rule has run. A
// second Backward through the same graph therefore returns an error instead
// of silently doubling gradients (use BackwardRetain to keep the graph).
//
// NoGrad runs a function with recording switched off (process-wide, for
// inference and for optimizer steps). Checkpoint runs a segment without
// recording and recomputes it during the backward pass (gradient
// checkpointing), trading compute for activation memory.
//
// Fused ops (Softmax, LogSoftmax, LayerNorm, RMSNorm, Gelu, CrossEntropy,
// BCEWithLogits) have their own backward kernels; each is tested against its
// composite form and against float64 finite differences.
package autograd
