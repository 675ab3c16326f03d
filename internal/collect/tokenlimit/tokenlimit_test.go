package tokenlimit

import (
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// endless yields an opening tag and then text forever.
type endless struct{ started bool }

func (e *endless) Read(p []byte) (int, error) {
	if !e.started {
		e.started = true
		return copy(p, "<a>"), nil
	}
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestHugeTextRunStops(t *testing.T) {
	lim := New(&endless{}, 1<<20)
	dec := xml.NewDecoder(lim)
	var err error
	for err == nil {
		_, err = dec.Token()
		lim.Mark()
	}
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestManySmallTokensPass(t *testing.T) {
	// 10 MB of small elements through a 1 KB limit: Mark keeps it going.
	doc := "<r>" + strings.Repeat("<a>hello</a>", 1<<20) + "</r>"
	lim := New(strings.NewReader(doc), 8<<10)
	dec := xml.NewDecoder(lim)
	n := 0
	for {
		tok, err := dec.Token()
		lim.Mark()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			n++
		}
	}
	if n != 1<<20+1 {
		t.Fatalf("saw %d elements", n)
	}
}
