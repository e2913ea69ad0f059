package train

// distill_embed.go: Jasper/Stella embedding distillation (RAG-Retrieval
// rag_retrieval/train/embedding with train_type: distill — data.py
// EmbeddingDistillDataset, model_distill.py DistillEmbedding). A student
// encoder (BERT / XLM-R, pooled, not normalised) gets a new Dense layer
// (bias, identity activation) from its hidden size to the teacher's
// dimension; its outputs learn the teacher's fixed embeddings of the same
// texts under losses.JasperDistill (10·cosine + 200·similarity +
// 20·relative ranking, the last two over mrl_dims). Texts are one JSON
// object a line ({"query": text}, with an optional "prompt_for_query"
// prepended); row i of the teacher file embeds line i. The teacher file is
// RAG-Retrieval's raw float32 np.memmap (rows × teatch_emebedding_dim, no
// header) or a safetensors file with one 2-D tensor. The export is the
// sentence-transformers layout Transformer → Pooling → Dense without
// Normalize, as DistillEmbedding.save_pretrained writes it, so
// SentenceTransformer(dir) returns the teacher-width vector.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/losses"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/models/bert"
	"github.com/ragr-dev/ragr/models/tokenizer"
	"github.com/ragr-dev/ragr/nn"
	"github.com/ragr-dev/ragr/tensor"
	"github.com/ragr-dev/ragr/tensor/safetensors"
	"github.com/ragr-dev/ragr/train/data"
)

// distillDense is the Dense module's directory in the export and the
// prefix of its parameters.
const (
	distillDense       = "2_Dense"
	distillDensePrefix = distillDense + ".linear."
	identityActivation = "torch.nn.modules.linear.Identity"
)

// DistillEmbedModel is a distillation student: an encoder with its pooling
// (not normalised) followed by a Dense layer to the teacher's width.
type DistillEmbedModel struct {
	// Student is the encoder and pooling (its L2 normalisation is not
	// applied: the losses normalise, the export has no Normalize module).
	Student *EmbedModel
	// Dense maps the pooled [B, hidden] to [B, teacher dim] (with bias).
	Dense *nn.Linear
}

// Params lists the encoder's parameters with BertModel checkpoint names and
// the Dense layer's as "2_Dense.linear.weight" / ".bias".
func (m *DistillEmbedModel) Params() []nn.NamedParam {
	return append(m.Student.Params(), m.Dense.NamedParams(distillDensePrefix)...)
}

// Dim is the output width (the teacher's dimension).
func (m *DistillEmbedModel) Dim() int { return m.Dense.Weight.Dim(0) }

// Encode returns the student embeddings [B, teacher dim]: Dense(pool(h)),
// unnormalised, as the exported sentence_embedding.
func (m *DistillEmbedModel) Encode(in Inputs, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
	s := m.Student
	o, err := s.Encoder.Forward(bert.Inputs{IDs: in.IDs, TypeIDs: in.TypeIDs, Mask: in.Mask},
		bert.RunOptions{Training: training, RNG: rng, Checkpoint: ckpt})
	if err != nil {
		return nil, err
	}
	var e *autograd.Var
	switch s.Pooling {
	case models.PoolCLS:
		e = nn.PoolCLS(o.Last)
	case models.PoolMean:
		e = nn.PoolMean(o.Last, in.Mask)
	default:
		return nil, fmt.Errorf("train: pooling %q is not cls or mean", s.Pooling)
	}
	return m.Dense.Forward(e), nil
}

// Export writes the encoder in the Hugging Face layout and the
// sentence-transformers modules Pooling and 2_Dense (no Normalize).
func (m *DistillEmbedModel) Export(dir string) error {
	s := m.Student
	arch := "BertModel"
	if s.Encoder.Cfg.XLMR {
		arch = "XLMRobertaModel"
	}
	u := map[string]any{"architectures": []string{arch}}
	if s.cfg.Raw == nil || s.cfg.Raw["model_type"] == nil {
		u["model_type"] = s.cfg.ModelType
	}
	if err := models.Export(dir, s.Params(), models.ExportOptions{Config: s.cfg, Updates: u}); err != nil {
		return err
	}
	dense := models.DenseLayer{In: s.Encoder.Cfg.Hidden, Out: m.Dim(), Activation: identityActivation,
		Weight: m.Dense.Weight.Value, Bias: m.Dense.Bias.Value}
	st := &models.SentenceTransformer{Pooling: s.Pooling, Dim: s.Encoder.Cfg.Hidden, Dense: []models.DenseLayer{dense}, IncludePrompt: true}
	if err := models.WriteSentenceTransformer(dir, st); err != nil {
		return err
	}
	return models.WriteJSON(filepath.Join(dir, "sentence_bert_config.json"), map[string]any{"max_seq_length": s.MaxLen, "do_lower_case": false})
}

// Reload fills the encoder from dir's weights and the Dense layer
// from dir/2_Dense (a directory Export wrote).
func (m *DistillEmbedModel) Reload(dir string) error {
	w, err := models.OpenWeights(dir)
	if err != nil {
		return err
	}
	err = models.LoadParams(m.Student.Params(), w, models.LoadOptions{})
	w.Close()
	if err != nil {
		return err
	}
	return m.loadDense(filepath.Join(dir, distillDense))
}

func (m *DistillEmbedModel) loadDense(dir string) error {
	w, err := models.OpenWeights(dir)
	if err != nil {
		return err
	}
	defer w.Close()
	return models.LoadParams(m.Dense.NamedParams("linear."), w, models.LoadOptions{})
}

// BuildDistillEmbedModel builds the student of cfg (BuildEmbedModel) with a
// Dense layer to teacherDim: drawn fresh as torch.nn.Linear does (uniform
// in ±1/√hidden, from the seed), or, when model_name_or_path is a
// distilled export whose one Dense module already maps hidden →
// teacherDim, loaded from it. Other Dense modules are an error.
func BuildDistillEmbedModel(cfg Config, vocabSize, teacherDim int) (*DistillEmbedModel, error) {
	if teacherDim <= 0 {
		return nil, fmt.Errorf("train: teacher dimension %d: want > 0", teacherDim)
	}
	s, err := BuildEmbedModel(cfg, vocabSize)
	if err != nil {
		return nil, err
	}
	h := s.Encoder.Cfg.Hidden
	rng := tensor.NewRNG(uint64(cfg.Seed) ^ 0x9e3779b97f4a7c15)
	b := 1 / math.Sqrt(float64(h))
	m := &DistillEmbedModel{Student: s, Dense: &nn.Linear{
		Weight: autograd.Param(rng.Uniform(-b, b, teacherDim, h), "weight"),
		Bias:   autograd.Param(rng.Uniform(-b, b, teacherDim), "bias"),
	}}
	if cfg.ModelNameOrPath == "" {
		return m, nil
	}
	st, err := models.ReadSentenceTransformer(cfg.ModelNameOrPath)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if st == nil || len(st.Dense) == 0 {
		return m, nil
	}
	if d := st.Dense[0]; len(st.Dense) == 1 && d.In == h && d.Out == teacherDim && d.Bias != nil &&
		(d.Activation == "" || d.Activation == identityActivation) {
		if err := m.loadDense(filepath.Join(cfg.ModelNameOrPath, d.Path)); err != nil {
			return nil, fmt.Errorf("train: %w", err)
		}
		return m, nil
	}
	return nil, fmt.Errorf("train: %s: the model already has %d Dense module(s) (first %d → %d); distillation adds one Dense layer %d → %d and continues only from a model whose one Dense layer has that shape",
		cfg.ModelNameOrPath, len(st.Dense), st.Dense[0].In, st.Dense[0].Out, h, teacherDim)
}

// ReadDistillTexts reads distillation texts: one JSON object a line with a
// string "query" and an optional string "prompt_for_query" prepended to it
// (RAG-Retrieval EmbeddingDistillDataset). Every line is one text, because
// row i of the teacher file belongs to line i: a blank or malformed line is
// an error naming the file and the line.
func ReadDistillTexts(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("train: distillation texts: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var texts []string
	for line := 1; ; line++ {
		b, err := r.ReadBytes('\n')
		if len(b) == 0 && errors.Is(err, io.EOF) {
			break
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("train: %s: %w", path, err)
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			return nil, fmt.Errorf("train: %s line %d: blank line (line i is the text of teacher row i; remove it from both files)", path, line)
		}
		var rec map[string]json.RawMessage
		if jerr := json.Unmarshal([]byte(s), &rec); jerr != nil {
			return nil, fmt.Errorf("train: %s line %d: not a JSON object: %v", path, line, jerr)
		}
		var q, prompt string
		raw, ok := rec["query"]
		if !ok {
			return nil, fmt.Errorf("train: %s line %d: no \"query\" (distillation lines are {\"query\": text})", path, line)
		}
		if json.Unmarshal(raw, &q) != nil {
			return nil, fmt.Errorf("train: %s line %d: \"query\" is not a string", path, line)
		}
		if raw, ok := rec["prompt_for_query"]; ok && string(raw) != "null" {
			if json.Unmarshal(raw, &prompt) != nil {
				return nil, fmt.Errorf("train: %s line %d: \"prompt_for_query\" is not a string", path, line)
			}
		}
		texts = append(texts, data.PromptQuery(prompt, q))
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if len(texts) == 0 {
		return nil, fmt.Errorf("train: %s: no texts", path)
	}
	return texts, nil
}

// TeacherEmbeddings are a distillation's teacher vectors, one row per text.
type TeacherEmbeddings struct {
	// Path is the file they come from.
	Path string
	// Rows and Dim are the matrix's shape.
	Rows, Dim int
	raw       *os.File  // raw float32 rows, read per batch
	mem       []float32 // safetensors contents
}

// OpenTeacherEmbeddings opens a teacher file of rows × dim float32 vectors
// and checks it before training: a .safetensors file holds one 2-D float
// tensor (or the one named tensorName); any other file is RAG-Retrieval's
// raw little-endian float32 np.memmap with no header, whose size must be
// rows·dim·4 bytes. dim 0 takes a safetensors tensor's width (a raw file
// needs dim). Every row is scanned: a non-finite value or an all-zero row
// (which cannot be normalised) is an error naming the file and the row.
func OpenTeacherEmbeddings(path, tensorName string, rows, dim int) (*TeacherEmbeddings, error) {
	if rows <= 0 || dim < 0 {
		panic(fmt.Sprintf("train: OpenTeacherEmbeddings: rows %d, dim %d", rows, dim))
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("train: teacher embeddings (train_dataset_vec): %w", err)
	}
	t := &TeacherEmbeddings{Path: path, Rows: rows, Dim: dim}
	var err error
	if strings.HasSuffix(strings.ToLower(path), ".safetensors") {
		err = t.openSafetensors(tensorName)
	} else {
		err = t.openRaw()
	}
	if err != nil {
		t.Close()
		return nil, err
	}
	if err := t.scan(); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

func (t *TeacherEmbeddings) openSafetensors(name string) error {
	f, err := safetensors.Open(t.Path)
	if err != nil {
		return fmt.Errorf("train: teacher embeddings: %w", err)
	}
	defer f.Close()
	names := f.Names()
	if name == "" {
		if len(names) != 1 {
			return fmt.Errorf("train: teacher embeddings %s: %d tensors (%s); name one with train_dataset_vec_tensor", t.Path, len(names), strings.Join(names, ", "))
		}
		name = names[0]
	}
	info, err := f.Info(name)
	if err != nil {
		return fmt.Errorf("train: teacher embeddings %s: tensor %q: %w (tensors: %s)", t.Path, name, err, strings.Join(names, ", "))
	}
	if len(info.Shape) != 2 {
		return fmt.Errorf("train: teacher embeddings %s: tensor %q has shape %v, want [rows, dim]", t.Path, name, info.Shape)
	}
	if info.Shape[0] != t.Rows {
		return fmt.Errorf("train: teacher embeddings %s: tensor %q has %d rows but the texts have %d lines (row i embeds line i)", t.Path, name, info.Shape[0], t.Rows)
	}
	if t.Dim != 0 && info.Shape[1] != t.Dim {
		return fmt.Errorf("train: teacher embeddings %s: tensor %q has dimension %d but teatch_emebedding_dim is %d", t.Path, name, info.Shape[1], t.Dim)
	}
	x, err := f.Float32(name)
	if err != nil {
		return fmt.Errorf("train: teacher embeddings %s: tensor %q: %w", t.Path, name, err)
	}
	t.Dim = info.Shape[1]
	t.mem = x.Float32s()
	return nil
}

func (t *TeacherEmbeddings) openRaw() error {
	if t.Dim == 0 {
		return fmt.Errorf("train: teacher embeddings %s: a raw float32 file needs teatch_emebedding_dim (its row width)", t.Path)
	}
	f, err := os.Open(t.Path)
	if err != nil {
		return fmt.Errorf("train: teacher embeddings: %w", err)
	}
	t.raw = f
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("train: teacher embeddings: %w", err)
	}
	size, row := fi.Size(), int64(t.Dim)*4
	want := int64(t.Rows) * row
	switch {
	case size == want:
		return nil
	case size%row != 0:
		return fmt.Errorf("train: teacher embeddings %s: %d bytes is not a whole number of rows of teatch_emebedding_dim %d float32 (%d bytes each); want %d rows × %d = %d bytes (wrong dimension?)",
			t.Path, size, t.Dim, row, t.Rows, t.Dim, want)
	default:
		return fmt.Errorf("train: teacher embeddings %s: %d rows of dimension %d but the texts have %d lines (row i embeds line i); want %d bytes, have %d",
			t.Path, size/row, t.Dim, t.Rows, want, size)
	}
}

// scan checks every row for non-finite values and all-zero rows.
func (t *TeacherEmbeddings) scan() error {
	const chunk = 1024
	idx := make([]int, 0, chunk)
	for lo := 0; lo < t.Rows; lo += chunk {
		idx = idx[:0]
		for i := lo; i < min(lo+chunk, t.Rows); i++ {
			idx = append(idx, i)
		}
		v, err := t.rows(idx)
		if err != nil {
			return err
		}
		for k, i := range idx {
			zero := true
			for j, x := range v[k*t.Dim : (k+1)*t.Dim] {
				if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
					return fmt.Errorf("train: teacher embeddings %s: row %d (line %d of the texts) has %g at column %d", t.Path, i, i+1, x, j)
				}
				zero = zero && x == 0
			}
			if zero {
				return fmt.Errorf("train: teacher embeddings %s: row %d (line %d of the texts) is all zeros and cannot be normalised", t.Path, i, i+1)
			}
		}
	}
	return nil
}

// rows returns rows idx concatenated.
func (t *TeacherEmbeddings) rows(idx []int) ([]float32, error) {
	out := make([]float32, len(idx)*t.Dim)
	if t.mem != nil {
		for k, i := range idx {
			copy(out[k*t.Dim:(k+1)*t.Dim], t.mem[i*t.Dim:(i+1)*t.Dim])
		}
		return out, nil
	}
	buf := make([]byte, t.Dim*4)
	// Consecutive rows are read together.
	for k := 0; k < len(idx); {
		n := 1
		for k+n < len(idx) && idx[k+n] == idx[k]+n {
			n++
		}
		if cap(buf) < n*t.Dim*4 {
			buf = make([]byte, n*t.Dim*4)
		}
		b := buf[:n*t.Dim*4]
		if _, err := t.raw.ReadAt(b, int64(idx[k])*int64(t.Dim)*4); err != nil {
			return nil, fmt.Errorf("train: teacher embeddings %s: rows %d..%d: %w", t.Path, idx[k], idx[k]+n-1, err)
		}
		for j := range n * t.Dim {
			out[k*t.Dim+j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
		k += n
	}
	return out, nil
}

// Gather returns rows idx as a float32 tensor [len(idx), Dim].
func (t *TeacherEmbeddings) Gather(idx []int) (*tensor.Tensor, error) {
	for _, i := range idx {
		if i < 0 || i >= t.Rows {
			panic(fmt.Sprintf("train: TeacherEmbeddings.Gather: row %d of %d", i, t.Rows))
		}
	}
	v, err := t.rows(idx)
	if err != nil {
		return nil, err
	}
	return tensor.FromFloat32(v, len(idx), t.Dim), nil
}

// Close releases the file.
func (t *TeacherEmbeddings) Close() error {
	if t.raw != nil {
		err := t.raw.Close()
		t.raw = nil
		return err
	}
	return nil
}

// validateDistill checks the distillation keys before any data or model is
// read.
func (c *Config) validateDistill() error {
	if err := c.validateEmbed(); err != nil {
		return err
	}
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if c.TrainDatasetVec == "" {
		add("train_type distill needs train_dataset_vec (the teacher embeddings file)")
	}
	if c.TeacherDim < 0 {
		add("teatch_emebedding_dim must not be negative (got %d)", c.TeacherDim)
	}
	if c.QueryMaxLen != 0 && c.QueryMaxLen < 8 {
		add("query_max_len must be at least 8 (got %d)", c.QueryMaxLen)
	}
	if c.SkipBadLines {
		add("skip_bad_lines cannot be used with distillation (teacher row i belongs to line i)")
	}
	if c.UseMRL != nil && *c.UseMRL && len(c.MRLDims) == 0 {
		add("use_mrl is true but mrl_dims is empty")
	}
	for _, w := range []struct {
		key string
		v   *float64
	}{{"cosine_loss_weight", c.CosineLossWeight}, {"similarity_loss_weight", c.SimilarityLossWeight}, {"triplet_loss_weight", c.TripletLossWeight}, {"triplet_margin", c.TripletMargin}} {
		if w.v != nil && (*w.v < 0 || math.IsNaN(*w.v) || math.IsInf(*w.v, 0)) {
			add("%s must be finite and not negative (got %g)", w.key, *w.v)
		}
	}
	if c.TeacherDim > 0 {
		for _, d := range c.MRLDims {
			if d > c.TeacherDim {
				add("mrl_dims %v: dimension %d exceeds teatch_emebedding_dim %d", []int(c.MRLDims), d, c.TeacherDim)
				break
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("train: %s: %s", c.Path, strings.Join(errs, "; "))
	}
	return nil
}

// distillLossFor picks the distillation loss: jasper_distill unless
// loss_type names another Jasper/Stella loss.
func distillLossFor(cfg Config) (losses.Spec, error) {
	name := cfg.LossType
	if name == "" || name == DefaultConfig().LossType {
		name = "jasper_distill"
	}
	spec, err := losses.Lookup(name)
	if err != nil {
		return spec, fmt.Errorf("train: loss_type: %w", err)
	}
	for _, in := range spec.Inputs {
		if in == "TeacherEmb" {
			return spec, nil
		}
	}
	return spec, fmt.Errorf("train: %s: loss_type %q is not an embedding distillation loss (jasper_distill, jasper_cosine, jasper_similarity, jasper_relative_ranking)", cfg.Path, name)
}

// distillTrainSet hands out batches of (texts, teacher rows).
type distillTrainSet struct {
	texts   []string
	teacher *TeacherEmbeddings
	loader  *data.Loader[int]
	enc     *data.TextEncoder
	batch   int
}

func (s *distillTrainSet) NumBatches(epoch int) int { return s.loader.Batches(epoch) }

func (s *distillTrainSet) Batch(epoch, i int) (*Batch, error) {
	ex := s.loader.Epoch(epoch)
	lo := i * s.batch
	if lo >= len(ex) {
		return nil, fmt.Errorf("batch %d of epoch %d is past the data", i, epoch)
	}
	rows := ex[lo:min(lo+s.batch, len(ex))]
	texts := make([]string, len(rows))
	for k, r := range rows {
		texts[k] = s.texts[r]
	}
	in, err := encodeTexts(s.enc, texts)
	if err != nil {
		return nil, err
	}
	t, err := s.teacher.Gather(rows)
	if err != nil {
		return nil, err
	}
	return &Batch{Inputs: in, Samples: len(rows), GroupSize: 1, Extra: t}, nil
}

// distillOrder returns the row order of an epoch: a permutation drawn from
// the seed and the epoch, or the file order without shuffling.
func distillOrder(n int, shuffle bool) func(seed uint64, epoch int) []int {
	return func(seed uint64, epoch int) []int {
		if !shuffle {
			p := make([]int, n)
			for i := range p {
				p[i] = i
			}
			return p
		}
		return tensor.NewRNG(seed ^ 0x6a09e667f3bcc909 ^ uint64(epoch)*0xbf58476d1ce4e5b9).Perm(n)
	}
}

// DistillResult describes a finished embedding distillation run.
type DistillResult struct {
	// ModelDir is the exported model (Hugging Face + sentence-transformers
	// layout with the Dense module).
	ModelDir string
	// Model is the trained student.
	Model *DistillEmbedModel
	// Losses are the losses of this process's optimizer steps.
	Losses []float64
	// Steps is the number of optimizer steps taken in total.
	Steps int
	// LossType is the loss that was trained.
	LossType string
	// Texts and TeacherDim describe the data: rows × teacher dimension.
	Texts, TeacherDim int
}

// TrainDistillEmbedding runs Jasper/Stella embedding distillation as cfg
// describes (train_type: distill): it reads the texts of train_dataset and
// the teacher embeddings of train_dataset_vec and checks them against each
// other, the config and the model before the first step, trains the
// student plus its new Dense layer with jasper_distill (weights
// cosine_loss_weight, similarity_loss_weight, triplet_loss_weight, margin
// triplet_margin, over mrl_dims), writes checkpoints, metrics.jsonl and
// loss.png under output_dir, and exports the student to output_dir/model
// in the sentence-transformers layout with its Dense module.
func TrainDistillEmbedding(ctx context.Context, cfg Config, o RunOptions) (*DistillResult, error) {
	out := o.output()
	if err := cfg.validateDistill(); err != nil {
		return nil, err
	}
	if err := cfg.checkDevice(); err != nil {
		return nil, err
	}
	cfg.noteIgnored(out)
	if cfg.QueryMaxLen > 0 {
		cfg.MaxLen = cfg.QueryMaxLen
	}
	spec, err := distillLossFor(cfg)
	if err != nil {
		return nil, err
	}
	cfg.LossType = spec.Name
	tokDir := cfg.Tokenizer
	if tokDir == "" {
		tokDir = cfg.ModelNameOrPath
	}
	if tokDir == "" {
		return nil, fmt.Errorf("train: %s: a fresh model needs tokenizer: DIR", cfg.Path)
	}
	tok, err := tokenizer.Load(tokDir)
	if err != nil {
		return nil, fmt.Errorf("train: tokenizer: %w", err)
	}
	enc, err := data.NewTextEncoder(tok, cfg.MaxLen)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	defer setGCPercent(cfg.GCPercent)()
	texts, err := ReadDistillTexts(cfg.TrainDataset)
	if err != nil {
		return nil, err
	}
	teacher, err := OpenTeacherEmbeddings(cfg.TrainDatasetVec, cfg.TrainDatasetVecTensor, len(texts), cfg.TeacherDim)
	if err != nil {
		return nil, err
	}
	defer teacher.Close()
	for _, d := range cfg.MRLDims {
		if d > teacher.Dim {
			return nil, fmt.Errorf("train: %s: mrl_dims %v: dimension %d exceeds the teacher dimension %d of %s", cfg.Path, []int(cfg.MRLDims), d, teacher.Dim, teacher.Path)
		}
	}
	res := &DistillResult{LossType: spec.Name, Texts: len(texts), TeacherDim: teacher.Dim}
	red := o.Reducer
	if red == nil {
		red = localReducer{}
	}
	shuffle := cfg.Shuffle == nil || *cfg.Shuffle
	loader, err := data.NewLoader(distillOrder(len(texts), shuffle), data.LoaderConfig{Seed: uint64(cfg.Seed), BatchSize: cfg.BatchSize, Rank: red.Rank(), World: red.World(), KeepLast: true})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if len(texts) < cfg.BatchSize*red.World() {
		return nil, fmt.Errorf("train: %s: %d texts make no batch of %d", cfg.TrainDataset, len(texts), cfg.BatchSize)
	}
	ts := &distillTrainSet{texts: texts, teacher: teacher, loader: loader, enc: enc, batch: cfg.BatchSize}
	model, err := BuildDistillEmbedModel(cfg, tok.VocabSize(), teacher.Dim)
	if err != nil {
		return nil, err
	}
	res.Model = model
	params := spec.Defaults
	params.MRLDims = append([]int(nil), cfg.MRLDims...)
	for _, p := range []struct {
		dst *float64
		v   *float64
	}{{&params.CosineWeight, cfg.CosineLossWeight}, {&params.SimilarityWeight, cfg.SimilarityLossWeight}, {&params.RankingWeight, cfg.TripletLossWeight}, {&params.Margin, cfg.TripletMargin}} {
		if p.v != nil {
			*p.dst = *p.v
		}
	}
	if err := os.MkdirAll(cfg.OutputDir, 0o755); err != nil {
		return nil, fmt.Errorf("train: output_dir: %w", err)
	}
	resume, err := ResolveResume(o.Resume, cfg.OutputDir)
	if err != nil {
		return nil, err
	}
	loop := &Loop{Cfg: cfg, Model: model, Train: ts, Reducer: red,
		Export: func(dir string) error { return models.CopyTokenizer(tokDir, dir) },
		LossFn: func(b *Batch, training bool, rng *tensor.RNG, ckpt bool) (*autograd.Var, error) {
			t, ok := b.Extra.(*tensor.Tensor)
			if !ok {
				return nil, errors.New("train: distillation batch without its teacher embeddings")
			}
			student, err := model.Encode(b.Inputs, training, rng, ckpt)
			if err != nil {
				return nil, err
			}
			l, err := spec.Compute(losses.Inputs{Query: student, TeacherEmb: t}, &params)
			if err != nil {
				return nil, fmt.Errorf("loss %s: %w", spec.Name, err)
			}
			return l, nil
		}}
	if err := loop.Init(resume); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "distill embedding: %d parameters, pooling %s + Dense %d→%d, %d texts, teacher %s (%d×%d), loss %s (weights %g/%g/%g, margin %g, mrl_dims %v), %d steps\n",
		nparams(model.Params()), model.Student.Pooling, model.Student.Encoder.Cfg.Hidden, teacher.Dim, len(texts), teacher.Path, teacher.Rows, teacher.Dim,
		spec.Name, params.CosineWeight, params.SimilarityWeight, params.RankingWeight, params.Margin, params.MRLDims, loop.TotalSteps())
	rl, err := openRunLog(cfg, loop, out, o, resume != "")
	if err != nil {
		return nil, err
	}
	defer rl.close()
	if res.Losses, res.Steps, err = runLoop(ctx, loop, rl, out); err != nil {
		return res, err
	}
	if res.ModelDir, err = exportModel(cfg, model, tokDir); err != nil {
		return res, err
	}
	return res, rl.plot(out, cfg, res.ModelDir)
}
