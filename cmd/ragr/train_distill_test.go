package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/models"
)

// ragr train embedding with train_type: distill runs Jasper/Stella
// distillation from a RAG-Retrieval raw float32 teacher file and exports a
// sentence-transformers directory with the Dense module; a teacher file of
// the wrong width fails before training with the file named.
func TestTrainDistillEmbeddingCommand(t *testing.T) {
	dir := t.TempDir()
	repo, _ := filepath.Abs(filepath.Join("..", ".."))
	const rows, dim = 24, 20
	var texts strings.Builder
	vec := make([]byte, 0, rows*dim*4)
	for i := range rows {
		fmt.Fprintf(&texts, "{\"query\": \"文本 %d 号 %s\"}\n", i, strings.Repeat("好", i%5+1))
		for j := range dim {
			vec = binary.LittleEndian.AppendUint32(vec, math.Float32bits(float32(math.Sin(float64(i*dim+j)+0.5))))
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "texts.jsonl"), []byte(texts.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "teacher.mmap"), vec, 0o644))
	cfg := filepath.Join(dir, "distill.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`train_type: distill
tokenizer: `+repo+`/testdata/data/tokenizer-bert-base-chinese
model_config: {hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64}
pooling: cls
train_dataset: texts.jsonl
train_dataset_vec: teacher.mmap
teatch_emebedding_dim: 20
query_max_len: 16
use_mrl: true
mrl_dims: "10,20"
batch_size: 8
epochs: 1
lr: 1e-3
save_on_epoch_end: 0
output_dir: `+dir+`/out
`), 0o644))
	var out, errb bytes.Buffer
	code := run([]string{"train", "embedding", "--config", cfg}, &out, &errb)
	require.Equal(t, 0, code, errb.String())
	assert.Contains(t, out.String(), "distill embedding")
	assert.Contains(t, out.String(), "trained 3 steps")
	st, err := models.ReadSentenceTransformer(filepath.Join(dir, "out", "model"))
	require.NoError(t, err)
	require.NotNil(t, st)
	require.Len(t, st.Dense, 1)
	assert.Equal(t, dim, st.Dense[0].Out)
	assert.False(t, st.Normalize)

	errb.Reset()
	code = run([]string{"train", "embedding", "--config", cfg, "--set", "use_mrl=false", "--set", "teatch_emebedding_dim=16"}, &out, &errb)
	assert.Equal(t, 1, code)
	assert.Contains(t, errb.String(), "teacher.mmap")
	assert.Contains(t, errb.String(), "30 rows of dimension 16 but the texts have 24 lines")

	errb.Reset()
	code = run([]string{"train", "embedding", "--config", cfg, "--set", "train_type=distil"}, &out, &errb)
	assert.NotEqual(t, 0, code)
	assert.Contains(t, errb.String(), `train_type "distil"`)
}
