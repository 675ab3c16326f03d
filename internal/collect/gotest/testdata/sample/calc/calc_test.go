package calc

import (
	"fmt"
	"testing"
)

func TestAddPasses(t *testing.T) {
	if Add(1, 2) != 3 {
		t.Fatal("1+2 != 3")
	}
}

func TestAddFails(t *testing.T) {
	fmt.Println("stdout <&> \"quoted\" ünïcødé")
	if got := Add(2, 2); got != 5 {
		t.Errorf("Add(2, 2) = %d, want 5", got)
	}
}

func TestNeedsNetwork(t *testing.T) {
	t.Skip("skipping: needs network")
}

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		a, b, w int
	}{
		{"small", 1, 1, 2},
		{"negative", -1, -2, -3},
		{"wrong", 2, 2, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Add(tc.a, tc.b); got != tc.w {
				t.Errorf("Add(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.w)
			}
		})
	}
}

func TestSkippedSubtest(t *testing.T) {
	t.Run("only-on-windows", func(t *testing.T) { t.Skip("windows only") })
	t.Run("everywhere", func(t *testing.T) {})
}
