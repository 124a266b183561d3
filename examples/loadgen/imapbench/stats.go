package imapbench

import (
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile of d, for 0 < p <= 100, by the
// nearest-rank method: the smallest value such that at least p percent of
// the values are less than or equal to it. It returns 0 for an empty d and
// does not modify d.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	// The small epsilon keeps 7.000000000000001 from rounding up to 8.
	rank := int(math.Ceil(p/100*float64(len(s)) - 1e-9))
	return s[min(max(rank, 1), len(s))-1]
}

// Median returns the median of v: its middle value, or the mean of the two
// middle values when len(v) is even. It returns 0 for an empty v and does
// not modify v.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MedianDuration is [Median] for durations.
func MedianDuration(d []time.Duration) time.Duration {
	v := make([]float64, len(d))
	for i, x := range d {
		v[i] = float64(x)
	}
	return time.Duration(math.Round(Median(v)))
}
