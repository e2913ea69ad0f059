package optim

import (
	"strconv"
	"strings"

	"github.com/ragr-dev/ragr/nn"
)

// Group is one parameter group of an optimizer (a torch param_group): its
// parameters share a base learning rate and a weight decay.
type Group struct {
	// Name labels the group in saved state and errors (optional).
	Name   string
	Params []nn.NamedParam
	// LR is the group's base learning rate, scaled by the schedule at every
	// step; 0 means the optimizer's Config.LR. (Leave a parameter out of
	// every group to freeze it.)
	LR float64
	// WeightDecay is the decoupled weight decay of the group (0: none).
	WeightDecay float64
}

// DefaultNoDecayKeywords are RAG-Retrieval's no_decay_keywords: parameters
// whose name contains one of them get no weight decay.
var DefaultNoDecayKeywords = []string{"bias", "LayerNorm", "layernorm"}

// SpecialGroup is one of RAG-Retrieval's special_lr_groups: the parameters
// whose name contains any of Keywords (and that no earlier special group
// took) train with their own learning rate.
type SpecialGroup struct {
	Keywords []string
	LR       float64
	// WeightDecay overrides GroupRule.WeightDecay for the group when not nil.
	WeightDecay *float64
}

// GroupRule is RAG-Retrieval's create_adamw_optimizer: special learning-rate
// groups first, then a decay group and a no-decay group.
type GroupRule struct {
	// WeightDecay of the decay group (RAG-Retrieval's default is 0.01).
	WeightDecay float64
	// NoDecayKeywords select the no-decay group by name substring; nil means
	// DefaultNoDecayKeywords.
	NoDecayKeywords []string
	// Special lists the special learning-rate groups, matched in order.
	Special []SpecialGroup
}

// Groups splits params (in their order) as create_adamw_optimizer does:
// one group per special group that matched at least one parameter (in the
// order of Special, with its LR and weight decay), then "decay" (names
// containing no no-decay keyword, weight decay WeightDecay) and "no_decay"
// (weight decay 0). The decay and no-decay groups are always present, even
// when empty. Every parameter lands in exactly one group.
func (r GroupRule) Groups(params []nn.NamedParam) []Group {
	noDecay := r.NoDecayKeywords
	if noDecay == nil {
		noDecay = DefaultNoDecayKeywords
	}
	assigned := make([]bool, len(params))
	var groups []Group
	for i, sg := range r.Special {
		g := Group{Name: "special." + strconv.Itoa(i), LR: sg.LR, WeightDecay: r.WeightDecay}
		if sg.WeightDecay != nil {
			g.WeightDecay = *sg.WeightDecay
		}
		for j, p := range params {
			if !assigned[j] && containsAny(p.Name, sg.Keywords) {
				g.Params = append(g.Params, p)
				assigned[j] = true
			}
		}
		if len(g.Params) > 0 {
			groups = append(groups, g)
		}
	}
	decay := Group{Name: "decay", WeightDecay: r.WeightDecay}
	nodecay := Group{Name: "no_decay"}
	for j, p := range params {
		if assigned[j] {
			continue
		}
		if containsAny(p.Name, noDecay) {
			nodecay.Params = append(nodecay.Params, p)
		} else {
			decay.Params = append(decay.Params, p)
		}
	}
	return append(groups, decay, nodecay)
}

// DecayGroups is GroupRule{WeightDecay: weightDecay}.Groups(params): the
// decay / no-decay split of RAG-Retrieval's create_adamw_optimizer with its
// default keywords and no special groups.
func DecayGroups(params []nn.NamedParam, weightDecay float64) []Group {
	return GroupRule{WeightDecay: weightDecay}.Groups(params)
}

func containsAny(name string, keywords []string) bool {
	for _, k := range keywords {
		if strings.Contains(name, k) {
			return true
		}
	}
	return false
}
