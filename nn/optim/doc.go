// Package optim trains named parameters: AdamW with parameter groups,
// learning-rate schedules, gradient clipping, gradient accumulation and
// optimizer state files. It follows PyTorch and Hugging Face transformers
// exactly where RAG-Retrieval's trainers use them, so a ragr run reproduces
// theirs step for step:
//
//   - AdamW is torch.optim.AdamW (amsgrad=False): per-parameter step counts,
//     parameters without a gradient skipped, the update done in place by
//     tensor.AdamWStep (PyTorch's arithmetic order). Groups carry their own
//     base learning rate and weight decay; GroupRule / DecayGroups build
//     RAG-Retrieval's create_adamw_optimizer groups (no decay for names
//     containing "bias", "LayerNorm" or "layernorm"; special
//     learning-rate groups by keyword).
//   - Schedule gives the learning-rate multiplier per step, with the formulas
//     of transformers' get_*_schedule_with_warmup and get_wsd_schedule;
//     NewSchedule picks one by name from warmup_proportion /
//     stable_proportion × total steps. RAG-Retrieval itself always uses
//     "cosine" (get_cosine_schedule_with_warmup with
//     int(warmup_proportion × total_steps) warmup steps); it has no
//     warmup-stable-decay option, so "wsd" follows transformers'
//     get_wsd_schedule: linear warmup, stable at 1, then a cosine decay by
//     default (DecayType "linear" and "1-sqrt" are available).
//   - ClipGradNorm is torch.nn.utils.clip_grad_norm_ (global L2 norm,
//     coefficient min(1, max/(total+1e-6))), done with tensor ops on the
//     gradients' device.
//   - Accumulator counts micro-batches and scales losses for gradient
//     accumulation as accelerate does.
//   - Save / Load write and read the optimizer's state (moments, per-parameter
//     steps, hyper-parameters, schedule position) as a safetensors file.
//
// One training step:
//
//	opt, err := optim.NewAdamW(optim.DecayGroups(model.NamedParams(""), 0.01), cfg, sched)
//	...
//	loss := autograd.BCEWithLogits(logits, labels)
//	if err := loss.Backward(); err != nil { ... }
//	norm := opt.ClipGradNorm(1.0)
//	opt.Step()     // learning rate = group LR × sched(opt.StepCount())
//	opt.ZeroGrad()
//
// The golden check against PyTorch (BCE gradients and three AdamW steps of a
// BERT cross-encoder, plain, clipped and with no-decay groups) lives in
// models/bert/trainstep_test.go, since this package may not import models.
package optim
