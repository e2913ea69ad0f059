package losses

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/ragr-dev/ragr/autograd"
)

func TestRegistryNames(t *testing.T) {
	names := Names()
	if !sort.StringsAreSorted(names) {
		t.Errorf("Names() not sorted: %v", names)
	}
	seen := map[string]string{}
	for _, s := range Specs() {
		for _, n := range append([]string{s.Name}, s.Aliases...) {
			if n != strings.ToLower(n) {
				t.Errorf("%s: name %q is not lower case", s.Name, n)
			}
			if other, dup := seen[n]; dup {
				t.Errorf("name %q used by %s and %s", n, other, s.Name)
			}
			seen[n] = s.Name
		}
	}
	// RAG-Retrieval's config values / function names must resolve.
	for name, want := range map[string]string{
		"pointwise_bce": "pointwise_bce", "point_ce": "pointwise_bce",
		"pointwise_mse": "pointwise_mse", "point_mse": "pointwise_mse",
		"pairwise_ranknet": "pairwise_ranknet", "listwise_ce": "listwise_ce",
		"pair_inbatch_softmax": "pair_inbatch_softmax", "pair_inbatch_softmax_loss": "pair_inbatch_softmax",
		"triplet_inbatch_softmax": "triplet_inbatch_softmax", "pair_kl": "pair_kl", "pair_kl_loss": "pair_kl",
		"Pointwise_BCE": "pointwise_bce", " mnrl ": "mnrl", "infonce_pair": "pair_inbatch_softmax",
		"jasper_triplet": "jasper_relative_ranking", "stella_distill": "jasper_distill",
	} {
		s, err := Lookup(name)
		if err != nil {
			t.Errorf("Lookup(%q): %v", name, err)
			continue
		}
		if s.Name != want {
			t.Errorf("Lookup(%q) = %s, want %s", name, s.Name, want)
		}
	}
}

func TestLookupUnknownListsValidNames(t *testing.T) {
	_, err := Lookup("pointwise_hinge")
	if err == nil {
		t.Fatal("no error for an unknown loss")
	}
	for _, n := range Names() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %s", err, n)
		}
	}
}

func TestSpecsDescribeThemselves(t *testing.T) {
	inputs := map[string]bool{}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Inputs{})) {
		inputs[f.Name] = true
	}
	params := map[string]bool{}
	for _, f := range reflect.VisibleFields(reflect.TypeOf(Params{})) {
		params[f.Name] = true
	}
	kinds := map[Kind]bool{KindEmbedding: true, KindColBERT: true, KindReranker: true, KindDistill: true}
	for _, s := range Specs() {
		if !kinds[s.Kind] {
			t.Errorf("%s: kind %q", s.Name, s.Kind)
		}
		if s.Doc == "" || len(s.Inputs) == 0 {
			t.Errorf("%s: missing Doc or Inputs", s.Name)
		}
		for _, in := range s.Inputs {
			if !inputs[in] {
				t.Errorf("%s: input %q is not an Inputs field", s.Name, in)
			}
		}
		for _, p := range s.Params {
			if !params[p] {
				t.Errorf("%s: param %q is not a Params field", s.Name, p)
			}
		}
		for _, p := range s.Params {
			if p == "Temperature" && s.Defaults.Temperature != DefaultTemperature {
				t.Errorf("%s: default temperature %g", s.Name, s.Defaults.Temperature)
			}
			if p == "DistillT" && s.Defaults.DistillT != DefaultDistillTemperature {
				t.Errorf("%s: default T %g", s.Name, s.Defaults.DistillT)
			}
			if p == "Margin" && s.Defaults.Margin != DefaultJasperMargin {
				t.Errorf("%s: default margin %g", s.Name, s.Defaults.Margin)
			}
		}
	}
}

func TestLookupReturnsACopy(t *testing.T) {
	s, err := Lookup("jasper_distill")
	if err != nil {
		t.Fatal(err)
	}
	s.Defaults.MRLDims = append(s.Defaults.MRLDims, 7)
	s.Inputs[0] = "changed"
	s2, _ := Lookup("jasper_distill")
	if len(s2.Defaults.MRLDims) != 0 || s2.Inputs[0] != "Query" {
		t.Errorf("changing a looked-up Spec changed the registry: %+v", s2)
	}
}

// TestComputeDefaultsAndOverrides checks nil params mean Defaults and that
// an override reaches the loss.
func TestComputeDefaultsAndOverrides(t *testing.T) {
	s, err := Lookup("pair_inbatch_softmax")
	if err != nil {
		t.Fatal(err)
	}
	q, p := autograd.Const(n64(1, 4, 8)), autograd.Const(n64(2, 4, 8))
	in := Inputs{Query: q, Pos: p}
	def, err := s.Compute(in, nil)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := PairInBatchSoftmax(q, p, DefaultTemperature)
	if def.Value.Item() != direct.Value.Item() {
		t.Errorf("nil params: %v, want %v", def.Value.Item(), direct.Value.Item())
	}
	hp := s.Defaults
	hp.Temperature = 0.5
	hot, _ := s.Compute(in, &hp)
	direct, _ = PairInBatchSoftmax(q, p, 0.5)
	if hot.Value.Item() != direct.Value.Item() {
		t.Errorf("temperature 0.5: %v, want %v", hot.Value.Item(), direct.Value.Item())
	}
	hp.MRLDims = []int{4, 8}
	mrl, err := s.Compute(in, &hp)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ = MRL([]int{4, 8}, []*autograd.Var{q, p}, func(xs []*autograd.Var) (*autograd.Var, error) {
		return PairInBatchSoftmax(xs[0], xs[1], 0.5)
	})
	if mrl.Value.Item() != direct.Value.Item() {
		t.Errorf("MRL: %v, want %v", mrl.Value.Item(), direct.Value.Item())
	}
}
