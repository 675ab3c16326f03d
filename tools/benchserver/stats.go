package main

import (
	"math"
	"slices"
	"time"
)

// latency summarises a set of operation durations.
type latency struct {
	N      int     `json:"n"`
	P50Ms  float64 `json:"p50Ms"`
	P90Ms  float64 `json:"p90Ms"`
	P99Ms  float64 `json:"p99Ms"`
	MaxMs  float64 `json:"maxMs"`
	MeanMs float64 `json:"meanMs"`
}

// summarize returns the nearest-rank percentiles of ds (which it sorts).
// An empty ds gives the zero latency.
func summarize(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return latency{
		N:      len(ds),
		P50Ms:  ms(percentile(ds, 0.50)),
		P90Ms:  ms(percentile(ds, 0.90)),
		P99Ms:  ms(percentile(ds, 0.99)),
		MaxMs:  ms(ds[len(ds)-1]),
		MeanMs: ms(sum / time.Duration(len(ds))),
	}
}

// percentile returns the nearest-rank p-quantile (0 < p <= 1) of sorted:
// the smallest value that at least p of the values do not exceed.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// ms is d in milliseconds, rounded to the microsecond.
func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// perSecond is n operations over d, rounded to a tenth.
func perSecond(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/d.Seconds()*10) / 10
}

// mbPerSecond is n bytes over d in MB/s (10^6 bytes), rounded to a tenth.
func mbPerSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return math.Round(float64(n)/1e6/d.Seconds()*10) / 10
}
