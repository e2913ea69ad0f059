package losses

import (
	"fmt"
	"sort"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/tensor"
)

// Jasper/Stella embedding distillation: a student embedding model learns a
// teacher's (fixed) embeddings of the same texts. Sources:
//
//   - D. Zhang, J. Li, Z. Zeng, F. Wang, "Jasper and Stella: distillation of
//     SOTA embedding models", arXiv:2412.19048 (2024), §3 (cosine loss,
//     similarity loss, relative similarity distillation loss with margin
//     0.015; weights λ1 = 10, λ2 = 200, λ3 = 20).
//   - RAG-Retrieval's implementation, rag_retrieval/train/embedding/
//     model_distill.py (NLPJCL/RAG-Retrieval, DistillEmbedding, commit
//     4e085a44), which these functions reproduce: cosine_embedding_loss,
//     pair_inbatch_similarity_loss, pair_inbatch_triplet_loss and
//     get_score_diff, total = 10·cosine + 200·similarity + 20·triplet.
//
// In all of them student is [B, D] (grad flows), teacher [B, Dt] (a
// constant); both are normalized inside, ŝ = normalize(student), t̂ =
// normalize(teacher). The similarity and ranking terms are averaged over
// the MRL dims (the student truncated to its first d features, then
// re-normalized; the teacher always at full width). RAG-Retrieval divides
// by len(mrl_dims), which is 0/0 = NaN when MRL is off; here empty dims mean
// the student's full width, once.

// Jasper/Stella defaults (the paper's and RAG-Retrieval's values).
const (
	// DefaultJasperMargin is the margin of the relative ranking loss.
	DefaultJasperMargin = 0.015
	// DefaultJasperCosineWeight is λ1, the weight of the cosine loss.
	DefaultJasperCosineWeight = 10
	// DefaultJasperSimilarityWeight is λ2, the weight of the similarity loss.
	DefaultJasperSimilarityWeight = 200
	// DefaultJasperRankingWeight is λ3, the weight of the relative ranking
	// loss.
	DefaultJasperRankingWeight = 20
)

// RAGRetrievalDistillDims returns the MRL dims of RAG-Retrieval's
// config/distill_embedding.yaml (a student projected to a 3584-wide
// teacher); pass them as dims when the student is that wide.
func RAGRetrievalDistillDims() []int {
	return []int{256, 512, 1024, 1536, 2048, 2560, 3072, 3584}
}

// JasperWeights weigh the three Jasper/Stella terms.
type JasperWeights struct {
	Cosine, Similarity, Ranking float64
}

// DefaultJasperWeights returns {10, 200, 20}.
func DefaultJasperWeights() JasperWeights {
	return JasperWeights{DefaultJasperCosineWeight, DefaultJasperSimilarityWeight, DefaultJasperRankingWeight}
}

// JasperCosine is the cosine loss (torch cosine_embedding_loss with target 1,
// RAG-Retrieval cosine_embedding_loss; the student must be as wide as the
// teacher):
//
//	loss = 1/B Σ_i (1 - ŝ_i·t̂_i)
func JasperCosine(student *autograd.Var, teacher *tensor.Tensor) (*autograd.Var, error) {
	const fn = "JasperCosine"
	b, tn, err := jasperSetup(fn, student, teacher, true)
	if err != nil {
		return nil, err
	}
	sn, err := normalize(student)
	if err != nil {
		return nil, err
	}
	cos := autograd.SumAll(autograd.Mul(sn, tn))
	return autograd.AddScalar(autograd.MulScalar(cos, -1/float64(b)), 1), nil
}

// JasperSimilarity is the similarity loss (RAG-Retrieval
// pair_inbatch_similarity_loss): the MSE between the student's and the
// teacher's in-batch similarity matrices, averaged over dims,
//
//	loss = 1/|dims| Σ_d 1/B² ‖ŝ_d ŝ_dᵀ - t̂ t̂ᵀ‖²_F,   ŝ_d = normalize(student[:, :d])
func JasperSimilarity(student *autograd.Var, teacher *tensor.Tensor, dims []int) (*autograd.Var, error) {
	const fn = "JasperSimilarity"
	_, tn, err := jasperSetup(fn, student, teacher, false)
	if err != nil {
		return nil, err
	}
	ts := autograd.MatmulT(tn, tn, false, true)
	return jasperOverDims(fn, student, dims, func(sn *autograd.Var) (*autograd.Var, error) {
		ss := autograd.MatmulT(sn, sn, false, true)
		return autograd.MeanAll(autograd.Square(autograd.Sub(ss, ts))), nil
	})
}

// JasperRelativeRanking is the relative similarity distillation loss, as
// RAG-Retrieval's pair_inbatch_triplet_loss computes it: the P = B(B-1)/2
// in-batch pairs (i < j, row-major) have student similarities x = ŝ_i·ŝ_j
// and teacher similarities τ = t̂_i·t̂_j; for every two pairs a < b (in that
// row-major order)
//
//	label_ab = +1 if τ_b < τ_a, else -1        (teacher ties give -1)
//	loss_d = 1/K Σ_(a<b) relu(label_ab · (x_b - x_a) + margin),   K = P(P-1)/2
//
// i.e. a hinge that asks the student to rank each pair of pairs in the
// teacher's order by at least margin; loss = mean over dims of loss_d
// (ŝ from student[:, :d]). This is the paper's L_resim =
// 1/N Σ_(t_i·t_j > t_m·t_n) max(0, s_m·s_n - s_i·s_j + margin) with N the
// number of pairs of pairs. With fewer than 2 pairs (B < 3) it is 0.
//
// The P(P-1)/2 hinge terms are evaluated on the host in O(P log P) time and
// O(P) memory (RAG-Retrieval materializes [P, P] matrices, O(B⁴)) and
// enter the graph through a linear surrogate with the exact value and
// gradient with respect to the pair similarities; everything before that
// (normalize, ŝŝᵀ, the pair selection) is ordinary autograd. No second
// derivative.
func JasperRelativeRanking(student *autograd.Var, teacher *tensor.Tensor, dims []int, margin float64) (*autograd.Var, error) {
	const fn = "JasperRelativeRanking"
	b, tn, err := jasperSetup(fn, student, teacher, false)
	if err != nil {
		return nil, err
	}
	npairs := b * (b - 1) / 2
	if npairs < 2 {
		if _, err := jasperDims(fn, student, dims); err != nil {
			return nil, err
		}
		return zeroLoss(student), nil
	}
	idx := make([]int32, 0, npairs)
	for i := 0; i < b; i++ {
		for j := i + 1; j < b; j++ {
			idx = append(idx, int32(i*b+j))
		}
	}
	it, err := onDevice(student.Value, tensor.FromInt32(idx, npairs))
	if err != nil {
		return nil, err
	}
	ts := autograd.MatmulT(tn, tn, false, true).Value.Float64s()
	tp := make([]float64, npairs)
	for k, v := range idx {
		tp[k] = ts[v]
	}
	order := teacherOrder(tp)
	return jasperOverDims(fn, student, dims, func(sn *autograd.Var) (*autograd.Var, error) {
		ss := autograd.Reshape(autograd.MatmulT(sn, sn, false, true), b*b)
		x, err := autograd.IndexSelect(ss, 0, it)
		if err != nil {
			return nil, err
		}
		loss, grad := rankHinge(x.Value.Float64s(), order, margin)
		return surrogate(x, loss, grad)
	})
}

// JasperDistill is the full Jasper/Stella distillation loss of
// RAG-Retrieval's DistillEmbedding.forward:
//
//	loss = w.Cosine·JasperCosine + w.Similarity·JasperSimilarity(dims)
//	     + w.Ranking·JasperRelativeRanking(dims, margin)
//
// with the defaults w = {10, 200, 20}, margin 0.015.
func JasperDistill(student *autograd.Var, teacher *tensor.Tensor, dims []int, margin float64, w JasperWeights) (*autograd.Var, error) {
	cos, err := JasperCosine(student, teacher)
	if err != nil {
		return nil, err
	}
	sim, err := JasperSimilarity(student, teacher, dims)
	if err != nil {
		return nil, err
	}
	rank, err := JasperRelativeRanking(student, teacher, dims, margin)
	if err != nil {
		return nil, err
	}
	total := autograd.Add(autograd.MulScalar(cos, w.Cosine), autograd.MulScalar(sim, w.Similarity))
	return autograd.Add(total, autograd.MulScalar(rank, w.Ranking)), nil
}

// jasperSetup checks student [B, D] and teacher [B, Dt] (Dt = D when
// sameWidth) and returns B and the normalized teacher as a constant in the
// student's dtype and device.
func jasperSetup(fn string, student *autograd.Var, teacher *tensor.Tensor, sameWidth bool) (int, *autograd.Var, error) {
	b, d, err := checkRows(fn, "student", student)
	if err != nil {
		return 0, nil, err
	}
	if teacher == nil {
		return 0, nil, fmt.Errorf("losses.%s: teacher embeddings are missing", fn)
	}
	if teacher.NDim() != 2 || teacher.Dim(0) != b || teacher.Dim(1) == 0 {
		return 0, nil, fmt.Errorf("losses.%s: teacher embeddings of shape %v for %d student rows (want [%d, teacher dim])", fn, teacher.Shape(), b, b)
	}
	if !teacher.DType().IsFloat() {
		return 0, nil, fmt.Errorf("losses.%s: teacher embeddings have dtype %s", fn, teacher.DType())
	}
	if sameWidth && teacher.Dim(1) != d {
		return 0, nil, fmt.Errorf("losses.%s: student width %d but teacher width %d (the cosine loss needs equal widths; project the student to the teacher's width)", fn, d, teacher.Dim(1))
	}
	t, err := constLike(student.Value, teacher.Float64s(), teacher.Shape()...)
	if err != nil {
		return 0, nil, err
	}
	tn, err := normalize(autograd.Const(t))
	if err != nil {
		return 0, nil, err
	}
	return b, tn, nil
}

// jasperDims returns dims checked against the student's width, or the full
// width when dims is empty (RAG-Retrieval's 0/0 when MRL is off).
func jasperDims(fn string, student *autograd.Var, dims []int) ([]int, error) {
	w := student.Dim(1)
	if len(dims) == 0 {
		return []int{w}, nil
	}
	for _, d := range dims {
		if d <= 0 || d > w {
			return nil, fmt.Errorf("losses.%s: MRL dim %d outside [1, %d] (student width)", fn, d, w)
		}
	}
	return dims, nil
}

// jasperOverDims returns the mean over dims of term(normalize(student[:, :d])).
func jasperOverDims(fn string, student *autograd.Var, dims []int, term func(sn *autograd.Var) (*autograd.Var, error)) (*autograd.Var, error) {
	ds, err := jasperDims(fn, student, dims)
	if err != nil {
		return nil, err
	}
	var total *autograd.Var
	for _, d := range ds {
		x := student
		if d < student.Dim(1) {
			x = autograd.Narrow(student, -1, 0, d)
		}
		sn, err := normalize(x)
		if err != nil {
			return nil, err
		}
		l, err := term(sn)
		if err != nil {
			return nil, fmt.Errorf("losses.%s: dim %d: %w", fn, d, err)
		}
		if total == nil {
			total = l
		} else {
			total = autograd.Add(total, l)
		}
	}
	return autograd.MulScalar(total, 1/float64(len(ds))), nil
}

// teacherOrder lists the pair indices from the teacher's highest similarity
// to its lowest; equal similarities put the later pair first, which
// reproduces RAG-Retrieval's label -1 on teacher ties (pair b is then
// treated as the higher one of a < b).
func teacherOrder(tp []float64) []int {
	o := make([]int, len(tp))
	for i := range o {
		o[i] = i
	}
	sort.SliceStable(o, func(x, y int) bool {
		a, b := o[x], o[y]
		if tp[a] != tp[b] {
			return tp[a] > tp[b]
		}
		return a > b
	})
	return o
}

// rankHinge returns L = Σ_(u<v) relu(x[o[v]] - x[o[u]] + margin) / K with
// K = n(n-1)/2 (o lists the indices from teacher-highest to teacher-lowest)
// and dL/dx; relu has gradient 0 at 0, as in PyTorch. With y = x[o] and
// w_u = y_u - margin, term (u, v) is active iff y_v > w_u, so
//
//	L·K = Σ_v (c_v·y_v - Σ_(u<v, w_u<y_v) w_u),   c_v = #{u<v : w_u < y_v}
//	dL/dy_v · K = c_v - #{v'>v : y_v' > w_v}
//
// Both counts and the partial sums come from Fenwick trees over the sorted
// w and y values: O(n log n) time and O(n) memory instead of the n²/2 terms.
func rankHinge(x []float64, o []int, margin float64) (float64, []float64) {
	n := len(x)
	y := make([]float64, n)
	w := make([]float64, n)
	for u, i := range o {
		y[u] = x[i]
		w[u] = x[i] - margin
	}
	cnt := make([]float64, n)
	var sum float64
	// Forward sweep: insert w_u in rank order of w; query the w's below y_v.
	ws, wslot := sortedSlots(w)
	fc, fs := make([]float64, n+1), make([]float64, n+1)
	for v := 0; v < n; v++ {
		lb := sort.SearchFloat64s(ws, y[v]) // slots [0, lb) hold w < y_v
		c, s := fenwickSum(fc, lb), fenwickSum(fs, lb)
		sum += c*y[v] - s
		cnt[v] += c
		fenwickAdd(fc, wslot[v], 1)
		fenwickAdd(fs, wslot[v], w[v])
	}
	// Backward sweep: insert y_v in rank order of y; count the later y's
	// above w_u.
	ys, yslot := sortedSlots(y)
	fy := make([]float64, n+1)
	inserted := 0.0
	for u := n - 1; u >= 0; u-- {
		ub := sort.Search(n, func(i int) bool { return ys[i] > w[u] }) // slots [0, ub) hold y <= w_u
		cnt[u] -= inserted - fenwickSum(fy, ub)
		fenwickAdd(fy, yslot[u], 1)
		inserted++
	}
	k := float64(n) * float64(n-1) / 2
	grad := make([]float64, n)
	for u, i := range o {
		grad[i] = cnt[u] / k
	}
	return sum / k, grad
}

// sortedSlots returns v sorted and, for each element, its slot in that
// order (equal values get distinct slots).
func sortedSlots(v []float64) ([]float64, []int) {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	sorted := make([]float64, len(v))
	slot := make([]int, len(v))
	for s, i := range idx {
		sorted[s] = v[i]
		slot[i] = s
	}
	return sorted, slot
}

// fenwickAdd adds d at slot i (0-based) of the Fenwick tree f (len n+1).
func fenwickAdd(f []float64, i int, d float64) {
	for i++; i < len(f); i += i & -i {
		f[i] += d
	}
}

// fenwickSum returns the sum over slots [0, i) of the Fenwick tree f.
func fenwickSum(f []float64, i int) float64 {
	var s float64
	for ; i > 0; i -= i & -i {
		s += f[i]
	}
	return s
}

// jasperDefaults are the Jasper/Stella defaults (MRL off: full width).
var jasperDefaults = Params{
	Margin:           DefaultJasperMargin,
	CosineWeight:     DefaultJasperCosineWeight,
	SimilarityWeight: DefaultJasperSimilarityWeight,
	RankingWeight:    DefaultJasperRankingWeight,
}

var jasperCosineSpec = Spec{
	Name:     "jasper_cosine",
	Kind:     KindDistill,
	Doc:      "mean_i 1 - ŝ_i·t̂_i (student vs teacher embeddings)",
	Inputs:   []string{"Query", "TeacherEmb"},
	Defaults: jasperDefaults,
	fn: func(in Inputs, _ Params) (*autograd.Var, error) {
		return JasperCosine(in.Query, in.TeacherEmb)
	},
}

var jasperSimilaritySpec = Spec{
	Name:     "jasper_similarity",
	Kind:     KindDistill,
	Doc:      "mean over MRL dims of MSE(ŝŝᵀ, t̂t̂ᵀ)",
	Inputs:   []string{"Query", "TeacherEmb"},
	Params:   []string{"MRLDims"},
	Defaults: jasperDefaults,
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return JasperSimilarity(in.Query, in.TeacherEmb, p.MRLDims)
	},
}

var jasperRelativeRankingSpec = Spec{
	Name:     "jasper_relative_ranking",
	Aliases:  []string{"jasper_triplet"},
	Kind:     KindDistill,
	Doc:      "mean over MRL dims and pairs of pairs of relu(margin - (x_hi - x_lo)), hi/lo in the teacher's order",
	Inputs:   []string{"Query", "TeacherEmb"},
	Params:   []string{"MRLDims", "Margin"},
	Defaults: jasperDefaults,
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		return JasperRelativeRanking(in.Query, in.TeacherEmb, p.MRLDims, p.Margin)
	},
}

var jasperDistillSpec = Spec{
	Name:     "jasper_distill",
	Aliases:  []string{"stella_distill"},
	Kind:     KindDistill,
	Doc:      "10·jasper_cosine + 200·jasper_similarity + 20·jasper_relative_ranking (RAG-Retrieval DistillEmbedding)",
	Inputs:   []string{"Query", "TeacherEmb"},
	Params:   []string{"MRLDims", "Margin", "CosineWeight", "SimilarityWeight", "RankingWeight"},
	Defaults: jasperDefaults,
	fn: func(in Inputs, p Params) (*autograd.Var, error) {
		w := JasperWeights{Cosine: p.CosineWeight, Similarity: p.SimilarityWeight, Ranking: p.RankingWeight}
		return JasperDistill(in.Query, in.TeacherEmb, p.MRLDims, p.Margin, w)
	},
}
