package losses

import (
	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// Score distillation losses for rerankers (not in RAG-Retrieval, which
// distills by training listwise_ce / pointwise losses on teacher scores;
// these follow the usual definitions). student holds the student's raw
// scores, teacher the teacher's (a constant), both as consecutive groups of G
// documents of one query ([B·G] or [B, G]).

// DefaultDistillTemperature is the default temperature T of DistillKL and
// DistillSoftCE.
const DefaultDistillTemperature = 1.0

// DistillMSE is the mean squared error between raw student and teacher scores
// (no sigmoid), over all N scores:
//
//	loss = 1/N Σ_i (student_i - teacher_i)²
func DistillMSE(student *autograd.Var, teacher *tensor.Tensor) (*autograd.Var, error) {
	const fn = "DistillMSE"
	t, err := pointLabels(fn, "teacher scores", student, teacher)
	if err != nil {
		return nil, err
	}
	return autograd.MeanAll(autograd.Square(autograd.Sub(student, autograd.Const(t)))), nil
}

// DistillKL is the KL divergence from the teacher's to the student's
// distribution over each group, with temperature T (torch KLDivLoss,
// reduction "batchmean"; no T² factor):
//
//	p = softmax(teacher/T), log q = log_softmax(student/T)   (per group)
//	loss = 1/B Σ_groups Σ_i p_i (log p_i - log q_i)
func DistillKL(student *autograd.Var, teacher *tensor.Tensor, groupSize int, temp float64) (*autograd.Var, error) {
	const fn = "DistillKL"
	logq, t, b, g, err := distillSetup(fn, student, teacher, groupSize, temp)
	if err != nil {
		return nil, err
	}
	return klTerm(fn, logq, t, g, b, temp)
}

// DistillSoftCE is the soft-target cross-entropy with temperature T:
//
//	loss = -1/B Σ_groups Σ_i softmax(teacher/T)_i · log_softmax(student/T)_i
//
// It equals DistillKL plus the teacher's entropy (same gradient); with T = 1
// and teacher scores as labels it equals ListwiseCE when no teacher score is
// exactly 0.
func DistillSoftCE(student *autograd.Var, teacher *tensor.Tensor, groupSize int, temp float64) (*autograd.Var, error) {
	const fn = "DistillSoftCE"
	logq, t, b, g, err := distillSetup(fn, student, teacher, groupSize, temp)
	if err != nil {
		return nil, err
	}
	return softCETerm(logq, groupSoftmax(t, g, temp), b)
}

// distillSetup checks the inputs and returns log_softmax(student/T) [B, G],
// the teacher scores, B and G.
func distillSetup(fn string, student *autograd.Var, teacher *tensor.Tensor, groupSize int, temp float64) (*autograd.Var, []float64, int, int, error) {
	b, g, err := groups(fn, student, groupSize)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	if err := checkScores(fn, "teacher scores", teacher, b*g); err != nil {
		return nil, nil, 0, 0, err
	}
	if err := checkTemp(fn, "temperature", temp); err != nil {
		return nil, nil, 0, 0, err
	}
	logq := autograd.LogSoftmax(autograd.MulScalar(autograd.Reshape(student, b, g), 1/temp), -1)
	return logq, teacher.Float64s(), b, g, nil
}

var distillMSESpec = Spec{
	Name:   "distill_mse",
	Kind:   KindDistill,
	Doc:    "mean_i (student_i - teacher_i)² over raw scores",
	Inputs: []string{"Logits", "TeacherScores"},
	fn: func(in Inputs, _ Params) (*autograd.Var, error) {
		return DistillMSE(in.Logits, in.TeacherScores)
	},
}

var distillKLSpec = Spec{
	Name:     "distill_kl",
	Kind:     KindDistill,
	Doc:      "1/B Σ_groups KL(softmax(teacher/T) ‖ softmax(student/T)), no T² factor",
	Inputs:   []string{"Logits", "TeacherScores", "GroupSize"},
	Params:   []string{"DistillT"},
	Defaults: Params{DistillT: DefaultDistillTemperature},
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return DistillKL(in.Logits, in.TeacherScores, in.GroupSize, p.DistillT)
	},
}

var distillSoftCESpec = Spec{
	Name:     "distill_soft_ce",
	Kind:     KindDistill,
	Doc:      "-1/B Σ_groups Σ_i softmax(teacher/T)_i log_softmax(student/T)_i",
	Inputs:   []string{"Logits", "TeacherScores", "GroupSize"},
	Params:   []string{"DistillT"},
	Defaults: Params{DistillT: DefaultDistillTemperature},
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return DistillSoftCE(in.Logits, in.TeacherScores, in.GroupSize, p.DistillT)
	},
}
