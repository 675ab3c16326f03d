package review_test

import (
	"bytes"
	"testing"

	"github.com/evident-dev/evident/internal/collect/review"
	"github.com/evident-dev/evident/internal/evidence"
)

// FuzzRead: Read never panics, fails only with KindInvalid, and whatever it
// accepts encodes back to a record it reads to the same summary.
func FuzzRead(f *testing.F) {
	good, err := review.Encode(record())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"source":"github","repository":"a/b","head":{"ref":"v1"},"commits":[]}`))
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, sum, err := review.Read(bytes.NewReader(b))
		if err != nil {
			if !evidence.IsKind(err, evidence.KindInvalid) {
				t.Errorf("kind %s: %v", evidence.KindOf(err), err)
			}
			return
		}
		again, err := review.Encode(r)
		if err != nil {
			t.Fatalf("Encode refuses what Read accepted: %v", err)
		}
		_, sum2, err := review.Read(bytes.NewReader(again))
		if err != nil {
			t.Fatalf("Read refuses Encode's output: %v", err)
		}
		if sum.Commits != sum2.Commits || sum.Unreviewed != sum2.Unreviewed {
			t.Errorf("summary changed by a round trip: %+v -> %+v", sum, sum2)
		}
	})
}
