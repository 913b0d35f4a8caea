package input

import "testing"

func TestLineSet(t *testing.T) {
	var s LineSet
	for _, l := range []int{0, 1, 63, 64, 1_000_000, 1} {
		s.Add(l)
	}
	if s.Len() != 5 {
		t.Errorf("Len %d, want 5", s.Len())
	}
	for _, l := range []int{0, 1, 63, 64, 1_000_000} {
		if !s.Has(l) {
			t.Errorf("Has(%d) = false", l)
		}
	}
	for _, l := range []int{2, 65, 999_999, 1_000_001, -1, 50_000_000} {
		if s.Has(l) {
			t.Errorf("Has(%d) = true", l)
		}
	}
}
