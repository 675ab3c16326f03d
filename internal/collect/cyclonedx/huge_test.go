package cyclonedx

import (
	"io"
	"strings"
	"testing"

	"github.com/evident-dev/evident/internal/evidence"
)

// endless is a prefix followed by 'x' forever: one value that never ends.
type endless struct {
	prefix string
	sent   bool
}

func (e *endless) Read(p []byte) (int, error) {
	if !e.sent {
		e.sent = true
		return copy(p, e.prefix), nil
	}
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

// A single endless value must fail with a clear error in bounded memory,
// never by reading it all.
func TestReadRefusesEndlessValue(t *testing.T) {
	for name, tc := range map[string]struct {
		f      Format
		prefix string
	}{
		"json string in a component": {FormatJSON, `{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"type":"library","name":"`},
		"xml text in a component":    {FormatXML, `<bom xmlns="http://cyclonedx.org/schema/bom/1.6"><components><component type="library"><name>`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Read(io.Reader(&endless{prefix: tc.prefix}), tc.f, func(evidence.SOUPEntry) error { return nil })
			if err == nil || !evidence.IsKind(err, evidence.KindInvalid) || !strings.Contains(err.Error(), "too large") {
				t.Fatalf("err = %v, want an invalid-input error saying the value is too large", err)
			}
		})
	}
}
