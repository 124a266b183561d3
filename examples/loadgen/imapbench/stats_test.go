package imapbench

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ms(v ...int) []time.Duration {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x) * time.Millisecond
	}
	return d
}

func TestPercentile(t *testing.T) {
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100, 99, …, 1: unsorted on purpose
	}
	tests := []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", ms(7), 99, 7 * time.Millisecond},
		{"median of three", ms(3, 1, 2), 50, 2 * time.Millisecond},
		{"p50 of four is the second", ms(4, 3, 2, 1), 50, 2 * time.Millisecond},
		{"p50 of 100", ms(hundred...), 50, 50 * time.Millisecond},
		{"p99 of 100", ms(hundred...), 99, 99 * time.Millisecond},
		{"p100 is the maximum", ms(hundred...), 100, 100 * time.Millisecond},
		{"p7 of 100 is not rounded up by float error", ms(hundred...), 7, 7 * time.Millisecond},
		{"a tiny p is the minimum", ms(5, 9), 0.001, 5 * time.Millisecond},
		{"p99 of ten is the maximum", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			got := Percentile(in, tc.p)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Percentile(%v, %v) (-want +got):\n%s", tc.in, tc.p, diff)
			}
			if diff := cmp.Diff(tc.in, in); diff != "" {
				t.Errorf("Percentile modified its input (-before +after):\n%s", diff)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"one", []float64{4}, 4},
		{"odd", []float64{9, 1, 5}, 5},
		{"even is the mean of the middle two", []float64{4, 1, 3, 10}, 3.5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.in)
			if diff := cmp.Diff(tc.want, Median(in)); diff != "" {
				t.Errorf("Median(%v) (-want +got):\n%s", tc.in, diff)
			}
			if diff := cmp.Diff(tc.in, in); diff != "" {
				t.Errorf("Median modified its input (-before +after):\n%s", diff)
			}
		})
	}
	if got := MedianDuration(ms(30, 10, 20, 40)); got != 25*time.Millisecond {
		t.Errorf("MedianDuration = %v; want 25ms", got)
	}
	if got := Median([]float64{math.Inf(1), 1, 2}); got != 2 {
		t.Errorf("Median with +Inf = %v; want 2", got)
	}
}

func TestResultRates(t *testing.T) {
	r := &Result{Logins: 500, Window: 2 * time.Second, ServerCPU: time.Second, ClientCPU: 500 * time.Millisecond,
		Machine: MachineCPU{Busy: 3 * time.Second, IRQ: 200 * time.Millisecond}}
	got := []float64{r.Rate(), float64(r.PerLogin(r.ServerCPU)), r.OtherCPU(), r.IRQCPU()}
	want := []float64{250, float64(2 * time.Millisecond), 0.65, 0.1}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })); diff != "" {
		t.Errorf("rate, CPU per login, other CPU, IRQ CPU (-want +got):\n%s", diff)
	}
	var zero Result
	if zero.Rate() != 0 || zero.PerLogin(time.Second) != 0 || zero.OtherCPU() != 0 || zero.IRQCPU() != 0 {
		t.Errorf("the zero Result gives non-zero rates")
	}
}
