package bert

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/autograd"
	"github.com/ragr-dev/ragr/internal/golden"
	"github.com/ragr-dev/ragr/internal/testutil"
	"github.com/ragr-dev/ragr/models"
	"github.com/ragr-dev/ragr/nn"
)

func TestBertTinyParity(t *testing.T) {
	for _, name := range []string{"bert-tiny", "xlmr-encoder"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(golden.Root(), name)
			c, err := golden.Load(dir)
			require.NoError(t, err)
			m, err := LoadDir(dir)
			require.NoError(t, err)
			ids, err := c.Ints("input_ids")
			require.NoError(t, err)
			mask, err := c.Ints("attention_mask")
			require.NoError(t, err)
			types, _ := c.Ints("token_type_ids")
			out, err := m.Forward(Inputs{IDs: ids, Mask: mask, TypeIDs: types}, RunOptions{Hidden: true})
			require.NoError(t, err)
			got := map[string]*autograd.Var{
				"last_hidden_state":        out.Last,
				"cls_embedding_normalized": nn.L2Normalize(nn.PoolCLS(out.Last), 1e-12),
				"mean_pooled_embedding":    nn.PoolMean(out.Last, mask),
				"mean_pooled_normalized":   nn.L2Normalize(nn.PoolMean(out.Last, mask), 1e-12),
			}
			if out.Pooled != nil {
				got["pooler_output"] = out.Pooled
			}
			for i, h := range out.Hidden {
				got["hidden_states."+string(rune('0'+i))] = h
			}
			for _, n := range c.ExpectedNames() {
				g, ok := got[n]
				if !ok {
					t.Errorf("cannot compute %s", n)
					continue
				}
				rel := testutil.RelL2(g.Value.Float32s(), c.Expected[n].Float32s())
				t.Logf("golden %s %s relerr=%.2e", name, n, rel)
				require.Less(t, rel, 1e-4, n)
			}
		})
	}
}

func TestCrossEncoderParity(t *testing.T) {
	for _, name := range []string{"bert-cross-encoder", "xlmr-cross-encoder"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(golden.Root(), name)
			c, err := golden.Load(dir)
			require.NoError(t, err)
			cfg, err := models.LoadConfig(filepath.Join(dir, "config.json"))
			require.NoError(t, err)
			w, err := models.OpenWeights(dir)
			require.NoError(t, err)
			defer w.Close()
			m, err := LoadClassifier(cfg, w)
			require.NoError(t, err)
			ids, _ := c.Ints("input_ids")
			mask, _ := c.Ints("attention_mask")
			types, _ := c.Ints("token_type_ids")
			logits, err := m.Forward(Inputs{IDs: ids, Mask: mask, TypeIDs: types}, RunOptions{})
			require.NoError(t, err)
			got := map[string]*autograd.Var{"logits": logits, "scores_sigmoid": autograd.Sigmoid(autograd.Select(logits, 1, 0))}
			for _, n := range c.ExpectedNames() {
				g, ok := got[n]
				require.True(t, ok, "cannot compute %s", n)
				rel := testutil.RelL2(g.Value.Float32s(), c.Expected[n].Float32s())
				t.Logf("golden %s %s relerr=%.2e", name, n, rel)
				require.Less(t, rel, 1e-4, n)
			}
		})
	}
}
