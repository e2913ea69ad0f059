package optim

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ragr-dev/ragr/internal/testutil"
)

// at is one hand-computed multiplier: the schedule's value after step
// completed steps. Values come from transformers' formulas worked by hand
// (cos(π/4) = 0.70710678118654752, √0.5 = 0.70710678118654752).
type at struct {
	step int
	want float64
}

func checkSchedule(t *testing.T, s Schedule, cases []at) {
	t.Helper()
	got := make([]float64, len(cases))
	want := make([]float64, len(cases))
	for i, c := range cases {
		got[i], want[i] = s(c.step), c.want
	}
	testutil.AssertClose(t, "schedule", got, want, testutil.F64)
}

func mustWSD(t *testing.T, w WSD) Schedule {
	t.Helper()
	s, err := w.Schedule()
	require.NoError(t, err)
	return s
}

func TestSchedules(t *testing.T) {
	tests := []struct {
		name  string
		s     Schedule
		cases []at
	}{
		{"constant", Constant(), []at{{0, 1}, {5, 1}, {1000, 1}}},
		{"constant_with_warmup", ConstantWithWarmup(4), []at{{0, 0}, {1, 0.25}, {3, 0.75}, {4, 1}, {100, 1}}},
		{"constant_no_warmup", ConstantWithWarmup(0), []at{{0, 1}, {7, 1}}},
		// (10-step)/8 after 2 warmup steps, clamped at 0.
		{"linear", LinearWithWarmup(2, 10), []at{{0, 0}, {1, 0.5}, {2, 1}, {6, 0.5}, {9, 0.125}, {10, 0}, {12, 0}}},
		{"linear_no_warmup", LinearWithWarmup(0, 4), []at{{0, 1}, {1, 0.75}, {4, 0}}},
		// 0.5(1+cos(π·progress)), progress = (step-2)/8; past the end the
		// cosine rises again, as in transformers.
		{"cosine", CosineWithWarmup(2, 10, 0.5), []at{
			{0, 0}, {1, 0.5}, {2, 1}, {4, 0.85355339059327376}, {6, 0.5}, {8, 0.14644660940672624}, {10, 0}, {12, 0.14644660940672624},
		}},
		// num_cycles 1: a full period, back to 1 at the end.
		{"cosine_one_cycle", CosineWithWarmup(0, 8, 1), []at{{0, 1}, {2, 0.5}, {4, 0}, {6, 0.5}, {8, 1}}},
		// Warmup 2, stable 3, decay 4 (steps 5..8), then the minimum.
		{"wsd", mustWSD(t, WSD{Warmup: 2, Stable: 3, Decay: 4}), []at{
			{0, 0}, {1, 0.5}, {2, 1}, {4, 1}, {5, 1}, {6, 0.85355339059327376}, {7, 0.5}, {8, 0.14644660940672624}, {9, 0}, {100, 0},
		}},
		{"wsd_linear_min", mustWSD(t, WSD{Warmup: 2, Stable: 3, Decay: 4, DecayType: ShapeLinear, MinLRRatio: 0.1}), []at{
			{0, 0.1}, {1, 0.55}, {2, 1}, {5, 1}, {6, 0.775}, {7, 0.55}, {8, 0.325}, {9, 0.1}, {50, 0.1},
		}},
		// 1-sqrt: warmup 1-√(1-p), decay 1-√p.
		{"wsd_1sqrt", mustWSD(t, WSD{Warmup: 2, Stable: 1, Decay: 4, WarmupType: Shape1Sqrt, DecayType: Shape1Sqrt}), []at{
			{0, 0}, {1, 0.29289321881345248}, {2, 1}, {3, 1}, {4, 0.5}, {5, 0.29289321881345248}, {7, 0},
		}},
		{"wsd_cosine_warmup", mustWSD(t, WSD{Warmup: 2, Stable: 1, Decay: 1, WarmupType: ShapeCosine}), []at{{0, 0}, {1, 0.5}, {2, 1}, {3, 1}, {4, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkSchedule(t, tt.s, tt.cases) })
	}
}

func TestNewSchedule(t *testing.T) {
	tests := []struct {
		name  string
		cfg   ScheduleConfig
		cases []at
	}{
		// RAG-Retrieval: cosine, warmup int(0.1·100) = 10.
		{"default_is_cosine", ScheduleConfig{TotalSteps: 100, WarmupProportion: 0.1}, []at{{0, 0}, {5, 0.5}, {10, 1}, {55, 0.5}, {100, 0}}},
		{"cosine", ScheduleConfig{Name: "cosine", TotalSteps: 100, WarmupProportion: 0.1}, []at{{5, 0.5}, {55, 0.5}}},
		{"linear", ScheduleConfig{Name: "linear", TotalSteps: 100, WarmupProportion: 0.1}, []at{{5, 0.5}, {55, 0.5}, {91, 0.1}}},
		// int(0.1·15) = int(1.5) = 1: Python's truncation.
		{"warmup_truncates", ScheduleConfig{Name: "linear", TotalSteps: 15, WarmupProportion: 0.1}, []at{{0, 0}, {1, 1}, {8, 0.5}}},
		{"warmup_steps_override", ScheduleConfig{Name: "linear", TotalSteps: 10, WarmupProportion: 0.5, WarmupSteps: 2}, []at{{1, 0.5}, {6, 0.5}}},
		{"constant", ScheduleConfig{Name: "constant", WarmupProportion: 0.5}, []at{{0, 1}, {10, 1}}},
		{"constant_with_warmup", ScheduleConfig{Name: "Constant_With_Warmup", TotalSteps: 10, WarmupProportion: 0.4}, []at{{0, 0}, {1, 0.25}, {4, 1}, {9, 1}}},
		// warmup 10, stable int(0.5·100) = 50, decay 40 (cosine by default).
		{"wsd", ScheduleConfig{Name: "wsd", TotalSteps: 100, WarmupProportion: 0.1, StableProportion: 0.5}, []at{
			{5, 0.5}, {10, 1}, {59, 1}, {60, 1}, {80, 0.5}, {100, 0},
		}},
		{"warmup_stable_decay_linear", ScheduleConfig{Name: "warmup_stable_decay", TotalSteps: 100, WarmupProportion: 0.1, StableProportion: 0.5, DecayType: ShapeLinear}, []at{
			{70, 0.75}, {90, 0.25},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewSchedule(tt.cfg)
			require.NoError(t, err)
			checkSchedule(t, s, tt.cases)
		})
	}
	require.Equal(t, 7, ScheduleConfig{TotalSteps: 75, WarmupProportion: 0.1}.Warmup())
	require.Equal(t, 3, ScheduleConfig{TotalSteps: 75, WarmupProportion: 0.1, WarmupSteps: 3}.Warmup())
}

func TestScheduleErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  ScheduleConfig
		msg  string
	}{
		{"unknown", ScheduleConfig{Name: "exponential", TotalSteps: 10}, "unknown schedule"},
		{"warmup_one", ScheduleConfig{Name: "cosine", TotalSteps: 10, WarmupProportion: 1}, "warmup_proportion"},
		{"warmup_negative", ScheduleConfig{Name: "cosine", TotalSteps: 10, WarmupProportion: -0.1}, "warmup_proportion"},
		{"stable_one", ScheduleConfig{Name: "wsd", TotalSteps: 10, StableProportion: 1}, "stable_proportion"},
		{"phases_too_long", ScheduleConfig{Name: "wsd", TotalSteps: 10, WarmupProportion: 0.5, StableProportion: 0.6}, "exceed total_steps"},
		{"no_total", ScheduleConfig{Name: "linear"}, "needs total_steps"},
		{"warmup_steps_too_long", ScheduleConfig{Name: "cosine", TotalSteps: 10, WarmupSteps: 11}, "longer than total_steps"},
		{"negative_total", ScheduleConfig{Name: "cosine", TotalSteps: -1}, "negative steps"},
		{"bad_decay", ScheduleConfig{Name: "wsd", TotalSteps: 10, DecayType: "exp"}, "decay type"},
		{"bad_warmup_type", ScheduleConfig{Name: "wsd", TotalSteps: 10, WarmupType: "step"}, "warmup type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSchedule(tt.cfg)
			require.ErrorContains(t, err, tt.msg)
		})
	}
	_, err := WSD{Warmup: -1}.Schedule()
	require.ErrorContains(t, err, "negative")
	require.Panics(t, func() { LinearWithWarmup(-1, 5) })
}
